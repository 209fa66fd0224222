/**
 * The Python side: python/bench/sdk_bench.py once per SDK target, each in its own process (its
 * peak memory is its own), one after the other (on 2 cores a neighbour would be measured too).
 * Its JSON line becomes figures: per-step log latency (p50/p99/max), logging throughput, the
 * training-step overhead ratio measured side by side, finish time and peak RSS.
 */
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { spawnManaged } from "../runtime/process.ts";
import { backendError } from "../util/errors.ts";
import { fromSamples, wallClockRate, type Figure, type Target } from "./figure.ts";
import { pollGroupMemory } from "./memory.ts";
import type { BenchPlan, SdkTarget } from "./plan.ts";
import { median, medianInterval } from "./stats.ts";

export interface SdkOutput {
  backend: string;
  mode: string;
  keys: number;
  initMs: number;
  logLatencyMs: number[];
  plainStepMs: number[];
  trackedStepMs: number[];
  finishMs: number;
  peakRssBytes: number | null;
  rssBeforeTrackingBytes: number | null;
  points: number;
  /** Wall clock of the per-step phase, and of the flush after it. */
  logPhaseMs?: number;
  flushMs?: number;
  /** MLflow async mode: whether its queue was active, per call when its batch reached the server, queue depth, caller CPU. */
  async?: { asyncEngaged: boolean; flushedMs: number[]; queueDepth: number[]; callCpuMs: number[]; threads: number; bufferSeconds?: string | null } | null;
}

export const sdkTargetOf = (t: SdkTarget): Target =>
  t.backend === "none" ? "python-baseline" : t.backend === "mlflow" ? "mlflow-native" : t.backend === "wandb" ? "wandb-offline" : "clearml-offline";

export function sdkEnv(t: SdkTarget, work: string): Record<string, string> {
  const env: Record<string, string> = { PYTHONUNBUFFERED: "1", PYTHONWARNINGS: "ignore" };
  if (t.backend === "mlflow") Object.assign(env, { MLFLOW_ENABLE_ASYNC_LOGGING: "false", MLFLOW_ASYNC_LOGGING_BUFFERING_SECONDS: t.mode === "buffered" ? "1" : undefined });
  if (t.backend === "wandb")
    Object.assign(env, { WANDB_MODE: "offline", WANDB_SILENT: "true", WANDB_CONSOLE: "off", WANDB_DIR: work, WANDB_CONFIG_DIR: join(work, "wandb-config"), WANDB_CACHE_DIR: join(work, "wandb-cache"), WANDB_DATA_DIR: join(work, "wandb-data") });
  if (t.backend === "clearml") Object.assign(env, { CLEARML_OFFLINE_MODE: "1" });
  for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
  return env;
}

export async function runSdkTarget(o: { python: string; script: string; target: SdkTarget; plan: BenchPlan; work: string; trackingUri?: string; onProgress?: (line: string) => void }): Promise<SdkOutput & { treePeakRssBytes: number }> {
  const { target: t, plan } = o;
  const work = join(o.work, `sdk-${t.backend}-${t.mode}`);
  await mkdir(work, { recursive: true });
  const logFile = join(work, "sdk-bench.log");
  let result: SdkOutput | undefined;
  const argv = [o.python, o.script, "--backend", t.backend, "--mode", t.mode, "--steps", String(plan.sdk.steps), "--keys", String(plan.sdk.keys),
    "--blocks", String(plan.sdk.blocks), "--block-steps", String(plan.sdk.blockSteps), "--budget-s", String(plan.sdk.budgetSeconds), "--work", work, ...(o.trackingUri ? ["--tracking-uri", o.trackingUri] : [])];
  const env = sdkEnv(t, work);
  // The buffering variable is only set for the buffered mode: unset it for the others.
  const proc = spawnManaged(argv, {
    name: `sdk bench ${t.backend}/${t.mode}`,
    cwd: work,
    logFile,
    deathShim: o.python,
    env: { ...env, MLFLOW_ASYNC_LOGGING_BUFFERING_SECONDS: env.MLFLOW_ASYNC_LOGGING_BUFFERING_SECONDS },
    onStdoutLine: (line) => {
      if (line.startsWith("E2E_BENCH ")) result = JSON.parse(line.slice(10)) as SdkOutput;
      else if (line.startsWith("E2E_PROGRESS ")) {
        const p = JSON.parse(line.slice(13)) as { phase: string; done: number; total: number };
        o.onProgress?.(`${p.phase} ${p.done}/${p.total}`);
      }
    },
  });
  const mem = pollGroupMemory(proc.pid, 100);
  const timeout = setTimeout(() => void proc.stop(), (plan.profile === "quick" ? 180 : 900) * 1000);
  const code = await proc.exited;
  clearTimeout(timeout);
  const tree = mem.stop();
  if (code !== 0 || !result) {
    const tail = (await readFile(logFile, "utf8").catch(() => "")).trim().split("\n").slice(-12).join("\n");
    throw backendError(`sdk bench ${t.backend}/${t.mode} exited with code ${code}${result ? "" : " and no result"}`, `read ${logFile}`, tail);
  }
  return { ...result, treePeakRssBytes: tree.peakRssBytes };
}

