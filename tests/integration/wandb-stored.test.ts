/**
 * W&B offline: a file counts as stored only from W&B's own records. The real adapter and the
 * real wandb SDK log a run (a figure and a file through run.save, a checkpoint through a W&B
 * Artifact); then the backend's data, never the manifest, is altered and exactly the check that
 * reads it must fail: run.save made a no-op (a sitecustomize on PYTHONPATH), a `files` record
 * dropped from the .wandb log, a byte flipped in files/, a manifest entry dropped from the
 * artifact record, a byte flipped in W&B's staged copy, a digest changed in the record; and for
 * W&B's TensorBoard capture: a captured point dropped from its history, a captured value changed,
 * the event file's `files` record dropped; and a row's `_timestamp` moved.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { wandbDriver } from "../../src/backends/wandb/driver.ts";
import { parseWandbRecords } from "../../src/backends/wandb/records.ts";
import type { Check } from "../../src/verify/check.ts";
import type { Manifest } from "../../src/verify/manifest.ts";
import type { PythonEnv } from "../../src/runtime/python/env.ts";
import { repoRoot, setupPython } from "../helpers.ts";
import { editMessage, encodeFields, fieldText, rewriteWandbLog } from "../wandb-log.ts";
import { parseFields } from "../../src/util/protobuf.ts";

const SCRIPT = `
import os
from e2e_track import load_config, open_tracker

cfg = load_config()
with open_tracker(cfg) as tracker:
    run = tracker.start_run("main", name="stored", tags={"workflow": "stored"})
    run.log_params({"lr": 0.1})
    for step in range(1, 4):
        run.log_metrics({"loss": 1.0 / step}, step=step)
    tmp = os.path.join(cfg["work_dir"], "src")
    os.makedirs(tmp, exist_ok=True)
    for name, data in (("fig.png", b"\\x89PNG figure" * 50), ("notes.txt", b"notes\\n" * 30), ("model.pt", os.urandom(3000))):
        with open(os.path.join(tmp, name), "wb") as f:
            f.write(data)
    run.log_artifact(os.path.join(tmp, "fig.png"), "plots/fig.png", kind="image")
    run.log_artifact(os.path.join(tmp, "notes.txt"), "notes/notes.txt", kind="file")
    run.log_artifact(os.path.join(tmp, "model.pt"), "checkpoints/model.pt", kind="model")
    run.finish()
`;

/** Makes W&B's Run.save do nothing, as a broken SDK or integration would. */
const NOOP_SAVE = `
import wandb.sdk.wandb_run as _r
_r.Run.save = lambda self, *a, **k: []
`;

let python: string;
const roots: string[] = [];

function logRun(opts: { noopSave?: boolean } = {}) {
  const work = mkdtempSync(join(tmpdir(), "e2e-wandb-stored-"));
  roots.push(work);
  const cfg = {
    backend: "wandb", workflow: "stored", offline: true, tracking_uri: null, experiment: "e2e-stored", run_name: "stored",
    manifest: join(work, "manifest.json"), work_dir: work, tensorboard_dir: join(work, "tb"), seed: 0, device: "cpu", sizes: {},
  };
  writeFileSync(join(work, "config.json"), JSON.stringify(cfg));
  writeFileSync(join(work, "train.py"), SCRIPT);
  const paths = [join(repoRoot, "python")];
  if (opts.noopSave) {
    mkdirSync(join(work, "site"));
    writeFileSync(join(work, "site", "sitecustomize.py"), NOOP_SAVE);
    paths.unshift(join(work, "site"));
  }
  const r = spawnSync(python, [join(work, "train.py")], {
    cwd: work, encoding: "utf8", timeout: 300_000,
    env: { ...process.env, E2E_CONFIG: join(work, "config.json"), PYTHONPATH: paths.join(":"), WANDB_DIR: work, WANDB_SILENT: "true", WANDB_CONSOLE: "off" },
  });
  if (r.status !== 0) throw new Error(`adapter script failed: ${r.stderr.slice(-3000)}`);
  const manifest = JSON.parse(readFileSync(cfg.manifest, "utf8")) as Manifest;
  const runDir = join(work, manifest.runs[0]!.offlinePath!);
  const log = join(runDir, readdirSync(runDir).find((f) => f.endsWith(".wandb"))!);
  return { work, manifest, runDir, log };
}

async function verify(work: string, manifest: Manifest): Promise<Check[]> {
  const fakePython = { python, info: { packages: { wandb: "0.31.0" } } } as unknown as PythonEnv;
  const started = await wandbDriver.start({ python: fakePython, workDir: work, session: "t", mode: "offline", assetRoot: repoRoot });
  return (await started.verify(manifest, work)).checks;
}

