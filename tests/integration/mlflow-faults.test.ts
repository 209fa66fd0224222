/**
 * Planted faults on a real MLflow server: after a real workflow logged, a metric row is deleted
 * from the store and an artifact is truncated on disk, the local event file and the copy stored on
 * the server are corrupted, a TensorBoard point is dropped from the stored copy; the verifier must
 * fail exactly those checks.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { mkdtemp, rm, truncate, readdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startNativeMlflow, type NativeMlflow } from "../../src/backends/mlflow/native.ts";
import { MlflowClient } from "../../src/backends/mlflow/client.ts";
import { verifyMlflow } from "../../src/backends/mlflow/driver.ts";
import { runWorkflow } from "../../src/runtime/python/workflow.ts";
import { repoRoot, setupPython } from "../helpers.ts";
import { checkTensorboard } from "../../src/verify/tensorboard-check.ts";
import { iterateTfRecords, parseEventFile } from "../../src/verify/tensorboard.ts";

let work = "";
let server: NativeMlflow;
let python = "";

beforeAll(async () => {
  python = setupPython();
  work = await mkdtemp(join(tmpdir(), "e2e-faults-"));
  server = await startNativeMlflow({ python, workDir: work });
}, 1_200_000);
afterAll(async () => {
  await server?.stop();
  await rm(work, { recursive: true, force: true });
});

async function findFiles(dir: string, name: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true }))
    if (e.isFile() && e.name === name) out.push(join(e.parentPath, e.name));
  return out;
}

test("planted faults (deleted metric row, truncated artifact, wrong commit, corrupt local event file, corrupt stored event file) fail exactly their checks", async () => {
  const wd = join(work, "wf");
  const run = await runWorkflow({
    python,
    assetRoot: repoRoot,
    timeoutMs: 300_000,
    env: { MLFLOW_TRACKING_URI: server.url },
    config: {
      backend: "mlflow", workflow: "cnn", tracking_uri: server.url, offline: false, experiment: "faults", run_name: "faults",
      manifest: join(wd, "manifest.json"), work_dir: wd, tensorboard_dir: join(wd, "tb"),
      sizes: { steps: 12, batch_size: 8, image_size: 12, classes: 3 }, seed: 1, device: "cpu",
    },
  });
  expect(run.exitCode).toBe(0);
  const manifest = run.manifest!;
  const client = new MlflowClient(server.url);
  const clean = (await verifyMlflow(client, manifest)).checks;
  expect(clean.filter((c) => c.status === "fail")).toEqual([]);
  // The event files the adapter logged to the run are read back through the server, apart from the local parse.
  expect(clean.find((c) => c.name === "tensorboard.from-mlflow:loss")?.status).toBe("pass");

  // Plant: drop step 5 of "loss" in the server's store, truncate the checkpoint on disk.
  const db = new Database(join(work, "mlflow.db"));
  const del = db.run("DELETE FROM metrics WHERE run_uuid = ? AND key = 'loss' AND step = 5", [manifest.runs[0]!.runId]);
  const commit = db.run("UPDATE tags SET value = ? WHERE run_uuid = ? AND key = 'mlflow.source.git.commit'", ["0".repeat(40), manifest.runs[0]!.runId]);
  db.close();
  expect(del.changes).toBe(1);
  expect(commit.changes).toBe(1);
  expect((await checkTensorboard(manifest, wd)).filter((c) => c.status === "fail")).toEqual([]);
  const events = (await readdir(join(wd, manifest.runs[0]!.tensorboardDir!))).filter((n) => n.startsWith("events.out.tfevents"));
  const ev = join(wd, manifest.runs[0]!.tensorboardDir!, events[0]!);
  const bytes = new Uint8Array(await Bun.file(ev).arrayBuffer());
  bytes[Math.floor(bytes.length / 2)]! ^= 0xff;
  await Bun.write(ev, bytes);
  // The stored copy of the event file on the server's disk: one byte flipped.
  const stored = await findFiles(join(work, "mlartifacts"), events[0]!);
  expect(stored).toHaveLength(1);
  const original = new Uint8Array(await Bun.file(stored[0]!).arrayBuffer());
  const sb = original.slice();
  sb[Math.floor(sb.length / 2)]! ^= 0xff;
  await Bun.write(stored[0]!, sb);
  const model = manifest.runs[0]!.artifacts.find((a) => a.kind === "model")!;
  const files = await findFiles(join(work, "mlartifacts"), model.path.split("/").pop()!);
  expect(files).toHaveLength(1);
  await truncate(files[0]!, Math.floor(model.size / 2));

  const after = (await verifyMlflow(client, manifest)).checks;
  const failed = after.filter((c) => c.status === "fail").map((c) => c.name).sort();
  expect(failed).toEqual([`artifacts.${model.path}`, "git.commit", "metrics.loss", "tensorboard.from-mlflow:files"].sort());
  expect(after.find((c) => c.name === "tensorboard.from-mlflow:files")!.message).toMatch(/CRC/);
  expect(after.find((c) => c.name === "metrics.loss")!.message).toContain("missing steps 5");
  const tb = (await checkTensorboard(manifest, wd)).filter((c) => c.status === "fail");
  expect(tb.map((c) => c.name)).toEqual(["tensorboard.files"]);
  expect(tb[0]!.message).toMatch(/crc|CRC/);

  // The stored copy again, intact but for one record: the loss at step 5 (valid framing and CRCs).
  const kept: Uint8Array[] = [];
  for (const rec of iterateTfRecords(original)) {
    const [ev] = parseEventFile(original.subarray(rec.offset, rec.offset + 16 + rec.data.length));
    if (!(ev!.step === 5 && ev!.scalars.some((x) => x.tag === "loss"))) kept.push(original.subarray(rec.offset, rec.offset + 16 + rec.data.length));
  }
  expect(kept.length).toBeLessThan([...iterateTfRecords(original)].length);
  await Bun.write(stored[0]!, Buffer.concat(kept));
  const dropped = (await verifyMlflow(client, manifest)).checks.filter((c) => c.name.startsWith("tensorboard.from-mlflow:") && c.status === "fail");
  expect(dropped.map((c) => c.name)).toEqual(["tensorboard.from-mlflow:loss"]);
  expect(dropped[0]!.message).toContain("missing steps 5");
}, 600_000);
