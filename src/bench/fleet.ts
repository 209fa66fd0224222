/**
 * A training fleet as a load model: N jobs, each logging K metrics every T ms (one log-batch per
 * training step, the way an SDK in synchronous mode logs) and, optionally, an artifact every M
 * steps. A job whose log call takes longer than T starts its next one at once and falls behind,
 * which is what a GPU waiting on logging does. Jobs are stepped up 1, 2, 4, 8 ... until the p99
 * log latency or the error rate crosses its threshold, the sustained throughput stops rising, the
 * next step would offer more requests than --max-rps, or the time budget ends.
 */
import { interrupted } from "../runtime/lifecycle.ts";
import { InterruptedError } from "../util/errors.ts";
import { percentile } from "./stats.ts";

export interface FleetPlan {
  /** Metrics per log call (K). */
  keys: number;
  /** Milliseconds between a job's training steps (T). */
  intervalMs: number;
  /** An artifact every M steps (0: none). */
  artifactEvery: number;
  artifactBytes: number;
  stepSeconds: number;
  maxJobs: number;
  budgetSeconds: number;
  /** A step whose p99 log latency exceeds this is past the knee (default: T, the job falls behind). */
  p99LimitMs: number;
  /** A step whose share of failed calls exceeds this is past the knee. */
  errorRateLimit: number;
  /** Requests per second the whole fleet may offer (--max-rps); undefined: no cap. */
  maxRps?: number;
}

export interface FleetStep {
  jobs: number;
  /** Points per second the jobs would log if every call returned within T. */
  offeredPointsPerSec: number;
  /** Points the server accepted per second of wall clock: the sustained throughput. */
  pointsPerSec: number;
  requests: number;
  errors: number;
  errorRate: number;
  artifacts: number;
  seconds: number;
  /** Log-call latency under this load: every call, none trimmed. */
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Calls that started late because the job's previous call had not returned within T. */
  lateCalls: number;
  firstError?: string;
}

export type FleetStop = "p99" | "errors" | "plateau" | "max-jobs" | "max-rps" | "time-budget";

export interface FleetKnee {
  jobs: number;
  pointsPerSec: number;
  p99Ms: number;
  reason: FleetStop;
}

export interface FleetSeries {
  target: string;
  /** Uvicorn workers of the server, when e2e started it. */
  workers?: number;
  plan: Omit<FleetPlan, "maxRps"> & { maxRps?: number };
  steps: FleetStep[];
  /** The best step within both thresholds; null when no step was (see noKnee). */
  knee?: FleetKnee | null;
  /** Why there is no knee, when knee is null: the first step (1 job) already crossed a threshold. */
  noKnee?: { reason: FleetStop; why: string };
}

export interface FleetJob {
  /** One training step's log call (K metrics at step `step`). */
  log(step: number): Promise<void>;
  /** One artifact upload. */
  artifact?(step: number): Promise<void>;
}

/** One load step: `jobs` jobs for `seconds`. */
export async function fleetStep(jobs: FleetJob[], p: FleetPlan): Promise<FleetStep> {
  const latencies: number[] = [];
  let errors = 0;
  let artifacts = 0;
  let late = 0;
  let firstError: string | undefined;
  const start = performance.now();
  const end = start + p.stepSeconds * 1000;
  await Promise.all(
    jobs.map(async (job, j) => {
      // Spread the jobs' phases over one interval, as independent jobs would be.
      let next = start + (j * p.intervalMs) / jobs.length;
      for (let step = 0; !interrupted(); step++) {
        const wait = next - performance.now();
        if (wait > 0) await Bun.sleep(wait);
        else if (step > 0) late++;
        if (performance.now() >= end) return;
        const t = performance.now();
        try {
          await job.log(step);
          latencies.push(performance.now() - t);
        } catch (err) {
          errors++;
          firstError ??= (err as Error).message.slice(0, 200);
          if (errors > 20 && errors > latencies.length) return; // a dead server: stop hammering it
        }
        if (p.artifactEvery > 0 && job.artifact && step > 0 && step % p.artifactEvery === 0) {
          try {
            await job.artifact(step);
            artifacts++;
          } catch (err) {
            errors++;
            firstError ??= `artifact: ${(err as Error).message.slice(0, 190)}`;
          }
        }
        next += p.intervalMs;
      }
    }),
  );
  const s = interrupted();
  if (s) throw new InterruptedError(s);
  const seconds = (performance.now() - start) / 1000;
  const sorted = latencies.sort((a, b) => a - b);
  const calls = latencies.length + errors;
  return {
    jobs: jobs.length,
    offeredPointsPerSec: (jobs.length * p.keys * 1000) / p.intervalMs,
    pointsPerSec: (latencies.length * p.keys) / seconds,
    requests: latencies.length,
    errors,
    errorRate: calls ? errors / calls : 0,
    artifacts,
    seconds,
    p50Ms: percentile(sorted, 0.5) || 0,
    p99Ms: percentile(sorted, 0.99) || 0,
    maxMs: sorted[sorted.length - 1] ?? 0,
    lateCalls: late,
    ...(firstError ? { firstError } : {}),
  };
}

