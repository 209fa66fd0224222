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
  errors: number;
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

export function findKnee(steps: readonly ScaleStep[], reason: Knee["reason"]): Knee | undefined {
  const clean = steps.filter((s) => s.errors === 0);
  if (!clean.length) {
    const first = steps[0];
    return first ? { clients: 0, throughput: 0, reason: "errors", error: first.firstError } : undefined;
  }
  const best = clean.reduce((a, s) => (s.throughput > a.throughput ? s : a));
  const erred = steps.find((s) => s.errors > 0);
  return { clients: best.clients, throughput: best.throughput, reason, ...(erred?.firstError ? { error: erred.firstError } : {}) };
}
