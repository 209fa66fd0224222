/**
 * The multi-node path for real: `e2e run --workflow ddp` with E2E_TORCHRUN_ARGS set to c10d
 * rendezvous flags starts one torchrun agent (one process); the test starts a second agent on
 * 127.0.0.1 with the same flags, config and script, as a second node would. The two agents meet
 * at the rendezvous endpoint and train as one job of world size 2; whichever process gets global
 * rank 0 logs. The verdict comes from the backend: one run, world_size 2, every step once.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { repoRoot, runE2E, setupPython } from "../helpers.ts";
import { freePort } from "../../src/util/port.ts";

let python = "";
let root = "";
let second: ChildProcess | undefined;

beforeAll(async () => {
  python = setupPython();
  root = await mkdtemp(join(tmpdir(), "e2e-ddp-multinode-"));
}, 1_200_000);
afterAll(async () => {
  if (second && second.exitCode === null) second.kill("SIGKILL");
  await rm(root, { recursive: true, force: true });
});

/** The config.json e2e writes for the ddp workflow, once it exists under `dir`. */
async function configUnder(dir: string, timeoutMs: number): Promise<string> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    for (const session of existsSync(dir) ? readdirSync(dir) : []) {
      const f = join(dir, session, "mlflow", "ddp-clean", "config.json");
      if (existsSync(f)) return f;
    }
    await Bun.sleep(200);
  }
  throw new Error(`no ddp config.json appeared under ${dir}`);
}

test("two torchrun agents on 127.0.0.1, c10d rendezvous, one process each: one run of world size 2", async () => {
  const port = await freePort();
  const rdzv = `--nnodes 2 --rdzv-backend c10d --rdzv-endpoint 127.0.0.1:${port} --rdzv-id e2e-multinode-${port}`;
  const env = { E2E_TMPDIR: root, E2E_TORCHRUN_ARGS: rdzv };
  const first = runE2E(["run", "--backend", "mlflow", "--workflow", "ddp", "--size", "steps=6,nproc=1", "--keep-work", "--json"], { env, timeoutMs: 900_000 });

  // The second node: same script, same config (its rank 0, should it get it, logs to the same
  // server and manifest), started from the same repository folder.
  const config = await configUnder(root, 600_000);
  const cfg = JSON.parse(await readFile(config, "utf8")) as { work_dir: string; tracking_uri: string };
  let log = "";
  second = spawn(python, ["-m", "torch.distributed.run", ...rdzv.split(" "), "--nproc-per-node", "1", join(repoRoot, "python", "workflows", "ddp.py")], {
    cwd: join(cfg.work_dir, "repo"),
    env: { ...process.env, E2E_CONFIG: config, E2E_PHASE: "1", MLFLOW_TRACKING_URI: cfg.tracking_uri, PYTHONPATH: join(repoRoot, "python"), PYTHONUNBUFFERED: "1", MPLBACKEND: "Agg" },
  });
  second.stdout!.on("data", (d) => (log += d));
  second.stderr!.on("data", (d) => (log += d));
  const secondExit = new Promise<number>((r) => second!.on("exit", (c) => r(c ?? 1)));

  const r = await first;
  const code2 = await secondExit;
  if (r.code !== 0 || code2 !== 0) console.error(`${r.stderr.slice(-3000)}\n--- second agent ---\n${log.slice(-3000)}`);
  const doc = JSON.parse(r.stdout);
  const wf = doc.backends[0].workflows[0];
  const checks = wf.checks as { name: string; status: string; message: string }[];
  expect(checks.filter((c) => c.status === "fail")).toEqual([]);
  expect(code2).toBe(0);
  expect(r.code).toBe(0);
  const byName = (n: string) => checks.find((c) => c.name === n);
  expect(byName("ddp.runs-in-backend")?.status).toBe("pass");
  expect(byName("ddp.world-size")?.status).toBe("pass");
  const manifest = JSON.parse(await readFile(join(cfg.work_dir, "manifest.json"), "utf8"));
  expect(manifest.facts.ddp.worldSize).toBe(2);
  expect(manifest.runs[0].params.world_size).toBe("2");
  expect(byName("params.world_size")?.status).toBe("pass");
}, 1_200_000);
