/**
 * The HTTP measurements of one MLflow server (native or docker), from TypeScript: log-batch
 * latency and throughput per batch size, artifact transfer with the bytes checked, API latency as
 * the metric history and the run count grow, and concurrent clients stepped up to the knee.
 * The same load generator runs against the loopback sink (target "harness") for the ceiling.
 */
import { createHash, randomBytes } from "node:crypto";
import { MlflowClient } from "../backends/mlflow/client.ts";
import { backendError } from "../util/errors.ts";
import { fromSamples, type Figure, type FigureSpec, type Target } from "./figure.ts";
import { findKnee, shouldStop, type Knee } from "./knee.ts";
import { closedLoop, getOk, postJson, timeCalls } from "./load.ts";
import { interrupted } from "../runtime/lifecycle.ts";
import type { BenchPlan } from "./plan.ts";
import type { ScaleSeries } from "./result.ts";
import { sizeLabel } from "./sizes.ts";

export interface SuiteContext {
  target: Target;
  url: string;
  plan: BenchPlan;
  figure(f: Figure): void;
  progress(msg: string): void;
  /** A stage failed: recorded, the suite goes on with the next one. */
  error(stage: string, err: unknown): void;
}

const LOG_BATCH = "/api/2.0/mlflow/runs/log-batch";

/** Throughput from per-request latencies: total points over total time, spread of per-request rates. */
export function throughputFigure(spec: FigureSpec, latenciesMs: readonly number[], pointsPerRequest: number): Figure {
  const f = fromSamples(spec, latenciesMs.map((ms) => (pointsPerRequest * 1000) / ms));
  f.value = (pointsPerRequest * latenciesMs.length * 1000) / latenciesMs.reduce((a, v) => a + v, 0);
  return f;
}

export function batchBody(runId: string, size: number, step: number): string {
  const ts = Date.now();
  const metrics = Array.from({ length: size }, (_, i) => ({ key: `m${i}`, value: (step % 1000) / 1000 + i, timestamp: ts, step }));
  return JSON.stringify({ run_id: runId, metrics });
}

async function stage(ctx: SuiteContext, name: string, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    if (interrupted() || (err as { exitCode?: number }).exitCode === 130) throw err;
    ctx.error(name, err);
  }
}

/** log-batch at each batch size, sequential, one request per sample. */
export async function logBatchFigures(ctx: SuiteContext, runFor: (size: number) => Promise<string>): Promise<void> {
  for (const size of ctx.plan.batchSizes) {
    await stage(ctx, `log-batch ${size}`, async () => {
      const runId = await runFor(size);
      let step = 0;
      const lat = await timeCalls(() => postJson(ctx.url + LOG_BATCH, batchBody(runId, size, step++)), ctx.plan.batch);
      const spec = { target: ctx.target, params: { batch: size } } as const;
      ctx.figure(fromSamples({ ...spec, group: "throughput", name: "http.log_batch.latency", unit: "ms", better: "smaller" }, lat));
      ctx.figure(throughputFigure({ ...spec, group: "throughput", name: "http.log_batch.throughput", unit: "points/s", better: "bigger" }, lat, size));
      ctx.progress(`log-batch x${size}: ${lat.length} requests`);
    });
  }
}

