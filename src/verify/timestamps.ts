/**
 * Metric timestamps, judged per point at the precision each backend keeps them:
 * - MLflow stores the client's timestamp as an integer of milliseconds; the adapter hands MLflow
 *   the manifest's own value, so they must be equal to the millisecond.
 * - W&B stamps each history row itself (`_timestamp`, seconds as a double, its own clock when
 *   `wandb.log` runs); the reader gives it in ms, compared within a window around the time the
 *   adapter handed the point over.
 * - ClearML stamps each scalar event itself (ms, its own clock when `report_scalar` creates it); the
 *   adapter reads its clock just before each key's call, compared within a window as for W&B.
 * Points are paired the way compareMetric pairs them: by step, then by order within a step.
 * Each backend's rule is in its descriptor (src/backends/<name>/index.ts, `timestamps`).
 */
import type { MetricPoint } from "./manifest.ts";
import type { ObservedPoint } from "./observed.ts";
import { seriesOfManifest, seriesOfObserved, type Series } from "./series.ts";
import { compareSeries, type TimestampTally } from "./series-compare.ts";

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
export function compareTimestamps(expected: MetricPoint[] | Series, observed: ObservedPoint[] | Series, rule: TimestampRule): TimestampVerdict {
  return timestampVerdict(compareSeries(seriesOfManifest(expected), seriesOfObserved(observed), "exact", rule.toleranceMs).timestamps!, rule);
}

/** The verdict on the pairs series-compare.ts counted. */
export function timestampVerdict(t: TimestampTally, rule: TimestampRule): TimestampVerdict {
  const { paired, none, maxDelta, firstOff } = t;
  const ok = paired > 0 && !none && !t.off;
  const parts: string[] = [];
  if (!paired) parts.push("no point to pair");
  if (none) parts.push(`${none} point(s) without a timestamp`);
  if (firstOff) parts.push(`${t.off} point(s) off, first at step ${firstOff.step} by ${ms(firstOff.actual - firstOff.expected)} ms`);
  const message = ok ? `${paired} timestamps, max |Δ| ${ms(maxDelta)} ms (${rule.rule})` : `${parts.join("; ")} (${rule.rule})`;
  return {
    ok,
    message,
    expected: { points: paired, toleranceMs: rule.toleranceMs, ...(firstOff ? { first: firstOff.expected } : {}) },
    actual: { maxDeltaMs: ms(maxDelta), ...(firstOff ? { first: firstOff.actual, off: t.off } : {}), ...(none ? { withoutTimestamp: none } : {}) },
  };
}
