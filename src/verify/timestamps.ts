/**
 * Metric timestamps, judged per point at the precision each backend keeps them:
 * - MLflow stores the client's timestamp as an integer of milliseconds; the adapter hands MLflow
 *   the manifest's own value, so they must be equal to the millisecond.
 * - W&B stamps each history row itself (`_timestamp`, seconds as a double, its own clock when
 *   `wandb.log` runs); the reader gives it in ms, compared within a window around the time the
 *   adapter handed the point over.
 * - ClearML stamps each scalar event itself (ms, its own clock at `report_scalar`); same window.
 * Points are paired the way compareMetric pairs them: by step, then by order within a step.
 * Each backend's rule is in its descriptor (src/backends/<name>/index.ts, `timestamps`).
 */
import type { MetricPoint } from "./manifest.ts";
import type { ObservedPoint } from "./observed.ts";

export interface TimestampRule {
  /** Largest |backend - manifest| accepted, in ms. */
  toleranceMs: number;
  /** What the backend stores and why the window is what it is (said in every message). */
  rule: string;
}

/** A reader that cannot see timestamps at all says why: one skip per run, never a silent pass. */
export interface TimestampsUnavailable {
  unavailable: string;
}

export interface TimestampVerdict {
  ok: boolean;
  message: string;
  expected: unknown;
  actual: unknown;
}

const ms = (x: number) => +x.toFixed(3);

/** Compare the timestamp of every paired point; unpaired points are the metric check's business. */
export function compareTimestamps(expected: MetricPoint[], observed: ObservedPoint[], rule: TimestampRule): TimestampVerdict {
  const byStep = new Map<number, ObservedPoint[]>();
  for (const p of observed) byStep.set(p.step, [...(byStep.get(p.step) ?? []), p]);
  const seen = new Map<number, number>();
  let paired = 0, maxDelta = 0, none = 0;
  const off: { step: number; expected: number; actual: number }[] = [];
  for (const [step, , ts] of expected) {
    const i = seen.get(step) ?? 0;
    seen.set(step, i + 1);
    const got = byStep.get(step)?.[i];
    if (!got) continue;
    paired++;
    if (typeof got.timestamp !== "number" || !Number.isFinite(got.timestamp)) {
      none++;
      continue;
    }
    const delta = Math.abs(got.timestamp - ts);
    maxDelta = Math.max(maxDelta, delta);
    if (delta > rule.toleranceMs) off.push({ step, expected: ts, actual: got.timestamp });
  }
  const ok = paired > 0 && !none && !off.length;
  const parts: string[] = [];
  if (!paired) parts.push("no point to pair");
  if (none) parts.push(`${none} point(s) without a timestamp`);
  if (off.length) parts.push(`${off.length} point(s) off, first at step ${off[0]!.step} by ${ms(off[0]!.actual - off[0]!.expected)} ms`);
  const message = ok ? `${paired} timestamps, max |Δ| ${ms(maxDelta)} ms (${rule.rule})` : `${parts.join("; ")} (${rule.rule})`;
  return {
    ok,
    message,
    expected: { points: paired, toleranceMs: rule.toleranceMs, ...(off[0] ? { first: off[0].expected } : {}) },
    actual: { maxDeltaMs: ms(maxDelta), ...(off[0] ? { first: off[0].actual, off: off.length } : {}), ...(none ? { withoutTimestamp: none } : {}) },
  };
}