/** Concurrent clients 1, 2, 4, ... until throughput stops rising, errors appear, or the budget ends. */
export async function scaleSeries(ctx: SuiteContext, runIds: string[]): Promise<ScaleSeries> {
  const { maxClients, stepSeconds, batch, budgetSeconds } = ctx.plan.scale;
  const series: ScaleSeries = { target: ctx.target, batch, steps: [] };
  const deadline = Date.now() + budgetSeconds * 1000;
  let reason: Knee["reason"] = "max-clients";
  for (let clients = 1; clients <= maxClients; clients *= 2) {
    const step = await closedLoop(clients, stepSeconds, batch, (c, i) => postJson(ctx.url + LOG_BATCH, batchBody(runIds[c % runIds.length]!, batch, i)));
    series.steps.push(step);
    ctx.progress(`${clients} client(s): ${Math.round(step.throughput)} points/s, ${step.errors} error(s)`);
    const stop = shouldStop(series.steps);
    if (stop) {
      reason = stop;
      break;
    }
    if (Date.now() + stepSeconds * 1000 > deadline) {
      reason = "time-budget";
      break;
    }
  }
  series.knee = findKnee(series.steps, reason);
  if (series.knee) {
    const spec = { target: ctx.target, group: "scalability", params: { batch } } as const;
    const note = `stopped: ${reason}${series.knee.error ? ` (${series.knee.error})` : ""}`;
    ctx.figure(fromSamples({ ...spec, name: "scale.knee.clients", unit: "clients", better: "bigger", note }, [series.knee.clients]));
    ctx.figure(fromSamples({ ...spec, name: "scale.knee.throughput", unit: "points/s", better: "bigger", note }, [series.knee.throughput]));
  }
  return series;
}

/** The loopback sink: log-batch bodies, artifact-sized uploads and concurrency, same generator. */
export async function runSinkSuite(ctx: SuiteContext): Promise<ScaleSeries | undefined> {
  await logBatchFigures(ctx, async () => "sink");
  await stage(ctx, "upload", async () => {
    for (const size of ctx.plan.artifactSizes) {
      const body = randomBytes(size);
      const mbps: number[] = [];
      for (let i = 0; i < ctx.plan.artifactRepeats; i++) {
        const t = performance.now();
        const res = await fetch(`${ctx.url}/upload`, { method: "PUT", body });
        await res.arrayBuffer();
        mbps.push(size / 2 ** 20 / ((performance.now() - t) / 1000));
      }
      ctx.figure(fromSamples({ target: ctx.target, group: "artifacts", name: "http.artifact.upload", params: { size: sizeLabel(size) }, unit: "MB/s", better: "bigger" }, mbps));
    }
  });
  let series: ScaleSeries | undefined;
  await stage(ctx, "scalability", async () => void (series = await scaleSeries(ctx, ["sink"])));
  return series;
}

export async function runMlflowSuite(ctx: SuiteContext): Promise<ScaleSeries | undefined> {
  const client = new MlflowClient(ctx.url, { retries: 0, timeoutMs: 300_000 });
  const exp = await client.createExperiment(`e2e-bench-${ctx.target}-${randomBytes(3).toString("hex")}`);
  await logBatchFigures(ctx, (size) => client.createRun(exp, `log-batch-${size}`));
  await stage(ctx, "artifacts", () => artifactFigures(ctx, client, exp));
  await stage(ctx, "history", () => historyFigures(ctx, client, exp));
  await stage(ctx, "runs", () => runCountFigures(ctx, client));
  let series: ScaleSeries | undefined;
  await stage(ctx, "scalability", async () => {
    const runs = await Promise.all(Array.from({ length: ctx.plan.scale.maxClients }, (_, i) => client.createRun(exp, `client-${i}`)));
    series = await scaleSeries(ctx, runs);
  });
  return series;
}

async function artifactFigures(ctx: SuiteContext, client: MlflowClient, exp: string): Promise<void> {
  const runId = await client.createRun(exp, "artifacts");
  const uri = (await client.getRun(runId)).info.artifact_uri;
  for (const size of ctx.plan.artifactSizes) {
    const body = randomBytes(size);
    const want = createHash("sha256").update(body).digest("hex");
    const up: number[] = [];
    const down: number[] = [];
    for (let i = 0; i < ctx.plan.artifactRepeats; i++) {
      const path = `bench/${sizeLabel(size)}-${i}.bin`;
      let t = performance.now();
      await client.uploadArtifact(uri, path, body);
      up.push(size / 2 ** 20 / ((performance.now() - t) / 1000));
      t = performance.now();
      const got = await client.downloadArtifact(uri, path);
      down.push(size / 2 ** 20 / ((performance.now() - t) / 1000));
      if (got.sha256 !== want || got.size !== size)
        throw backendError(`artifact ${path}: downloaded ${got.size} bytes with sha256 ${got.sha256.slice(0, 12)}, uploaded ${size} with ${want.slice(0, 12)}`);
    }
    const spec = { target: ctx.target, group: "artifacts", params: { size: sizeLabel(size) }, unit: "MB/s", better: "bigger", note: "sha256 checked" } as const;
    ctx.figure(fromSamples({ ...spec, name: "http.artifact.upload" }, up));
    ctx.figure(fromSamples({ ...spec, name: "http.artifact.download" }, down));
    ctx.progress(`artifacts ${sizeLabel(size)}: ${ctx.plan.artifactRepeats} up and down, bytes checked`);
  }
}

