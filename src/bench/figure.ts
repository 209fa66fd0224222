/**
 * One measured figure: a headline value with its unit, the direction that is better, how many
 * samples it rests on and their spread. Everything a report shows is a list of these.
 */
import { spreadOf, type Spread } from "./stats.ts";

export type Unit = "ms" | "points/s" | "requests/s" | "MB/s" | "bytes" | "ratio" | "clients";
export type Better = "smaller" | "bigger";
/** Where a figure was measured: a backend in a mode, or the harness itself. */
export type Target = "mlflow-native" | "mlflow-docker" | "wandb-offline" | "clearml-offline" | "python-baseline" | "harness";
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
  /** Set when a latency's percentiles rest on fewer than 1000 samples. */
  lowSamples?: boolean;
  note?: string;
}

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
}

/** A figure from raw samples; latencies (ms) headline their p50, everything else its mean. */
export function fromSamples(spec: FigureSpec, samples: readonly number[]): Figure {
  const spread = spreadOf(samples);
  const params = spec.params ?? {};
  const latency = spec.unit === "ms";
  return {
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
    ...(latency && samples.length > 1 && samples.length < MIN_PERCENTILE_SAMPLES ? { lowSamples: true } : {}),
    ...(spec.note ? { note: spec.note } : {}),
  };
}

/** A figure that is one measurement (a peak, a knee): its spread is the value itself. */
export const single = (spec: FigureSpec, value: number): Figure => fromSamples(spec, [value]);
