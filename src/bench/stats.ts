/** Spread of a set of samples: what every figure carries beside its headline value. */
export interface Spread {
  min: number;
  max: number;
  mean: number;
  stddev: number;
  p50: number;
  p95: number;
  p99: number;
}

/** Linear-interpolated percentile of an ascending array, q in [0, 1]. */
export function percentile(sorted: readonly number[], q: number): number {
  if (!sorted.length) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

export function spreadOf(samples: readonly number[]): Spread {
  if (!samples.length) throw new Error("no samples");
  const s = [...samples].sort((a, b) => a - b);
  const mean = s.reduce((a, v) => a + v, 0) / s.length;
  const variance = s.length > 1 ? s.reduce((a, v) => a + (v - mean) ** 2, 0) / (s.length - 1) : 0;
  return { min: s[0]!, max: s[s.length - 1]!, mean, stddev: Math.sqrt(variance), p50: percentile(s, 0.5), p95: percentile(s, 0.95), p99: percentile(s, 0.99) };
}

export const median = (samples: readonly number[]) => percentile([...samples].sort((a, b) => a - b), 0.5);
