/**
 * The HTTP measurements of one MLflow server (native or docker), from TypeScript: log-batch
 * latency and throughput per batch size, artifact transfer with the bytes checked, API latency as
 * the metric history and the run count grow, and concurrent clients stepped up to the knee.
 * The same load generator runs against the loopback sink (target "harness") for the ceiling.
 */
import { randomBytes } from "node:crypto";
import { MlflowClient } from "../backends/mlflow/client.ts";
import { backendError } from "../util/errors.ts";
import { interrupted } from "../runtime/lifecycle.ts";
import { artifactFigures, lengthCheck, sha256Check } from "./artifacts.ts";
import { fromSamples, wallClockRate, type Figure, type FigureSpec, type Target } from "./figure.ts";
import { runFleet, type FleetJob, type FleetSeries } from "./fleet.ts";
import { findKnee, noKneeWhy, shouldStop, type Knee } from "./knee.ts";
import { retrying } from "./faults.ts";
import { CapPool, closedLoop, getOk, postJson, type Timed } from "./load.ts";
import { artifactRepeatsFor, type BenchPlan } from "./plan.ts";
import type { ScaleSeries } from "./result.ts";
import { openRawHttp, openRawLoopback } from "./sink.ts";
import { sizeLabel } from "./sizes.ts";

/** What a suite created on a server, for clean-up by URL. */
export interface Created {
  experiments: string[];
  runs: string[];
  /** Artifact files written through the proxy: [artifact root, path]. */
  artifacts: [string, string][];
}

export interface SuiteContext {
  target: Target;
  url: string;
  plan: BenchPlan;
  figure(f: Figure): void;
  progress(msg: string): void;
  /** A stage failed: recorded, the suite goes on with the next one. */
  error(stage: string, err: unknown): void;
  /** The client the suite uses (credentials from env for a server by URL). */
  client?: MlflowClient;
  /** Requests per second the sequential figures may send (--max-rps). */
  pace?: number;
  /** Everything created, when the server is the user's and must be cleaned. */
  created?: Created;
  fleet?(series: FleetSeries): void;
  /** A server variant (more workers): only the load figures (log-batch, client sweep, fleet). */
  loadOnly?: boolean;
  /** A set-up request failed transiently and is sent again (attempt: the one that failed). */
  retried?(what: string, attempt: number, err: unknown): void;
}

const LOG_BATCH = "/api/2.0/mlflow/runs/log-batch";

/**
 * Throughput of sequential calls over wall clock (the gaps between calls included, unlike a sum
 * of latencies), resting on the calls' count; its spread is that of the per-call rates.
 */
export function throughputFigure(spec: FigureSpec, t: Timed, pointsPerRequest: number): Figure {
  return wallClockRate(spec, pointsPerRequest * t.ms.length, t.wallMs, t.ms.map((ms) => (pointsPerRequest * 1000) / ms));
}

const why = (t: Timed) => (t.short ? { lowSamplesWhy: t.short } : {});

/**
 * Failed calls of a timed figure: the figure keeps its answered samples and counts the failures
 * (errors, note), and the run's errors name them (exit 4, as for a lost stage), so nothing fails
 * silently and one transient error does not cost the figure.
 */