/** Whether stepping stops after the last step, and why. */
export function fleetShouldStop(steps: readonly FleetStep[], p: FleetPlan, minGain = 0.05): FleetStop | undefined {
  const last = steps[steps.length - 1];
  if (!last) return undefined;
  if (last.errorRate > p.errorRateLimit) return "errors";
  if (last.p99Ms > p.p99LimitMs) return "p99";
  const best = Math.max(0, ...steps.slice(0, -1).map((s) => s.pointsPerSec));
  if (steps.length > 1 && last.pointsPerSec < best * (1 + minGain)) return "plateau";
  return undefined;
}

/** The knee: the best sustained throughput among the steps within both thresholds; null when none is. */
export function fleetKnee(steps: readonly FleetStep[], p: FleetPlan, reason: FleetStop): FleetKnee | null {
  const ok = steps.filter((s) => s.errorRate <= p.errorRateLimit && s.p99Ms <= p.p99LimitMs);
  if (!ok.length) return null;
  const best = ok.reduce((a, s) => (s.pointsPerSec > a.pointsPerSec ? s : a));
  return { jobs: best.jobs, pointsPerSec: best.pointsPerSec, p99Ms: best.p99Ms, reason };
}

/**
 * Why there is no knee: no step stayed within both thresholds. Stepping stops at the first step
 * that crosses one, so that was the first step; a knee of "0 jobs, 0 points/s" would read as a
 * measurement, which it is not.
 */
export function noKneeWhy(steps: readonly FleetStep[], p: FleetPlan): string {
  const first = steps[0];
  if (!first) return p.maxRps !== undefined ? `--max-rps ${p.maxRps} allows not even 1 job (${jobRps(1, p).toFixed(1)} requests/s)` : "no load step ran";
  const crossed =
    first.errorRate > p.errorRateLimit
      ? `the error threshold: ${(first.errorRate * 100).toFixed(1)}% of calls failed > ${(p.errorRateLimit * 100).toFixed(1)}%${first.firstError ? ` (${first.firstError})` : ""}`
      : `the p99 threshold: p99 ${first.p99Ms.toFixed(1)} ms > ${p.p99LimitMs} ms (one job of ${p.keys} metrics every ${p.intervalMs} ms already falls behind)`;
  return `the first step (${first.jobs} job${first.jobs === 1 ? "" : "s"}) already crossed ${crossed}`;
}

/** Requests per second n jobs offer: a log call every interval, an artifact every M of them. */
const jobRps = (n: number, p: FleetPlan) => (n * 1000) / p.intervalMs + (p.artifactEvery ? (n * 1000) / (p.intervalMs * p.artifactEvery) : 0);

/** Job counts 1, 2, 4 ... up to maxJobs, stopping before one that would offer more than maxRps. */
export function jobLadder(p: FleetPlan): { counts: number[]; cappedByRps: boolean } {
  const counts: number[] = [];
  let capped = false;
  for (let n = 1; n <= p.maxJobs; n *= 2) {
    if (p.maxRps !== undefined && jobRps(n, p) > p.maxRps) {
      capped = true;
      break;
    }
    counts.push(n);
  }
  return { counts, cappedByRps: capped };
}

/**
 * Step the fleet up. `makeJobs(n)` returns n jobs (it may create runs as needed); the series
 * carries every step's figures, whatever stopped it.
 */
export async function runFleet(target: string, p: FleetPlan, makeJobs: (n: number) => Promise<FleetJob[]>, progress: (m: string) => void): Promise<FleetSeries> {
  const series: FleetSeries = { target, plan: { ...p }, steps: [] };
  const { counts, cappedByRps } = jobLadder(p);
  const deadline = Date.now() + p.budgetSeconds * 1000;
  let reason: FleetStop = cappedByRps ? "max-rps" : "max-jobs";
  for (const n of counts) {
    if (series.steps.length && Date.now() + p.stepSeconds * 1000 > deadline) {
      reason = "time-budget";
      break;
    }
    const step = await fleetStep(await makeJobs(n), p);
    series.steps.push(step);
    progress(`${n} job(s): ${Math.round(step.pointsPerSec)} of ${Math.round(step.offeredPointsPerSec)} points/s, p99 ${step.p99Ms.toFixed(1)} ms, ${step.errors} error(s)`);
    const stop = fleetShouldStop(series.steps, p);
    if (stop) {
      reason = stop;
      break;
    }
  }
  series.knee = fleetKnee(series.steps, p, reason);
  if (!series.knee) series.noKnee = { reason, why: noKneeWhy(series.steps, p) };
  return series;
}
