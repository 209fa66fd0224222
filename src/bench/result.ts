/**
 * The bench result document (docs/schema/bench-result.schema.json): environment, every figure,
 * the scalability steps with their knee, and the ratios between targets of the same run.
 */
import type { Figure, Target } from "./figure.ts";
import type { Knee, ScaleStep } from "./knee.ts";
import type { Comparison } from "./baseline.ts";
import type { ReporterFailure } from "../report/reporter.ts";
import type { BenchPlan } from "./plan.ts";
import type { FleetSeries } from "./fleet.ts";
import type { CleanupReport } from "./remote.ts";
import type { CeilingRow } from "./ceiling.ts";
import { noKneeOf, rawSamples } from "./figure.ts";
import { ratioInterval, type Interval } from "./stats.ts";

export const BENCH_RESULT_SCHEMA = "e2e/bench-result/v1";

export interface ScaleSeries {
  target: Target;
  /** Uvicorn workers of the server, when e2e started it. */
  workers?: number;
  batch: number;
  steps: ScaleStep[];
  /** The best step without errors; null when none was (see noKnee). */
  knee?: Knee | null;
  /** Why there is no knee, when knee is null: the first step (1 client) already failed. */
  noKnee?: { reason: Knee["reason"]; why: string };
}

export interface Ratio {
  /** What is compared ("sdk.log_step.latency"), numerator over denominator. */
  name: string;
  numerator: string;
  denominator: string;
  value: number;
  /** 95 % interval of the ratio of medians, when both figures are latencies with their samples. */
  ci?: Interval;
  /** Either figure rests on fewer than 1000 samples: the ratio is as indicative as they are. */
  lowSamples?: boolean;
}

export interface BenchError {
  target: string;
  stage: string;
  message: string;
}

export interface BenchRetry {
  target: string;
  /** The request and the name of what it creates ("runs/create client-3"). */
  what: string;
  /** The attempt that failed (1: the first). */
  attempt: number;
  message: string;
}

export interface BenchResult {
  schema: typeof BENCH_RESULT_SCHEMA;
  e2eVersion: string;
  status: "running" | "complete" | "interrupted" | "error";
  profile: BenchPlan["profile"];
  startedAt: string;
  finishedAt?: string;
  durationMs?: number;
  estimatedSeconds: number;
  environment: Record<string, unknown>;
  figures: Figure[];
  scalability: ScaleSeries[];
  /** The training-fleet load steps of each server, with the knee. */
  fleet: FleetSeries[];
  ratios: Ratio[];
  /** The harness ceiling judged per figure against the goals (src/bench/ceiling.ts). */
  ceiling?: CeilingRow[];
  /** What `--url` removed from the user's server afterwards, and what stays. */
  cleanup?: CleanupReport;
  errors: BenchError[];
  /** Set-up requests sent again after a transient failure (faults.ts); absent when none was. */
  retries?: BenchRetry[];
  comparison?: Comparison;
  /** Reports that could not be written; they never change the measurements or the exit code. */
  reportErrors?: ReporterFailure[];
}

const sameParams = (a: Figure, b: Figure) => JSON.stringify(a.params) === JSON.stringify(b.params);

/** The figures `f` is divided by: see ratiosOf. */
function referencesOf(f: Figure, all: readonly Figure[]): Figure[] {
  const peers = all.filter((g) => g !== f && g.name === f.name);
  const refs: (Figure | undefined)[] = [];
  if (f.name.startsWith("memory.training")) {
    if (f.target !== "python-baseline") refs.push(peers.find((g) => g.target === "python-baseline"));
  } else if (f.name.startsWith("sdk.")) {
    const isRef = (g: Figure) => g.target === "mlflow-native" && g.params.mode === "sync" && g.params.keys === f.params.keys;
    if (!isRef(f)) refs.push(peers.find(isRef));
  } else {
    if (f.target !== "harness" && (f.name.startsWith("http.") || f.name.startsWith("scale."))) refs.push(peers.find((g) => g.target === "harness" && sameParams(f, g)));
    if (f.target === "mlflow-docker") refs.push(peers.find((g) => g.target === "mlflow-native" && sameParams(f, g)));
    // A direct artifact store over the server's proxy, same sizes: what --serve-artifacts costs.
    if (f.name.startsWith("direct.artifact.")) refs.push(all.find((g) => g.target === f.target && g.name === f.name.replace(/^direct\./, "http.") && sameParams(f, g)));
    // N workers over 1 worker: what the workers buy.
    if (f.params.workers !== undefined) {
      const { workers: _w, ...rest } = f.params;
      refs.push(peers.find((g) => g.target === f.target && g.params.workers === undefined && JSON.stringify(g.params) === JSON.stringify(rest)));
    }
  }
  return refs.filter((r): r is Figure => !!r);
}

/** A pair of figures that a ratio would compare but cannot: one side found no knee. */
export interface Incomparable {
  name: string;
  numerator: string;
  denominator: string;
  /** "no knee (p99) on mlflow-native": which side has no figure, and why. */
  why: string;
}

const noKneeText = (f: Figure) => {
  const nk = noKneeOf(f);
  return nk ? `no knee (${nk.reason}) on ${f.id}` : undefined;
};

/**
 * The pairs ratiosOf leaves out because a knee figure on either side is a no-knee placeholder
 * (value 0, not a measurement): the reports list them as not comparable instead of a 0 or a
 * division by 0.
 */
export function incomparableOf(figures: readonly Figure[]): Incomparable[] {
  const out: Incomparable[] = [];
  for (const f of figures)
    for (const ref of referencesOf(f, figures)) {
      const why = [noKneeText(f), noKneeText(ref)].filter(Boolean).join("; ");
      if (why) out.push({ name: f.name, numerator: f.id, denominator: ref.id, why });
    }
  return out;
}

/**
 * Ratios between targets measured in this run, each figure over the same figure measured on its
 * reference: HTTP figures over the harness ceiling (the loopback sink), N workers over 1, SDK figures over MLflow's
 * synchronous logging, training memory over the untracked Python process, docker over native.
 */
export function ratiosOf(figures: readonly Figure[]): Ratio[] {
  const out: Ratio[] = [];
  for (const f of figures) {
    if (!Number.isFinite(f.value)) continue;
    if (noKneeOf(f)) continue;
    for (const ref of referencesOf(f, figures)) {
      if (!(ref.value > 0) || noKneeOf(ref)) continue;
      const a = rawSamples.get(f);
      const b = rawSamples.get(ref);
      const ci = f.unit === "ms" && ref.unit === "ms" && a && b && a.length > 5 && b.length > 5 ? ratioCi(f, ref, a, b) : undefined;
      out.push({ name: f.name, numerator: f.id, denominator: ref.id, value: f.value / ref.value, ...(ci ? { ci } : {}), ...(f.lowSamples || ref.lowSamples ? { lowSamples: true } : {}) });
    }
  }
  return out;
}

const ciCache = new WeakMap<Figure, WeakMap<Figure, Interval | null>>();
/** Ratio intervals sort both sample sets: computed once per pair, the result is saved often. */
function ratioCi(f: Figure, ref: Figure, a: readonly number[], b: readonly number[]): Interval | undefined {
  let m = ciCache.get(f);
  if (!m) ciCache.set(f, (m = new WeakMap()));
  if (!m.has(ref)) m.set(ref, ratioInterval(a, b) ?? null);
  return m.get(ref) ?? undefined;
}
