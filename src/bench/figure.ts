/**
 * One measured figure: a headline value with its unit, the direction that is better, how many
 * samples it rests on and their spread. Everything a report shows is a list of these.
 */
import { meanInterval, medianInterval, spreadOf, type Interval, type Spread } from "./stats.ts";

export type Unit = "ms" | "points/s" | "requests/s" | "MB/s" | "bytes" | "ratio" | "clients" | "count";
export type Better = "smaller" | "bigger";
/** Where a figure was measured: a backend in a mode, or the harness itself. */
export type Target = "mlflow-native" | "mlflow-docker" | "mlflow-url" | "wandb-url" | "clearml-url" | "wandb-offline" | "clearml-offline" | "python-baseline" | "harness";
export type Group = "throughput" | "sdk" | "artifacts" | "api" | "memory" | "overhead" | "scalability" | "ceiling";

export interface Figure {
  /** Stable across runs: what --baseline matches on. */
  id: string;
  target: Target;
  group: Group;
  /** What was measured, without the target ("http.log_batch.latency"). */
  name: string;
  params: Record<string, string | number>;
  unit: Unit;
  better: Better;
  /** The headline: p50 for latencies, the mean (or the single measurement) otherwise. */
  value: number;
  samples: number;
  spread: Spread;
  /** 95 % interval of the headline: the median's (order statistics) for latencies, the mean's (bootstrap) otherwise. */
  ci?: Interval;
  /** Set when a latency, or a rate or ratio built from timed calls or steps, rests on fewer than 1000 samples. */
  lowSamples?: boolean;
  /** Why it has fewer samples (each call's cost against the time budget). */
  lowSamplesWhy?: string;
  /** Calls that failed while the figure was measured: counted, not among its samples. */
  errors?: number;
  note?: string;
  /**
   * Set on a knee figure (scale.knee.clients, fleet.knee.jobs) when the sweep found no knee: its
   * value 0 is a placeholder, never a measurement, so it is kept out of ratios and numeric
   * baseline changes (the reports say "no knee (reason)" instead).
   */
  noKnee?: { reason: string };
}

/**
 * The no-knee mark of a figure, also for results written before the mark existed (their knee
 * figure only says "no knee: ..." in its note).
 */
export function noKneeOf(f: Pick<Figure, "name" | "note" | "noKnee">): { reason: string } | undefined {
  if (f.noKnee) return f.noKnee;
  if (f.name.includes(".knee.") && f.note?.startsWith("no knee:")) return { reason: "not recorded" };
  return undefined;
}

/** The raw samples behind each figure, kept in memory (not in the JSON) for ratio intervals. */
export const rawSamples = new WeakMap<Figure, readonly number[]>();
/** Units whose figures rest on timed calls: fewer than 1000 of them makes the figure indicative. */
const TIMED_UNITS: readonly Unit[] = ["ms", "points/s", "requests/s", "MB/s"];

export const MIN_PERCENTILE_SAMPLES = 1000;

export function figureId(target: Target, name: string, params: Record<string, string | number>): string {
  const p = Object.entries(params).map(([k, v]) => `${k}=${v}`).join(",");
  return `${target}/${name}${p ? `[${p}]` : ""}`;
}

export interface FigureSpec {
  target: Target;
  group: Group;
  name: string;
  params?: Record<string, string | number>;
  unit: Unit;
  better: Better;
  note?: string;
  /** Why a timed figure has fewer than 1000 samples. */
  lowSamplesWhy?: string;
  /** Calls that failed (not among the samples); the note says so too. */
  errors?: number;
}

/**
 * A figure from raw samples (every one: none is trimmed); latencies (ms) headline their p50 with
 * an order-statistic interval, everything else its mean with a bootstrap interval.
 */
export function fromSamples(spec: FigureSpec, samples: readonly number[]): Figure {
  const spread = spreadOf(samples);
  const params = spec.params ?? {};
  const latency = spec.unit === "ms";
  const low = TIMED_UNITS.includes(spec.unit) && samples.length < MIN_PERCENTILE_SAMPLES;
  const f: Figure = {
    id: figureId(spec.target, spec.name, params),
    target: spec.target,
    group: spec.group,
    name: spec.name,
    params,
    unit: spec.unit,
    better: spec.better,
    value: latency ? spread.p50 : spread.mean,
    samples: samples.length,
    spread,
    ...(samples.length > 1 ? { ci: latency ? medianInterval(samples) : meanInterval(samples) } : {}),
    ...(low ? { lowSamples: true, ...(spec.lowSamplesWhy ? { lowSamplesWhy: spec.lowSamplesWhy } : {}) } : {}),
    ...(spec.errors ? { errors: spec.errors } : {}),
    ...(spec.note || spec.errors ? { note: [spec.note, spec.errors ? `${spec.errors} call${spec.errors === 1 ? "" : "s"} failed, not among the samples` : ""].filter(Boolean).join("; ") } : {}),
  };
  rawSamples.set(f, samples);
  return f;
}

/**
 * A rate measured over wall clock: `count` units in `wallMs`, resting on `samples` timed calls
 * (so it is flagged as they are). Its spread is that of the per-call rates, for the p50/p99.
 */
export function wallClockRate(spec: FigureSpec, count: number, wallMs: number, perCallRates: readonly number[]): Figure {
  const f = fromSamples(spec, perCallRates.length ? perCallRates : [(count * 1000) / wallMs]);
  f.value = (count * 1000) / wallMs;
  delete f.ci; // one wall-clock measurement: no interval of its own
  f.note = [f.note, `${count} over ${(wallMs / 1000).toFixed(2)} s of wall clock`].filter(Boolean).join("; ");
  return f;
}

/** A figure that is one measurement (a peak, a knee): its spread is the value itself. */
export const single = (spec: FigureSpec, value: number): Figure => fromSamples(spec, [value]);
