/**
 * The bench's retry and error accounting, against the MLflow faults TEST DOUBLE
 * (tests/doubles/mlflow-faults-double.ts): a transient set-up failure is retried without creating
 * a duplicate, a real client error is not, and one failed call under load is counted in its
 * figure instead of costing the figure or the stage. No timing is asserted.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { startMlflowFaultsDouble, type Fault } from "../../tests/doubles/mlflow-faults-double.ts";
import { MlflowClient } from "../backends/mlflow/client.ts";
import { describeFault, retrying, stageErrorMessage, transient } from "./faults.ts";
import type { Figure } from "./figure.ts";
import { logBatchFigures, scaleSeries, setupCalls, type SuiteContext } from "./http-suite.ts";
import { closedLoop, postJson, timeCalls } from "./load.ts";
import type { BenchPlan } from "./plan.ts";

const d = startMlflowFaultsDouble();
afterAll(() => d.stop());
const client = new MlflowClient(d.url, { retries: 0 });

function setup() {
  const retried: { what: string; attempt: number; message: string }[] = [];
  const created = { experiments: [] as string[], runs: [] as string[], artifacts: [] as [string, string][] };
  const calls = setupCalls({ target: "mlflow-url", created, retried: (what, attempt, err) => void retried.push({ what, attempt, message: describeFault(err) }) }, client);
  return { ...calls, retried, created };
}
const runsNamed = (exp: string, name: string) => d.runs.filter((r) => r.experimentId === exp && r.name === name);

describe("set-up requests under transient faults", () => {
  test("runs/create answered MLflow's pool-timeout 400: sent again, one run, the retry reported with error_code and message", async () => {
    const s = setup();
    const exp = await s.newExperiment("t1");
    d.faults.set("runs/create", ["pool-timeout"]);
    const id = await s.newRun(exp, "client-0");
    expect(runsNamed(exp, "client-0").map((r) => r.id)).toEqual([id]);
    expect(s.retried).toHaveLength(1);
    expect(s.retried[0]!.what).toBe("runs/create client-0");
    expect(s.retried[0]!.message).toStartWith("HTTP 400 BAD_REQUEST: QueuePool limit of size 5 overflow 10 reached");
    expect(s.created.runs).toEqual([id]);
  });

  test("runs/create that took effect but answered 503: the run is found by its name and used, no duplicate", async () => {
    const s = setup();
    const exp = await s.newExperiment("t2");
    d.faults.set("runs/create", ["committed-503"]);
    const before = d.calls.get("runs/create") ?? 0;
    const id = await s.newRun(exp, "client-1");
    expect(runsNamed(exp, "client-1").map((r) => r.id)).toEqual([id]);
    expect((d.calls.get("runs/create") ?? 0) - before).toBe(1);
  });

  test("experiments/create that took effect but answered 503: found by name, not created twice", async () => {
    const s = setup();
    d.faults.set("experiments/create", ["committed-503"]);
    const n = d.experiments.size;
    const id = await s.newExperiment("t3");
    expect(d.experiments.size).toBe(n + 1);
    expect(d.experiments.get(id)).toStartWith("e2e-bench-t3-mlflow-url-");
  });

  test("a client error (INVALID_PARAMETER_VALUE) is not retried; the stage's error carries MLflow's error_code and message", async () => {
    const s = setup();
    const exp = await s.newExperiment("t4");
    d.faults.set("runs/create", ["invalid"]);
    const err = await s.newRun(exp, "x").catch((e) => e);
    expect(s.retried).toHaveLength(0);
    expect(transient(err)).toBe(false);
    expect(stageErrorMessage(err)).toContain("400 Bad Request: INVALID_PARAMETER_VALUE: Invalid value for parameter 'experiment_id'");
    expect(runsNamed(exp, "x")).toHaveLength(0);
  });

  test("retries are bounded: a fault on every attempt throws after 4 attempts", async () => {
    let sent = 0;
    const err = await retrying(async () => {
      sent++;
      return postJson(`${d.url}/api/2.0/mlflow/runs/log-batch`, "{}");
    }, { sleep: async () => {} }).catch((e) => e);
    expect(sent).toBe(1); // no fault queued: the first attempt succeeds
    expect(err).toBeUndefined();
    d.faults.set("runs/log-batch", ["unavailable", "unavailable", "unavailable", "unavailable", "unavailable"]);
    sent = 0;
    const e2 = await retrying(() => (sent++, postJson(`${d.url}/api/2.0/mlflow/runs/log-batch`, "{}")), { sleep: async () => {} }).catch((e) => e);
    expect(sent).toBe(4);
    expect(String(e2.message)).toStartWith("HTTP 503 TEMPORARILY_UNAVAILABLE: (sqlite3.OperationalError) database is locked (from /api/2.0/mlflow/runs/log-batch)");
    d.faults.delete("runs/log-batch");
  });
});

describe("one failed call under load", () => {
  const budget = { minSamples: 20, maxSamples: 20, budgetMs: 0, capMs: 60_000 };
  const logBatch = () => postJson(`${d.url}/api/2.0/mlflow/runs/log-batch`, "{}");

  test("a sequential figure counts it and keeps its other samples; 5 in a row end the figure", async () => {
    d.faults.set("runs/log-batch", ["ok", "ok", "pool-timeout"]);
    const t = await timeCalls(logBatch, budget);
    expect(t.ms).toHaveLength(20);
    expect(t.errors).toBe(1);
    expect(t.firstError).toStartWith("HTTP 400 BAD_REQUEST: QueuePool limit");
    d.faults.set("runs/log-batch", Array<Fault>(5).fill("unavailable"));
    const e = await timeCalls(logBatch, budget).catch((x) => x);
    expect(String(e.message)).toStartWith("5 calls in a row failed (5 of 5 in all): HTTP 503 TEMPORARILY_UNAVAILABLE");
  });

  test("the log-batch figure keeps its samples, says how many calls failed, and the run's errors name it", async () => {
    const figures: Figure[] = [];
    const errors: string[] = [];
    const plan = { batchSizes: [10], batch: budget } as unknown as BenchPlan;
    const ctx: SuiteContext = { target: "mlflow-url", url: d.url, plan, figure: (f) => void figures.push(f), progress: () => {}, error: (stage, err) => void errors.push(`${stage}: ${(err as Error).message}`) };
    d.faults.set("runs/log-batch", ["unavailable"]);
    await logBatchFigures(ctx, async () => "run");
    const lat = figures.find((f) => f.name === "http.log_batch.latency")!;
    expect(lat.samples).toBe(20);
    expect(lat.errors).toBe(1);
    expect(lat.note).toContain("1 call failed, not among the samples");
    expect(figures.find((f) => f.name === "http.log_batch.throughput")!.note).toContain("1 call failed");
    expect(errors).toHaveLength(1);
    expect(errors[0]).toStartWith("log-batch 10: 1 of 21 calls failed; the figure rests on the 20 that answered (first: HTTP 503 TEMPORARILY_UNAVAILABLE");
  });

  test("a closed-loop client goes on after an error: counted in the step's error rate", async () => {
    d.faults.set("runs/log-batch", ["pool-timeout"]);
    const step = await closedLoop(1, 0.5, 10, () => logBatch());
    expect(step.errors).toBe(1);
    expect(step.requests).toBeGreaterThan(0);
    expect(step.errorRate).toBeCloseTo(1 / (step.requests + 1), 10);
    expect(step.firstError).toStartWith("HTTP 400 BAD_REQUEST: QueuePool");
  });

  test("the closed-loop sweep still ends at a server that refuses everything (a client gives up after 5 in a row)", async () => {
    const plan = { scale: { maxClients: 4, stepSeconds: 30, batch: 10, budgetSeconds: 60 } } as unknown as BenchPlan;
    d.faults.set("runs/log-batch", Array<Fault>(5).fill("invalid"));
    const s = await scaleSeries({ target: "harness", url: d.url, plan, figure: () => {}, progress: () => {}, error: () => {} }, ["r"]);
    expect(s.steps.map((x) => [x.clients, x.errors, x.requests])).toEqual([[1, 5, 0]]);
    expect(s.knee).toBeNull();
  });
});
