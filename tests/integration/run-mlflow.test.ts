/**
 * The compiled binary against a real MLflow server and real training (tiny sizes): every check
 * passes, --json is one document, bad input is one line and a non-zero exit, Ctrl-C leaves nothing.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { createServer } from "node:net";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { validateAgainst } from "../schema.ts";
import { e2eCommand, processesMatching, processesUnder, runE2E, setupPython } from "../helpers.ts";

let python = "";
// Only processes of e2e's own work folders (/tmp/e2e-<date>-<hex>-...), not other mlflow servers on the box.
const OURS_MLFLOW = "mlflow server .*/e2e-[0-9]{8}-[0-9a-f]{6}-";
beforeAll(() => {
  python = setupPython();
}, 1_200_000);

describe("e2e run --backend mlflow (native, real server, real training)", () => {
  test("passes every check and prints one JSON document", async () => {
    const report = `/tmp/e2e-test-report-${process.pid}.json`;
    const r = await runE2E(["run", "--backend", "mlflow", "--json", "--report", report]);
    expect(r.stderr).not.toContain("Traceback");
    const doc = JSON.parse(r.stdout);
    expect(doc.schema).toBe("e2e/run-result/v1");
    expect(await validateAgainst("run-result.schema.json", doc)).toEqual([]);
    expect(doc.status).toBe("passed");
    expect(r.code).toBe(0);
    const b = doc.backends[0];
    expect(b.backend).toBe("mlflow");
    expect(b.serverVersion).toMatch(/^3\./);
    const checks = b.workflows[0].checks as { group: string; status: string }[];
    for (const g of ["params", "metrics", "artifacts", "git", "workflow"]) expect(checks.filter((c) => c.group === g && c.status === "pass").length).toBeGreaterThan(0);
    expect(checks.filter((c) => c.status === "fail")).toEqual([]);
    expect(doc.environment.python.torch.version).toMatch(/^2\./);
    // Where the time went: the recorded probe (setup made the venv), the server's start, and the
    // workflow process's own phases measured inside it.
    expect(doc.perf.probeCached).toBe(true);
    expect(doc.perf.backends[0].startMs).toBeGreaterThan(0);
    const wf = doc.perf.backends[0].workflows[0];
    expect(wf.phases).toHaveLength(1);
    for (const k of ["startupMs", "sdkStartMs", "trainMs"]) expect(wf.phases[0][k]).toBeGreaterThan(0);
    expect(wf.phases[0].startupMs + wf.phases[0].trainMs).toBeLessThanOrEqual(wf.durationMs);
    const saved = JSON.parse(await Bun.file(report).text());
    await Bun.file(report).delete();
    expect(saved.status).toBe("passed");
    // This run's server (by its port): other e2e runs on a shared machine have their own.
    expect(b.url).toMatch(/:\d+/);
    expect(processesMatching(`${OURS_MLFLOW}.* --port ${new URL(b.url).port} `)).toEqual([]);
  }, 600_000);

  test("unknown backend: one line, exit 2, valid names listed", async () => {
    const r = await runE2E(["run", "--backend", "neptune"]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toContain("mlflow, wandb, clearml");
    expect(r.stdout).toBe("");
  });

  test("--python that does not exist, or lacks torch: exit 2 with the fix", async () => {
    const missing = await runE2E(["run", "--backend", "mlflow", "--python", "/nonexistent/python3"]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("does not exist");
    const bare = await runE2E(["run", "--backend", "mlflow", "--python", "/usr/bin/python3"]);
    expect(bare.code).toBe(2);
    expect(bare.stderr).toMatch(/lacks .*torch/);
  });

  test("pip failing (an empty wheelhouse): exit 3, pip's reason on one line, no half venv used later", async () => {
    const { mkdtemp, rm, readdir } = await import("node:fs/promises");
    const cache = await mkdtemp("/tmp/e2e-pip-fail-");
    const empty = await mkdtemp("/tmp/e2e-empty-wheels-");
    const r = await runE2E(["setup", "--wheelhouse", empty], { env: { E2E_CACHE_DIR: cache } });
    const venvs = await readdir(`${cache}/venvs`).catch(() => [] as string[]);
    const complete = venvs.some((v) => existsSync(`${cache}/venvs/${v}/.complete`));
    await rm(cache, { recursive: true, force: true });
    await rm(empty, { recursive: true, force: true });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/e2e: error: pip install failed: .*(No matching distribution|Could not find a version)/);
    expect(complete).toBe(false);
  }, 300_000);

  test("a taken port: exit 2, no server left", async () => {
    const srv = createServer().listen(0, "127.0.0.1");
    await new Promise((r) => srv.once("listening", r));
    const port = (srv.address() as { port: number }).port;
    // A temp root of its own: servers of other e2e processes on the machine are not this run's.
    const root = mkdtempSync(join(tmpdir(), "e2e-taken-port-"));
    try {
      const r = await runE2E(["run", "--backend", "mlflow", "--port", String(port)], { env: { E2E_TMPDIR: root } });
      srv.close();
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`port ${port}`);
      expect(processesUnder(root)).toEqual([]);
      expect(readdirSync(root)).toEqual([]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  test("Ctrl-C mid-training leaves no mlflow or python process and no work folder", async () => {
    const [cmd, ...pre] = e2eCommand();
    const child = spawn(cmd!, [...pre, "run", "--backend", "mlflow", "--profile", "full"], { env: process.env });
    let stderr = "";
    const trainingSeen = new Promise<void>((resolve) =>
      child.stderr.on("data", (d) => {
        stderr += d;
        if (/mlflow\/cnn: \d+\/\d+/.test(stderr)) resolve();
      }),
    );
    await trainingSeen;
    // This run's server (by the port it reported): other e2e runs on a shared machine have their own.
    const port = /ready at http:\/\/127\.0\.0\.1:(\d+)/.exec(stderr)?.[1];
    const work = /\/tmp\/e2e-\d{8}-[0-9a-f]{6}-\w+/.exec(processesMatching(`${OURS_MLFLOW}.* --port ${port} `).join("\n"))?.[0];
    expect(work).toBeDefined();
    expect(processesUnder(work!).length).toBeGreaterThan(1); // the server and the training process
    child.kill("SIGINT");
    const code = await new Promise<number>((r) => child.on("exit", (c, s) => r(c ?? (s ? 128 : 1))));
    expect(code).toBe(130);
    await Bun.sleep(500);
    expect(processesMatching(`mlflow server .*${work}`)).toEqual([]);
    expect(processesUnder(work!)).toEqual([]);
    expect(existsSync(work!)).toBe(false);
  }, 600_000);
});