async function historyFigures(ctx: SuiteContext, client: MlflowClient, exp: string): Promise<void> {
  const runId = await client.createRun(exp, "history");
  const getRun = `${ctx.url}/api/2.0/mlflow/runs/get?run_id=${runId}`;
  let points = 0;
  for (const size of ctx.plan.historySizes) {
    const fill: number[] = [];
    while (points < size) {
      const n = Math.min(1000, size - points);
      const ts = Date.now();
      const metrics = Array.from({ length: n }, (_, i) => ({ key: "loss", value: 1 / (points + i + 1), timestamp: ts, step: points + i }));
      const t = performance.now();
      await postJson(ctx.url + LOG_BATCH, JSON.stringify({ run_id: runId, metrics }));
      fill.push(performance.now() - t);
      points += n;
    }
    const spec = { target: ctx.target, group: "api", params: { history: size } } as const;
    if (fill.length > 1) ctx.figure(throughputFigure({ ...spec, group: "throughput", name: "http.history_fill.throughput", unit: "points/s", better: "bigger", note: "log-batch of 1000 points of one key" }, fill, 1000));
    const got = await client.getMetricHistory(runId, "loss");
    if (got.length !== size) throw backendError(`metric history has ${got.length} points, ${size} were logged`);
    const budget = ctx.plan.api;
    const hist = await timeCalls(() => client.getMetricHistory(runId, "loss"), budget);
    ctx.figure(fromSamples({ ...spec, name: "api.get_history.latency", unit: "ms", better: "smaller", note: "full history, paged at 25000" }, hist));
    ctx.figure(fromSamples({ ...spec, name: "api.get_run.latency", unit: "ms", better: "smaller" }, await timeCalls(() => getOk(getRun), budget)));
    ctx.progress(`history ${size}: get-history p50 ${median(hist).toFixed(1)} ms`);
  }
}

async function runCountFigures(ctx: SuiteContext, client: MlflowClient): Promise<void> {
  const exp = await client.createExperiment(`e2e-bench-runs-${randomBytes(3).toString("hex")}`);
  const ids: string[] = [];
  for (const count of ctx.plan.runCounts) {
    while (ids.length < count) {
      const batch = Math.min(8, count - ids.length);
      ids.push(...(await Promise.all(Array.from({ length: batch }, (_, i) => client.createRun(exp, `run-${ids.length + i}`)))));
    }
    const search = JSON.stringify({ experiment_ids: [exp], max_results: 100 });
    const spec = { target: ctx.target, group: "api", params: { runs: count } } as const;
    const lat = await timeCalls(() => postJson(`${ctx.url}/api/2.0/mlflow/runs/search`, search), ctx.plan.api);
    ctx.figure(fromSamples({ ...spec, name: "api.search_runs.latency", unit: "ms", better: "smaller", note: "first page of 100" }, lat));
    const one = `${ctx.url}/api/2.0/mlflow/runs/get?run_id=${ids[ids.length - 1]}`;
    ctx.figure(fromSamples({ ...spec, name: "api.get_run.latency", unit: "ms", better: "smaller" }, await timeCalls(() => getOk(one), ctx.plan.api)));
    ctx.progress(`${count} runs: search p50 ${median(lat).toFixed(1)} ms`);
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
