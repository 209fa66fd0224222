/**
 * Statistics of raw samples. Nothing is trimmed: the max is the slowest call seen and the p99 is
 * the p99 of every call. Intervals are distribution-free (latencies are skewed and multimodal):
 * order statistics for a median, a seeded bootstrap for a mean, and for a ratio of medians the
 * quotient of the two medians' intervals, each taken at a level that makes the pair jointly hold.
 */
import { mulberry32 } from "../util/prng.ts";

export interface Spread {
  min: number;
  max: number;
  mean: number;
  stddev: number;
  p50: number;
  p95: number;
  p99: number;
}

/** A confidence interval for a figure's headline (its median or its mean). */
export interface Interval {
  of: "p50" | "mean" | "ratio";
  level: number;
  lo: number;
  hi: number;
  method: "order-statistic" | "bootstrap" | "quotient";
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

/** P(X <= k) for X ~ Binomial(n, 1/2), summed in log space (exact up to n of a few thousand). */
function binomHalfCdf(n: number, k: number): number {
  let logPmf = -n * Math.LN2; // P(X = 0)
  let sum = Math.exp(logPmf);
  for (let i = 1; i <= k; i++) {
    logPmf += Math.log((n - i + 1) / i);
    sum += Math.exp(logPmf);
  }
  return sum;
}

/** Standard normal quantile (Acklam's rational approximation, |error| < 1.2e-9). */
export function normalQuantile(p: number): number {
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const poly = (k: number[], x: number) => k.reduce((acc, v) => acc * x + v, 0);
  const q = Math.min(p, 1 - p);
  let x: number;
  if (q < 0.02425) {
    const r = Math.sqrt(-2 * Math.log(q));
    x = poly(c, r) / (poly(d, r) * r + 1); // lower tail: negative
  } else {
    const r = q - 0.5;
    x = (poly(a, r * r) * r) / (poly(b, r * r) * r * r + 1);
  }
  return p < 0.5 ? x : -x;
}

/**
 * Distribution-free interval for the median: [x(j), x(n+1-j)] (1-based order statistics) with
 * the largest j whose binomial tail P(X < j) stays within (1 - level) / 2. Below 6 samples no
 * 95 % interval exists and it is [min, max] at the level it actually has.
 */
export function medianInterval(samples: readonly number[], level = 0.95): Interval {
  const s = [...samples].sort((a, b) => a - b);
  const n = s.length;
  if (!n) throw new Error("no samples");
  const tail = (1 - level) / 2;
  if (n > 2000) {
    const j = Math.max(1, Math.floor(n / 2 - (normalQuantile(1 - tail) * Math.sqrt(n)) / 2));
    return { of: "p50", level, lo: s[j - 1]!, hi: s[n - j]!, method: "order-statistic" };
  }
  // cdf(j) = P(X < j + 1): widen inwards while the next j still keeps each tail within bounds.
  let j = 1;
  while (j + 1 <= Math.ceil(n / 2) && binomHalfCdf(n, j) <= tail) j++;
  const coverage = 1 - 2 * binomHalfCdf(n, j - 1);
  return { of: "p50", level: coverage >= level ? level : round4(coverage), lo: s[j - 1]!, hi: s[n - j]!, method: "order-statistic" };
}


/** Percentile bootstrap of the mean (2000 resamples, seeded). */
export function meanInterval(samples: readonly number[], level = 0.95, resamples = 2000): Interval {
  const n = samples.length;
  if (!n) throw new Error("no samples");
  const rand = mulberry32(0x5eed ^ n);
  const means: number[] = [];
  for (let r = 0; r < resamples; r++) {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += samples[Math.floor(rand() * n)]!;
    means.push(sum / n);
  }
  means.sort((a, b) => a - b);
  const tail = (1 - level) / 2;
  return { of: "mean", level, lo: percentile(means, tail), hi: percentile(means, 1 - tail), method: "bootstrap" };
}

/**
 * Interval for a / b from the intervals of a and b, each at level sqrt(level) (independent
 * samples): when both hold, the quotient lies in [aLo / bHi, aHi / bLo], so it holds at >= level.
 */
export function ratioInterval(a: readonly number[], b: readonly number[], level = 0.95): Interval | undefined {
  const each = Math.sqrt(level);
  const ia = medianInterval(a, each);
  const ib = medianInterval(b, each);
  if (!(ib.lo > 0) || ia.level < each - 1e-9 || ib.level < each - 1e-9) return undefined;
  return { of: "ratio", level, lo: ia.lo / ib.hi, hi: ia.hi / ib.lo, method: "quotient" };
}

const round4 = (x: number) => Math.round(x * 1e4) / 1e4;
