/**
 * Where adding concurrent clients stops paying: the step-up loop stops at the first step that
 * errs or fails to raise throughput by `minGain` over the best so far; the knee is the step with
 * the best throughput among those that ran without errors.
 */
export interface ScaleStep {
  clients: number;
  /** Points per second, completed requests only. */
  throughput: number;
  requests: number;
  /** Failed calls: counted, not in throughput or latencies. */
  errors: number;
  /** errors / (requests + errors). */
  errorRate?: number;
  seconds: number;
  p50Ms: number;
  p99Ms: number;
  firstError?: string;
}

export interface Knee {
  clients: number;
  throughput: number;
  /** Why stepping stopped. */
  reason: "plateau" | "errors" | "max-clients" | "time-budget";
  error?: string;
}

export function shouldStop(steps: readonly ScaleStep[], minGain = 0.05): Knee["reason"] | undefined {
  const last = steps[steps.length - 1];
  if (!last) return undefined;
  if (last.errors > 0) return "errors";
  const best = Math.max(0, ...steps.slice(0, -1).map((s) => s.throughput));
  if (steps.length > 1 && last.throughput < best * (1 + minGain)) return "plateau";
  return undefined;
}

export function findKnee(steps: readonly ScaleStep[], reason: Knee["reason"]): Knee | null {
  const clean = steps.filter((s) => s.errors === 0);
  if (!clean.length) return null;
  const best = clean.reduce((a, s) => (s.throughput > a.throughput ? s : a));
  const erred = steps.find((s) => s.errors > 0);
  return { clients: best.clients, throughput: best.throughput, reason, ...(erred?.firstError ? { error: erred.firstError } : {}) };
}

/** Why there is no knee (no step ran without errors): stepping starts at 1 client, so that one failed. */
export function noKneeWhy(steps: readonly ScaleStep[]): string {
  const first = steps[0];
  if (!first) return "no step ran";
  return `the first step (${first.clients} client${first.clients === 1 ? "" : "s"}) already failed: ${first.errors} error(s)${first.firstError ? ` (${first.firstError})` : ""}`;
}