const failing = (checks: Check[]) => checks.filter((c) => c.status === "fail").map((c) => c.name).sort();

/** Runs `mutate`, verifies, and puts the file(s) back for the next case. */
async function mutated(run: ReturnType<typeof logRun>, files: string[], mutate: () => void): Promise<Check[]> {
  const saved = files.map((f) => [f, readFileSync(f)] as const);
  try {
    mutate();
    return await verify(run.work, run.manifest);
  } finally {
    for (const [f, b] of saved) {
      chmodSync(f, 0o600);
      writeFileSync(f, b);
    }
  }
}

function flipByte(path: string, at = 10) {
  chmodSync(path, 0o600);
  const b = readFileSync(path);
  b[at] = b[at]! ^ 0xff;
  writeFileSync(path, b);
}

describe("W&B stored files and artifacts, judged from W&B's records", () => {
  let run: ReturnType<typeof logRun>;
  beforeAll(() => {
    python = setupPython();
    run = logRun();
  }, 600_000);
  afterAll(() => {
    for (const r of roots) rmSync(r, { recursive: true, force: true });
  });

  test("unaltered: every check passes; the checkpoint is a W&B Artifact, the rest files records", async () => {
    const checks = await verify(run.work, run.manifest);
    expect(failing(checks)).toEqual([]);
    expect(checks.filter((c) => c.name.startsWith("tensorboard.wandb-capture:") && c.status === "pass").map((c) => c.name).sort())
      .toEqual(["tensorboard.wandb-capture:event-files", "tensorboard.wandb-capture:loss"]);
    expect(checks.filter((c) => c.group === "artifacts").map((c) => c.name).sort()).toEqual(
      ["artifacts.checkpoints/model.pt", "artifacts.notes/notes.txt", "artifacts.plots/fig.png"]);
    const rec = parseWandbRecords(new Uint8Array(readFileSync(run.log)));
    expect(rec.files.map((f) => f.path)).toEqual(expect.arrayContaining(["plots/fig.png", "notes/notes.txt"]));
    expect(rec.files.map((f) => f.path)).not.toContain("checkpoints/model.pt");
    const [art] = rec.artifacts;
    expect(art!.type).toBe("model");
    expect(art!.entries.map((e) => e.path)).toEqual(["checkpoints/model.pt"]);
    expect(art!.entries[0]!.localPath).toContain(join("wandb-home", "data", "artifacts", "staging"));
  }, 120_000);

  test("Run.save made a no-op: the figure and file checks fail, the checkpoint (an Artifact) passes", async () => {
    const broken = logRun({ noopSave: true });
    const checks = await verify(broken.work, broken.manifest);
    expect(failing(checks)).toEqual(["artifacts.notes/notes.txt", "artifacts.plots/fig.png"]);
    const fig = checks.find((c) => c.name === "artifacts.plots/fig.png")!;
    expect(fig.message).toContain("missing");
  }, 600_000);

  test("a files record dropped from the .wandb log: only that file's check fails, though its bytes are in files/", async () => {
    const checks = await mutated(run, [run.log], () => {
      const n = rewriteWandbLog(run.log, (p, kind) => {
        if (kind !== 6) return p;
        const out = editMessage(p, [6], (fs) => fs.filter((f) => f.no !== 1 || !fieldText(f).includes("notes/notes.txt")));
        return out.length < p.length ? out : p;
      });
      expect(n).toBe(1);
    });
    expect(failing(checks)).toEqual(["artifacts.notes/notes.txt"]);
  }, 120_000);

  test("a byte flipped in the file W&B put in files/: only that check fails", async () => {
    const path = join(run.runDir, "files", "plots", "fig.png");
    const checks = await mutated(run, [path], () => flipByte(path));
    expect(failing(checks)).toEqual(["artifacts.plots/fig.png"]);
    expect(checks.find((c) => c.name === "artifacts.plots/fig.png")!.message).toBe("sha256 differs");
  }, 120_000);

  test("the manifest entry dropped from the artifact record: only the checkpoint check fails", async () => {
    const checks = await mutated(run, [run.log], () => {
      rewriteWandbLog(run.log, (p, kind) => (kind === 8 ? editMessage(p, [8, 12], (fs) => fs.filter((f) => f.no !== 4)) : p));
    });
    expect(failing(checks)).toEqual(["artifacts.checkpoints/model.pt"]);
  }, 120_000);

  test("a byte flipped in W&B's staged copy: only the checkpoint check fails, naming the md5", async () => {
    const staged = parseWandbRecords(new Uint8Array(readFileSync(run.log))).artifacts[0]!.entries[0]!.localPath!;
    const checks = await mutated(run, [staged], () => flipByte(staged, 100));
    expect(failing(checks)).toEqual(["artifacts.checkpoints/model.pt"]);
    expect(checks.find((c) => c.name === "artifacts.checkpoints/model.pt")!.message).toMatch(/missing: .*md5 of the staged copy .* != manifest digest/);
  }, 120_000);

  test("the entry's digest changed in the record (bytes intact): the checkpoint check fails", async () => {
    const checks = await mutated(run, [run.log], () => {
      rewriteWandbLog(run.log, (p, kind) =>
        kind === 8 ? editMessage(p, [8, 12, 4], (fs) => fs.map((f) => (f.no === 2 ? { ...f, bytes: new TextEncoder().encode("AAAAAAAAAAAAAAAAAAAAAA==") } : f))) : p);
    });
    expect(failing(checks)).toEqual(["artifacts.checkpoints/model.pt"]);
  }, 120_000);

  test("a point removed from W&B's TensorBoard capture: only the capture check of that tag fails", async () => {
    const checks = await mutated(run, [run.log], () => {
      let seen = 0;
      const n = rewriteWandbLog(run.log, (p, kind) => {
        if (kind !== 2 || !new TextDecoder("latin1").decode(p).includes("main/loss")) return p;
        return ++seen === 2 ? null : p;
      });
      expect(n).toBe(1);
    });
    expect(failing(checks)).toEqual(["tensorboard.wandb-capture:loss"]);
    expect(checks.find((c) => c.name === "tensorboard.wandb-capture:loss")!.message).toContain("missing steps 2");
  }, 120_000);

  test("a captured value changed beyond float32 in the .wandb log: only the capture check of that tag fails", async () => {
    // The capture is held against the event files as it is decoded (history.ts): a point that
    // differs must still be read as stored and judged.
    const enc = new TextEncoder();
    const checks = await mutated(run, [run.log], () => {
      let seen = 0;
      const n = rewriteWandbLog(run.log, (p, kind) => {
        if (kind !== 2 || !new TextDecoder("latin1").decode(p).includes("main/loss") || ++seen !== 2) return p;
        return editMessage(p, [2], (items) => items.map((it) => {
          if (it.no !== 1) return it;
          const sub = parseFields(it.bytes!);
          if (!sub.some((f) => f.no === 2 && fieldText(f) === "main/loss")) return it;
          const changed = sub.map((f) => (f.no === 16 ? { ...f, bytes: enc.encode(String(Number(fieldText(f)) + 0.001)) } : f));
          return { ...it, bytes: encodeFields(changed) };
        }));
      });
      expect(n).toBe(1);
    });
    expect(failing(checks)).toEqual(["tensorboard.wandb-capture:loss"]);
    expect(checks.find((c) => c.name === "tensorboard.wandb-capture:loss")!.message).toContain("changed values at steps 2");
  }, 120_000);

  test("the event file's files record dropped: only the capture's event-files check fails", async () => {
    const checks = await mutated(run, [run.log], () => {
      const n = rewriteWandbLog(run.log, (p, kind) => (kind === 6 && new TextDecoder("latin1").decode(p).includes("tfevents") ? null : p));
      expect(n).toBe(1);
    });
    expect(failing(checks)).toEqual(["tensorboard.wandb-capture:event-files"]);
  }, 120_000);

  test("a row's _timestamp moved 10 minutes in the .wandb log: only timestamps.loss fails", async () => {
    const enc = new TextEncoder();
    const checks = await mutated(run, [run.log], () => {
      let seen = 0;
      const n = rewriteWandbLog(run.log, (p, kind) => {
        const text = new TextDecoder("latin1").decode(p);
        if (kind !== 2 || text.includes("main/loss") || !text.includes("loss") || ++seen !== 2) return p;
        return editMessage(p, [2], (items) => items.map((it) => {
          if (it.no !== 1) return it;
          const sub = parseFields(it.bytes!);
          if (!sub.some((f) => f.no === 2 && fieldText(f) === "_timestamp")) return it;
          const moved = sub.map((f) => (f.no === 16 ? { ...f, bytes: enc.encode(String(Number(fieldText(f)) + 600)) } : f));
          return { ...it, bytes: encodeFields(moved) };
        }));
      });
      expect(n).toBe(1);
    });
    expect(failing(checks)).toEqual(["timestamps.loss"]);
  }, 120_000);
});
