/**
 * `e2e bench --url` against a real MLflow server started here by hand (native, SQLite, served
 * artifacts): it measures it and leaves nothing behind (read back over REST: every experiment
 * and run it created is deleted, no artifact file remains); an unreachable server and a
 * read-only one (a proxy double answering 403 to writes) stop it with one line and exit 4.
 * No timing is asserted.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startNativeMlflow, type NativeMlflow } from "../../src/backends/mlflow/native.ts";
import { freePort } from "../../src/util/port.ts";
import { startProxyDouble } from "../doubles/proxy-double.ts";
import { validateAgainst } from "../schema.ts";
import { e2eCommand, runE2E, setupPython } from "../helpers.ts";
import { spawnSync } from "node:child_process";

const work = mkdtempSync(join(tmpdir(), "e2e-bench-url-test-"));
const env: Record<string, string> = {};
let server: NativeMlflow;

interface Exp { experiment_id: string; name: string; lifecycle_stage: string }
async function experiments(url: string): Promise<Exp[]> {
  const r = await fetch(`${url}/api/2.0/mlflow/experiments/search`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ max_results: 1000, view_type: "ALL" }) });
  return ((await r.json()) as { experiments?: Exp[] }).experiments ?? [];
}
async function runsOf(url: string, ids: string[]): Promise<{ info: { run_id: string; lifecycle_stage: string } }[]> {
  const r = await fetch(`${url}/api/2.0/mlflow/runs/search`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ experiment_ids: ids, max_results: 1000, run_view_type: "ALL" }) });
  return ((await r.json()) as { runs?: { info: { run_id: string; lifecycle_stage: string } }[] }).runs ?? [];
}
function filesUnder(dir: string): string[] {
  let out: string[] = [];
  try {
    for (const n of readdirSync(dir)) {
      const p = join(dir, n);
      out = statSync(p).isDirectory() ? [...out, ...filesUnder(p)] : [...out, p];
    }
  } catch {}
  return out;
}

beforeAll(async () => {
  const python = setupPython();
  const [cmd, ...pre] = e2eCommand();
  if (spawnSync(cmd!, [...pre, "bench", "--help"], { encoding: "utf8" }).stdout?.includes("--url") !== true) process.env.E2E_TEST_FROM_SOURCE = env.E2E_TEST_FROM_SOURCE = "1";
  server = await startNativeMlflow({ python, workDir: work });
}, 180_000);

afterAll(async () => {
  await server?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe("e2e bench --url", () => {
  test("measures a server it did not start and leaves nothing behind on it", async () => {
    const before = await experiments(server.url);
    // An --html path under a regular file cannot be written: named, and nothing else changes.
    writeFileSync(join(work, "a-file"), "");
    const ran = await runE2E(["bench", "--url", server.url, "--backend", "mlflow", "--quick", "--jobs", "2", "--duration", "8", "--json", "--html", join(work, "a-file", "r.html")], { env, timeoutMs: 590_000 });
    expect(ran.stderr).not.toContain("Traceback");
    expect(ran.code === 0 ? "" : ran.stderr.split("\n").filter((l) => /error|warn/i.test(l)).join("\n")).toBe("");
    const doc = JSON.parse(ran.stdout);
    expect(await validateAgainst("bench-result.schema.json", doc)).toEqual([]);
    expect(doc.errors).toEqual([]);
    expect(doc.reportErrors.map((e: { reporter: string }) => e.reporter)).toEqual([`--html ${join(work, "a-file", "r.html")}`]);
    expect(ran.stderr).toContain("the verdict is unchanged");
    const srv = doc.environment.servers[0];
    expect(srv).toMatchObject({ target: "mlflow-url", version: "3.17.2", workersVisible: false });
    expect(srv.store).toContain("SqlStore");
    expect(doc.environment.mlflowWorkers).toBeNull();
    expect(new Set(doc.figures.map((f: { target: string }) => f.target))).toEqual(new Set(["harness", "mlflow-url"]));
    expect(doc.fleet[0].target).toBe("mlflow-url");
    expect(doc.fleet[0].steps.length).toBeGreaterThan(0);
    for (const f of doc.figures) if (f.samples > 1 && f.unit === "ms") expect(f.ci.lo <= f.value && f.value <= f.ci.hi).toBe(true);

    // What the server holds now, read over REST: the bench's experiments and runs are all deleted.
    const after = await experiments(server.url);
    const mine = after.filter((e) => !before.some((b) => b.experiment_id === e.experiment_id));
    expect(mine.length).toBe(doc.cleanup.experiments);
    expect(mine.length).toBeGreaterThanOrEqual(3);
    expect(mine.every((e) => e.name.startsWith("e2e-bench-") && e.lifecycle_stage === "deleted")).toBe(true);
    expect(after.filter((e) => e.lifecycle_stage === "active").map((e) => e.name)).toEqual(before.filter((e) => e.lifecycle_stage === "active").map((e) => e.name));
    const runs = await runsOf(server.url, mine.map((e) => e.experiment_id));
    expect(runs.length).toBe(doc.cleanup.runs);
    expect(runs.every((r) => r.info.lifecycle_stage === "deleted")).toBe(true);
    expect(doc.cleanup.artifacts).toBeGreaterThan(0);
    expect(doc.cleanup.failures).toEqual([]);
    expect(doc.cleanup.remains).toContain("mlflow gc");
    expect(filesUnder(join(work, "mlartifacts"))).toEqual([]);
  }, 600_000);

  test("transient failures (a proxy double injects them) cost one call each, not a stage: set-up retried without a duplicate, a failed log-batch counted, exit 4 with every figure kept", async () => {
    const pool = JSON.stringify({ error_code: "BAD_REQUEST", message: "QueuePool limit of size 5 overflow 10 reached, connection timed out, timeout 30.00" });
    const gateway = JSON.stringify({ error_code: "TEMPORARILY_UNAVAILABLE", message: "upstream timed out" });
    // The probe (remote.ts) makes the first experiments/create and runs/create; the suite's come next.
    const proxy = startProxyDouble({ target: server.url, faults: [
      { path: "/experiments/create", nth: 2, forward: false, status: 503, body: gateway },
      { path: "/runs/create", nth: 2, forward: true, status: 503, body: gateway },
      { path: "/runs/log-batch", nth: 10, forward: false, status: 400, body: pool },
      // A history-fill batch of 1000 points that took effect, answered 503: sent again, and MLflow
      // stores each point once (the stage checks the history's length: a doubled batch fails it).
      { path: "/runs/log-batch", bodyIncludes: '"key":"loss"', nth: 3, forward: true, status: 503, body: gateway },
      // One artifact upload through the proxy fails (not stored): counted in its figure, not downloaded.
      { path: "/bench/64KB-1.bin", nth: 1, forward: false, status: 502, body: gateway },
    ] });
    try {
      const before = await experiments(server.url);
      const ran = await runE2E(["bench", "--url", proxy.url, "--backend", "mlflow", "--quick", "--jobs", "2", "--duration", "6", "--json"], { env, timeoutMs: 590_000 });
      expect(ran.code).toBe(4);
      const doc = JSON.parse(ran.stdout);
      expect(await validateAgainst("bench-result.schema.json", doc)).toEqual([]);
      expect(doc.status).toBe("complete");
      // Both set-up failures were sent again, and say so.
      expect(doc.retries.map((r: { what: string; attempt: number; message: string }) => [r.what.replace(/-[0-9a-f]{6}$/, ""), r.attempt, r.message])).toEqual([
        ["experiments/create e2e-bench-http-mlflow-url", 1, "HTTP 503 TEMPORARILY_UNAVAILABLE: upstream timed out"],
        ["runs/create log-batch-1", 1, "HTTP 503 TEMPORARILY_UNAVAILABLE: upstream timed out"],
        ["runs/log-batch history fill at 2000", 1, "HTTP 503 TEMPORARILY_UNAVAILABLE: upstream timed out"],
      ]);
      // The runs/create that took effect was found by its name, not sent again: one run of that name.
      const creates = proxy.requests.filter((r) => r.path.endsWith("/runs/create") && r.body?.includes('"run_name":"log-batch-1"'));
      expect(creates).toHaveLength(1);
      const mine = (await experiments(server.url)).filter((e) => !before.some((b) => b.experiment_id === e.experiment_id));
      expect(mine.filter((e) => e.name.startsWith("e2e-bench-http-"))).toHaveLength(1);
      // The one failed log-batch and the one failed upload are counted in their figures and named,
      // with MLflow's error_code and message, in the errors.
      expect(doc.errors.map((e: { stage: string }) => e.stage)).toEqual(["log-batch 1", "artifact upload 64KB"]);
      expect(doc.errors[1].message).toMatch(/^1 of \d+ transfers failed; the figure rests on the others \(first: HTTP 502 TEMPORARILY_UNAVAILABLE: upstream timed out/);
      const up = doc.figures.find((f: { id: string }) => f.id === "mlflow-url/http.artifact.upload[size=64KB]");
      const down = doc.figures.find((f: { id: string }) => f.id === "mlflow-url/http.artifact.download[size=64KB]");
      expect([up.errors, down.errors, down.samples]).toEqual([1, undefined, up.samples]);
      expect(doc.errors[0].message).toMatch(/^1 of \d+ calls failed; the figure rests on the \d+ that answered \(first: HTTP 400 BAD_REQUEST: QueuePool limit of size 5 overflow 10 reached/);
      const fig = doc.figures.find((f: { id: string }) => f.id === "mlflow-url/http.log_batch.latency[batch=1]");
      expect(fig.errors).toBe(1);
      expect(fig.note).toContain("1 call failed, not among the samples");
      // Everything else was measured.
      for (const id of ["http.log_batch.latency[batch=1000]", "api.get_history.latency[history=10000]", "api.search_runs.latency[runs=100]", "scale.knee.clients[batch=100]", "fleet.knee.jobs[keys=20,interval_ms=100]"])
        expect(doc.figures.some((f: { id: string }) => f.id === `mlflow-url/${id}`)).toBe(true);
      expect(doc.cleanup.failures).toEqual([]);
    } finally {
      proxy.stop();
    }
  }, 600_000);

  test("an unreachable server: one line naming the fix, exit 4, before any load", async () => {
    const r = await runE2E(["bench", "--url", `http://127.0.0.1:${await freePort()}`, "--backend", "mlflow", "--quick"], { env, timeoutMs: 60_000 });
    expect(r.code).toBe(4);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toContain("does not answer");
    expect(r.stdout).toBe("");
  }, 70_000);

  test("a read-only server (403 on create): one line, exit 4, nothing created", async () => {
    const proxy = startProxyDouble({ target: server.url, readOnly: true });
    try {
      const before = await experiments(server.url);
      const r = await runE2E(["bench", "--url", proxy.url, "--backend", "mlflow", "--quick", "--json"], { env, timeoutMs: 60_000 });
      expect(r.code).toBe(4);
      // One line, then the server's answer as detail.
      const lines = r.stderr.trim().split("\n");
      expect(lines[0]).toContain("rejected the credentials (HTTP 403), during the creation of a throwaway experiment");
      expect(lines.slice(1).join("\n")).toContain("PERMISSION_DENIED");
      expect(lines.length).toBeLessThanOrEqual(2);
      expect(lines[0]).toContain("MLFLOW_TRACKING_TOKEN");
      expect(r.stdout).toBe("");
      expect((await experiments(server.url)).length).toBe(before.length);
    } finally {
      proxy.stop();
    }
  }, 70_000);

  test("usage: --url needs one --backend and no --mode", async () => {
    for (const args of [["--backend", "mlflow,wandb"], [], ["--backend", "mlflow", "--mode", "native"]]) {
      const r = await runE2E(["bench", "--url", "http://127.0.0.1:1", ...args], { env, timeoutMs: 30_000 });
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
    }
  }, 100_000);
});