export function failures(ctx: SuiteContext, stage: string, t: Timed): { errors?: number } {
  if (!t.errors) return {};
  ctx.error(stage, new Error(`${t.errors} of ${t.ms.length + t.errors} calls failed; the figure rests on the ${t.ms.length} that answered (first: ${t.firstError})`));
  return { errors: t.errors };
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
  const pool = new CapPool(ctx.plan.batch, ctx.plan.batchSizes.length);
  for (const size of ctx.plan.batchSizes) {
    await stage(ctx, `log-batch ${size}`, async () => {
      const runId = await runFor(size);
      let step = 0;
      const lat = await pool.time(() => postJson(ctx.url + LOG_BATCH, batchBody(runId, size, step++)), ctx.pace);
      const spec = { target: ctx.target, params: { batch: size }, ...why(lat), ...failures(ctx, `log-batch ${size}`, lat) } as const;
      ctx.figure(fromSamples({ ...spec, group: "throughput", name: "http.log_batch.latency", unit: "ms", better: "smaller" }, lat.ms));
      ctx.figure(throughputFigure({ ...spec, group: "throughput", name: "http.log_batch.throughput", unit: "points/s", better: "bigger", note: "sequential requests" }, lat, size));
      ctx.progress(`log-batch x${size}: ${lat.ms.length} requests`);
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
  if (!series.knee && series.steps.length) {
    // Not a knee of 0 points/s: 0 clients is what ran clean (a drop to it is a regression --baseline sees).
    series.noKnee = { reason, why: noKneeWhy(series.steps) };
    const none = fromSamples({ target: ctx.target, group: "scalability", params: { batch }, name: "scale.knee.clients", unit: "clients", better: "bigger", note: `no knee: ${series.noKnee.why}` }, [0]);
    none.noKnee = { reason };
    ctx.figure(none);
  }
  if (series.knee) {
    const spec = { target: ctx.target, group: "scalability", params: { batch } } as const;
    const note = `stopped: ${reason}${series.knee.error ? ` (${series.knee.error})` : ""}`;
    const at = series.steps.find((s) => s.clients === series.knee!.clients);
    ctx.figure(fromSamples({ ...spec, name: "scale.knee.clients", unit: "clients", better: "bigger", note }, [series.knee.clients]));
    const thr = fromSamples({ ...spec, name: "scale.knee.throughput", unit: "points/s", better: "bigger", note: `${note}; over ${at?.seconds.toFixed(1) ?? "?"} s of wall clock`, lowSamplesWhy: "one closed-loop step of a few seconds" }, [series.knee.throughput]);
    thr.samples = Math.max(1, at?.requests ?? 1);
    if (thr.samples >= 1000) delete thr.lowSamples, delete thr.lowSamplesWhy;
    ctx.figure(thr);
  }
  return series;
}

/**
 * The loopback sink: log-batch bodies, artifact-sized uploads and downloads through the same
 * client as MLflow's, the raw loopback (a plain TCP connection) beside them, and concurrency.
 */
export async function runSinkSuite(ctx: SuiteContext, rawPort?: number): Promise<ScaleSeries | undefined> {
  await logBatchFigures(ctx, async () => "sink");
  await stage(ctx, "artifacts", async () => {
    const client = new MlflowClient(ctx.url, { retries: 0, timeoutMs: 300_000 });
    // Three tiers, interleaved per transfer so they share the moment's load (this machine's load
    // swings within a second): raw TCP (the loopback), HTTP written on a plain socket to the sink
    // (the sink's cost added), and the artifact figures (the load generator's client added: for a
    // download, the body kept in memory).
    const raw = rawPort ? await openRawLoopback(rawPort) : undefined;
    // Its connections are the client's pool, closed with the artifact stage (artifactFigures).
    const http = rawPort ? openRawHttp(Number(new URL(ctx.url).port)) : undefined;
    const tiers = new Map<number, { loop: number[]; up: number[]; down: number[] }>();
    let tiersFailed = false;
    const beside = async (size: number, body: Uint8Array, i: number) => {
      if (!raw || !http || tiersFailed) return;
      const rate = (ms: number) => size / 2 ** 20 / (ms / 1000);
      try {
        if (i === 0) await raw.send(body), await http.put(body), await http.get(size);
        const [loop, up, down] = [rate(await raw.send(body)), rate(await http.put(body)), rate(await http.get(size))];
        const t = tiers.get(size) ?? { loop: [], up: [], down: [] };
        tiers.set(size, t);
        t.loop.push(loop), t.up.push(up), t.down.push(down);
      } catch (err) {
        // The raw tiers are beside the figures, not part of them: a failure is reported, not fatal.
        tiersFailed = true;
        ctx.error("raw loopback", err);
      }
    };
    try {
      const figs = await artifactFigures({
        target: ctx.target, client, uri: "mlflow-artifacts:/bench",
        uploadPath: (size, i) => `up/${sizeLabel(size)}-${i}.bin`,
        downloadPath: (size) => `bytes/${size}`, beside,
        check: lengthCheck, note: "same client as MLflow's (the load generator's HTTP/1.1 client, http1.ts); the sink discards uploads and serves downloads from memory",
      }, ctx.plan.artifactSizes, (s) => artifactRepeatsFor(ctx.plan, s), ctx.progress, (stage, m) => ctx.error(stage, new Error(m)));
      figs.forEach(ctx.figure);
    } finally {
      raw?.close();
    }
    for (const [size, t] of tiers) {
      const spec = { target: ctx.target, group: "ceiling", params: { size: sizeLabel(size) }, unit: "MB/s", better: "bigger", lowSamplesWhy: `${t.loop.length} transfers per size, each beside one through the client: bounded by the bytes moved` } as const;
      ctx.figure(fromSamples({ ...spec, name: "tcp.loopback.transfer", note: "plain TCP on 127.0.0.1 to the sink process over one kept connection, no HTTP: the loopback's own ceiling" }, t.loop));
      ctx.figure(fromSamples({ ...spec, name: "tcp.sink.upload", note: "an HTTP PUT written on a plain kept TCP connection to the sink, no HTTP client: the sink's own ceiling" }, t.up));
      ctx.figure(fromSamples({ ...spec, name: "tcp.sink.download", note: "an HTTP GET of /bytes/N on a plain kept TCP connection, the body counted, no HTTP client: the sink's own ceiling" }, t.down));
    }
  });
  let series: ScaleSeries | undefined;
  await stage(ctx, "scalability", async () => void (series = await scaleSeries(ctx, ["sink"])));
  return series;
}

/**
 * The suite's set-up requests, retried on a transient failure (faults.ts). Creating is not
 * idempotent, so every experiment and run has a name unique in its experiment, and before each
 * retry the bench looks it up: found, the failed attempt took effect and that one is used. A
 * duplicate can still arise when a failed attempt commits after that look-up (its answer lost while
 * the server was still working); it lies in the same throwaway experiment, which is removed with
 * the rest, and no figure reads it.
 */
export function setupCalls(ctx: Pick<SuiteContext, "target" | "created" | "retried">, client: MlflowClient) {
  const created = ctx.created;
  const newExperiment = async (what: string) => {
    const name = `e2e-bench-${what}-${ctx.target}-${randomBytes(3).toString("hex")}`;
    const id = await retrying(() => client.createExperiment(name), {
      retried: (n, err) => ctx.retried?.(`experiments/create ${name}`, n, err),
      tookEffect: async () => (await client.getExperimentByName(name).catch(() => undefined))?.experiment_id,
    });
    created?.experiments.push(id);
    return id;
  };
  const newRun = async (exp: string, name: string) => {
    const id = await retrying(() => client.createRun(exp, name), {
      retried: (n, err) => ctx.retried?.(`runs/create ${name}`, n, err),
      tookEffect: async () => (await client.searchRuns([exp], `attributes.run_name = '${name.replace(/'/g, "\\'")}'`, 10).catch(() => []))[0]?.info.run_id,
    });
    created?.runs.push(id);
    return id;
  };
  return { newExperiment, newRun };
}

/**
 * One MLflow server's suite. With ctx.created set (a server by URL), everything lives in
 * experiments it creates and records there, for the caller to delete.
 */
export async function runMlflowSuite(ctx: SuiteContext): Promise<ScaleSeries | undefined> {
  const client = ctx.client ?? new MlflowClient(ctx.url, { retries: 0, timeoutMs: 300_000 });
  const created = ctx.created;
  const { newExperiment, newRun } = setupCalls(ctx, client);
  const exp = await newExperiment("http");
  await logBatchFigures(ctx, (size) => newRun(exp, `log-batch-${size}`));
  if (!ctx.loadOnly) await stage(ctx, "artifacts", async () => {
    const runId = await newRun(exp, "artifacts");
    const uri = (await client.getRun(runId)).info.artifact_uri;
    if (!/^mlflow-artifacts:/.test(uri)) throw backendError(`runs store artifacts at ${uri}, which clients write directly: artifact figures need a server started with --serve-artifacts`);
    const written: string[] = [];
    try {
      const figs = await artifactFigures({
        target: ctx.target, client, uri, written,
        uploadPath: (size, i) => `bench/${sizeLabel(size)}-${i}.bin`,
        downloadPath: (size, i) => `bench/${sizeLabel(size)}-${i}.bin`,
        check: sha256Check, note: "through the server's artifact proxy; sha256 checked after the clock stopped",
      }, ctx.plan.artifactSizes, (s) => artifactRepeatsFor(ctx.plan, s), ctx.progress, (stage, m) => ctx.error(stage, new Error(m)));
      figs.forEach(ctx.figure);
    } finally {
      for (const p of written) created?.artifacts.push([uri, p]);
    }
  });
  // One time cap for all API latency figures: what the cheap ones leave goes to the next.
  const api = new CapPool(ctx.plan.api, 2 * (ctx.plan.historySizes.length + ctx.plan.runCounts.length));
  if (!ctx.loadOnly) await stage(ctx, "history", async () => historyFigures(ctx, client, await newRun(exp, "history"), api));
  if (!ctx.loadOnly) await stage(ctx, "runs", async () => {
    const runsExp = await newExperiment("runs");
    await runCountFigures(ctx, (name) => newRun(runsExp, name), runsExp, api);
  });
  let series: ScaleSeries | undefined;
  await stage(ctx, "scalability", async () => {
    if (ctx.pace) return ctx.progress("closed-loop clients skipped: --max-rps caps the request rate (the fleet steps below respect it)");
    // One after another: set-up, not measured. 64 concurrent runs/create exhaust the 1-worker
    // SQLite server's connection pool (faults.ts: 400 BAD_REQUEST "QueuePool limit ... reached"
    // after 30 s), which lost the full profile's closed-loop figure.
    const runs: string[] = [];
    for (let i = 0; i < ctx.plan.scale.maxClients; i++) runs.push(await newRun(exp, `client-${i}`));
    series = await scaleSeries(ctx, runs);
  });
  await stage(ctx, "fleet", async () => {
    const fleetExp = await newExperiment("fleet");
    const p = ctx.plan.fleet;
    await fleetFigures(ctx, async (i) => {
      const runId = await newRun(fleetExp, `job-${i}`);
      let uri: string | undefined;
      if (p.artifactEvery) uri = (await client.getRun(runId)).info.artifact_uri;
      const body = p.artifactEvery ? randomBytes(p.artifactBytes) : undefined;
      return {
        log: (step) => postJson(ctx.url + LOG_BATCH, batchBody(runId, p.keys, step)),
        ...(uri && body && /^mlflow-artifacts:/.test(uri)
          ? { artifact: async (step: number) => {
              const path = `fleet/ckpt-${step}.bin`;
              await client.uploadArtifact(uri!, path, body);
              created?.artifacts.push([uri!, path]);
            } }
          : {}),
      };
    });
  });
  return series;
}

async function historyFigures(ctx: SuiteContext, client: MlflowClient, runId: string, api: CapPool): Promise<void> {
  const getRun = `${ctx.url}/api/2.0/mlflow/runs/get?run_id=${runId}`;
  let points = 0;
  for (const size of ctx.plan.historySizes) {
    const fill: number[] = [];
    const fillStart = performance.now();
    while (points < size) {
      const n = Math.min(1000, size - points);
      const ts = Date.now();
      const metrics = Array.from({ length: n }, (_, i) => ({ key: "loss", value: 1 / (points + i + 1), timestamp: ts, step: points + i }));
      // Filling is set-up for the reads: a transient failure is sent again with the same body.
      // MLflow's SQL store skips a metric already stored with the same key, timestamp, step and
      // value (log_metrics' IntegrityError path), so a batch that took effect is not doubled.
      const body = JSON.stringify({ run_id: runId, metrics });
      const t = performance.now();
      await retrying(() => postJson(ctx.url + LOG_BATCH, body), { retried: (n, err) => ctx.retried?.(`runs/log-batch history fill at ${points}`, n, err) });
      fill.push(performance.now() - t);
      points += n;
    }
    const spec = { target: ctx.target, group: "api", params: { history: size } } as const;
    if (fill.length > 1) ctx.figure(throughputFigure({ ...spec, group: "throughput", name: "http.history_fill.throughput", unit: "points/s", better: "bigger", note: "log-batch of 1000 points of one key", lowSamplesWhy: `${fill.length} requests of 1000 points fill this history` }, { ms: fill, wallMs: performance.now() - fillStart, errors: 0 }, 1000));
    const got = await client.getMetricHistory(runId, "loss");
    if (got.length !== size) throw backendError(`metric history has ${got.length} points, ${size} were logged`);
    const hist = await api.time(() => client.getMetricHistory(runId, "loss"), ctx.pace);
    ctx.figure(fromSamples({ ...spec, name: "api.get_history.latency", unit: "ms", better: "smaller", note: "full history, paged at 25000", ...why(hist), ...failures(ctx, `get-history ${size}`, hist) }, hist.ms));
    const run = await api.time(() => getOk(getRun), ctx.pace);
    ctx.figure(fromSamples({ ...spec, name: "api.get_run.latency", unit: "ms", better: "smaller", ...why(run), ...failures(ctx, `get-run (history ${size})`, run) }, run.ms));
    ctx.progress(`history ${size}: get-history p50 ${median(hist.ms).toFixed(1)} ms (${hist.ms.length} calls)`);
  }
}

async function runCountFigures(ctx: SuiteContext, newRun: (name: string) => Promise<string>, exp: string, api: CapPool): Promise<void> {
  const ids: string[] = [];
  for (const count of ctx.plan.runCounts) {
    while (ids.length < count) {
      const batch = Math.min(8, count - ids.length);
      // 8 at once: each runs/create holds 2 of the SQLite server's 15 pooled connections (faults.ts).
      ids.push(...(await Promise.all(Array.from({ length: batch }, (_, i) => newRun(`run-${ids.length + i}`)))));
    }
    const search = JSON.stringify({ experiment_ids: [exp], max_results: 100 });
    const spec = { target: ctx.target, group: "api", params: { runs: count } } as const;
    const lat = await api.time(() => postJson(`${ctx.url}/api/2.0/mlflow/runs/search`, search), ctx.pace);
    ctx.figure(fromSamples({ ...spec, name: "api.search_runs.latency", unit: "ms", better: "smaller", note: "first page of 100", ...why(lat), ...failures(ctx, `search-runs ${count}`, lat) }, lat.ms));
    const one = `${ctx.url}/api/2.0/mlflow/runs/get?run_id=${ids[ids.length - 1]}`;
    const got = await api.time(() => getOk(one), ctx.pace);
    ctx.figure(fromSamples({ ...spec, name: "api.get_run.latency", unit: "ms", better: "smaller", ...why(got), ...failures(ctx, `get-run (${count} runs)`, got) }, got.ms));
    ctx.progress(`${count} runs: search p50 ${median(lat.ms).toFixed(1)} ms (${lat.ms.length} calls)`);
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

/** The training fleet (fleet.ts) against this server: `newJob` makes one job (a run or task). */
export async function fleetFigures(ctx: SuiteContext, newJob: (i: number) => Promise<FleetJob>): Promise<void> {
  const jobs: FleetJob[] = [];
  const p = ctx.plan.fleet;
  const f = await runFleet(ctx.target, p, async (n) => {
    while (jobs.length < n) jobs.push(await newJob(jobs.length));
    return jobs.slice(0, n);
  }, (m) => ctx.progress(`fleet ${m}`));
  ctx.fleet?.(f);
  const spec = { target: ctx.target, group: "scalability", params: { keys: p.keys, interval_ms: p.intervalMs } } as const;
  const thresholds = `thresholds p99 <= ${p.p99LimitMs} ms, errors <= ${(p.errorRateLimit * 100).toFixed(1)}%`;
  if (!f.knee) {
    // No step within the thresholds: 0 jobs is what the server takes at this load (a drop to it
    // is a regression --baseline sees); there is no throughput at a knee to report.
    if (f.noKnee && f.steps.length) {
      const none = fromSamples({ ...spec, name: "fleet.knee.jobs", unit: "clients", better: "bigger", note: `no knee: ${f.noKnee.why}; ${thresholds}` }, [0]);
      none.noKnee = { reason: f.noKnee.reason };
      ctx.figure(none);
    }
    return;
  }
  const at = f.steps.find((s) => s.jobs === f.knee!.jobs);
  const note = `stopped: ${f.knee.reason}; ${thresholds}`;
  ctx.figure(fromSamples({ ...spec, name: "fleet.knee.jobs", unit: "clients", better: "bigger", note }, [f.knee.jobs]));
  const thr = fromSamples({ ...spec, name: "fleet.knee.throughput", unit: "points/s", better: "bigger", note: `${note}; sustained over ${at?.seconds.toFixed(1) ?? "?"} s of wall clock`, lowSamplesWhy: "one load step" }, [f.knee.pointsPerSec]);
  thr.samples = Math.max(1, at?.requests ?? 1);
  if (thr.samples >= 1000) delete thr.lowSamples, delete thr.lowSamplesWhy;
  ctx.figure(thr);
}