/** Figures of one SDK run; `baseline` is the untracked process's output (for the memory ratio). */
export function sdkFigures(t: SdkTarget, out: SdkOutput & { treePeakRssBytes: number }, plan?: Pick<BenchPlan, "sdk">): Figure[] {
  const target = sdkTargetOf(t);
  const params = { mode: t.mode, keys: out.keys };
  const figs: Figure[] = [];
  if (t.backend !== "none") {
    const n = out.logLatencyMs.length;
    // Why fewer than 1000: the log phase's time budget ended it before its step count.
    const short = plan && n < plan.sdk.steps ? `${n} log calls of about ${median(out.logLatencyMs).toFixed(2)} ms fit the ${plan.sdk.budgetSeconds} s budget of the log phase` : undefined;
    const spec = { target, params, ...(short ? { lowSamplesWhy: short } : {}) } as const;
    figs.push(fromSamples({ ...spec, group: "sdk", name: "sdk.log_step.latency", unit: "ms", better: "smaller", note: "one log call per step; see p99 and max for flush spikes" }, out.logLatencyMs));
    const points = out.logLatencyMs.length * out.keys;
    const rates = out.logLatencyMs.map((ms) => (out.keys * 1000) / Math.max(ms, 1e-6));
    figs.push(out.logPhaseMs !== undefined
      ? wallClockRate({ ...spec, group: "sdk", name: "sdk.log.throughput", unit: "points/s", better: "bigger", note: "points over the wall clock of the log phase plus the flush after it" }, points, out.logPhaseMs + (out.flushMs ?? 0), rates)
      : wallClockRate({ ...spec, group: "sdk", name: "sdk.log.throughput", unit: "points/s", better: "bigger", note: "points over the time in log calls plus finish" }, points, out.logLatencyMs.reduce((a, v) => a + v, 0) + out.finishMs, rates));
    const a = out.async;
    if (a) {
      const engaged = a.asyncEngaged ? "async queue active" : "async queue NOT active: the SDK logged synchronously";
      const aspec = { ...spec, group: "sdk" as const, note: `${engaged}; ${a.threads} Python threads at the end of the phase${a.bufferSeconds ? `; buffering ${a.bufferSeconds} s` : ""}` };
      if (a.flushedMs.length) figs.push(fromSamples({ ...aspec, name: "sdk.async.until_logged.latency", unit: "ms", better: "smaller", note: `${aspec.note}; from the log call until its batch's future completed (the server answered)` }, a.flushedMs));
      if (a.callCpuMs.length) figs.push(fromSamples({ ...aspec, name: "sdk.async.call_cpu.latency", unit: "ms", better: "smaller", note: `${aspec.note}; CPU time of the calling thread inside the log call: wall time above it is waiting (GIL, scheduler)` }, a.callCpuMs));
      if (a.queueDepth.length) figs.push(fromSamples({ ...aspec, name: "sdk.async.queue_depth", unit: "count", better: "smaller", note: `${aspec.note}; batches logged but not yet answered by the server after each call (the backlog; mean, max in the spread)` }, a.queueDepth));
    }
    figs.push(fromSamples({ ...spec, group: "sdk", name: "sdk.finish.latency", unit: "ms", better: "smaller", note: "end of run: queue drain, flush, close", lowSamplesWhy: "one end of run per SDK process" }, [out.finishMs]));
    // Side by side: each tracked step over the median plain step of the same process.
    const plain = median(out.plainStepMs);
    const ratio = fromSamples({ ...spec, group: "overhead", name: "sdk.train_step.overhead", unit: "ratio", better: "smaller", note: "tracked step time / plain step time, interleaved blocks in one process" }, out.trackedStepMs.map((ms) => ms / plain));
    // The headline is the median ratio: its interval is the median's, not the mean's.
    ratio.value = median(out.trackedStepMs) / plain;
    if (out.trackedStepMs.length > 1) ratio.ci = medianInterval(out.trackedStepMs.map((ms) => ms / plain));
    // A ratio of timed steps: indicative, like a latency, below 1000 of them.
    const steps = out.trackedStepMs.length;
    if (steps < 1000) {
      ratio.lowSamples = true;
      ratio.lowSamplesWhy = `${steps} tracked steps beside ${out.plainStepMs.length} plain ones${plan ? ` (up to ${plan.sdk.blocks} interleaved blocks of ${plan.sdk.blockSteps} each, cut at ${plan.sdk.budgetSeconds} s)` : ""}`;
    }
    figs.push(ratio);
  }
  const mparams: Record<string, string> = t.backend === "none" ? {} : { mode: t.mode };
  if (out.peakRssBytes) figs.push(fromSamples({ target, group: "memory", name: "memory.training.peak_rss", params: mparams, unit: "bytes", better: "smaller", note: "VmHWM of the training process" }, [out.peakRssBytes]));
  if (out.treePeakRssBytes) figs.push(fromSamples({ target, group: "memory", name: "memory.training.tree_peak_rss", params: mparams, unit: "bytes", better: "smaller", note: "polled sum of RSS over the process group (SDK helper processes included)" }, [out.treePeakRssBytes]));
  return figs;
}
