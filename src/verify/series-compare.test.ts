/**
 * The columnar comparator (series-compare.ts) against the object-per-point comparator it replaced
 * (kept here, verbatim, as the reference): on random runs with missing, extra, duplicated,
 * reordered, changed and non-finite points and shifted timestamps, both give the same verdict,
 * message and evidence.
 */
import { describe, expect, test } from "bun:test";
import { compareMetric } from "./compare.ts";
import { compareTimestamps, type TimestampRule } from "./timestamps.ts";
import type { MetricPoint } from "./manifest.ts";
import type { ObservedPoint } from "./observed.ts";
import { mulberry32 } from "../util/prng.ts";
// Readers hand non-finite doubles over as strings (observed.ts); the evidence shows them so.
import { seriesOfManifest, seriesOfObserved, SeriesBuilder, shownValue } from "./series.ts";

// ---- reference: compare.ts and timestamps.ts before the columns ----
const f32 = new Float32Array(1);
const toF32 = (x: number) => ((f32[0] = x), f32[0]!);
function refValuesEqual(expected: MetricPoint[1], actual: number | string, precision: "exact" | "float32" = "exact"): boolean {
  const e = typeof expected === "string" ? Number(expected) : expected;
  const a = typeof actual === "string" ? Number(actual) : actual;
  if (Number.isNaN(e)) return Number.isNaN(a);
  return precision === "float32" ? toF32(e) === toF32(a) : e === a;
}
const preview = (xs: number[]) => (xs.length > 5 ? `${xs.slice(0, 5).join(", ")} … (${xs.length})` : xs.join(", "));
function refCompareMetric(key: string, expected: MetricPoint[], observed: ObservedPoint[] | undefined, precision: "exact" | "float32" = "exact") {
  if (!observed) return { ok: false, message: `metric ${key} is missing`, expected: `${expected.length} points`, actual: "absent" };
  const byStep = new Map<number, ObservedPoint[]>();
  for (const p of observed) byStep.set(p.step, [...(byStep.get(p.step) ?? []), p]);
  const missing: number[] = [];
  const changed: { step: number; expected: unknown; actual: unknown }[] = [];
  const expSteps = new Map<number, MetricPoint[]>();
  for (const p of expected) expSteps.set(p[0], [...(expSteps.get(p[0]) ?? []), p]);
  for (const [step, pts] of expSteps) {
    const got = byStep.get(step) ?? [];
    if (got.length < pts.length) missing.push(step);
    const unused = [...got];
    const unmatched = pts.filter((p) => {
      const i = unused.findIndex((g) => refValuesEqual(p[1], g.value, precision));
      if (i < 0) return true;
      unused.splice(i, 1);
      return false;
    });
    unmatched.forEach((p, i) => {
      const g = unused[i];
      if (g) changed.push({ step, expected: p[1], actual: g.value });
    });
  }
  const extra: number[] = [];
  for (const [step, got] of byStep) if (got.length > (expSteps.get(step)?.length ?? 0)) extra.push(step);
  const ok = !missing.length && !changed.length && !extra.length;
  const parts = [`${observed.length}/${expected.length} points`];
  if (missing.length) parts.push(`missing steps ${preview(missing)}`);
  if (extra.length) parts.push(`unexpected or duplicate steps ${preview(extra)}`);
  if (changed.length) parts.push(`changed values at steps ${preview(changed.map((c) => c.step))}`);
  return {
    ok,
    message: ok ? `all ${expected.length} points match${precision === "float32" ? " (float32)" : ""}` : parts.join("; "),
    expected: { points: expected.length, ...(changed[0] ? { firstChanged: changed[0].expected } : {}) },
    actual: { points: observed.length, ...(changed[0] ? { firstChanged: changed[0].actual } : {}), ...(missing.length ? { missing: missing.slice(0, 10) } : {}), ...(extra.length ? { extra: extra.slice(0, 10) } : {}) },
  };
}
const ms = (x: number) => +x.toFixed(3);
function refCompareTimestamps(expected: MetricPoint[], observed: ObservedPoint[], rule: TimestampRule) {
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
    ok, message,
    expected: { points: paired, toleranceMs: rule.toleranceMs, ...(off[0] ? { first: off[0].expected } : {}) },
    actual: { maxDeltaMs: ms(maxDelta), ...(off[0] ? { first: off[0].actual, off: off.length } : {}), ...(none ? { withoutTimestamp: none } : {}) },
  };
}

// ---- random runs ----
const NONFINITE = ["NaN", "Infinity", "-Infinity"] as const;
function randomCase(seed: number) {
  const r = mulberry32(seed);
  const pick = <T,>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)]!;
  const n = Math.floor(r() * 40);
  const expected: MetricPoint[] = [];
  for (let i = 0; i < n; i++) {
    // Mostly increasing steps, sometimes repeated or out of order.
    const step = r() < 0.15 ? Math.floor(r() * n) : i;
    const value: MetricPoint[1] = r() < 0.08 ? pick(NONFINITE) : r() < 0.2 ? Math.floor(r() * 3) : r() * 10;
    expected.push([step, value, 1000 + i * 10]);
  }
  const observed: ObservedPoint[] = expected.map(([step, value, ts]) => ({ step, value, timestamp: ts }));
  const edits = Math.floor(r() * 4);
  for (let e = 0; e < edits && observed.length; e++) {
    const i = Math.floor(r() * observed.length);
    const kind = r();
    if (kind < 0.2) observed.splice(i, 1);
    else if (kind < 0.4) observed.push({ ...observed[i]! });
    else if (kind < 0.5) observed.push({ step: 1000 + i, value: 1, timestamp: 5 });
    else if (kind < 0.65) observed[i] = { ...observed[i]!, value: r() < 0.3 ? pick(NONFINITE) : shownValue(Math.fround(Number(observed[i]!.value) + 1e-9)) };
    else if (kind < 0.8) observed[i] = { ...observed[i]!, timestamp: r() < 0.3 ? undefined : observed[i]!.timestamp! + Math.floor(r() * 40) - 20 };
    else observed.reverse();
  }
  if (r() < 0.3) observed.sort((a, b) => a.step - b.step);
  return { expected, observed, precision: r() < 0.3 ? ("float32" as const) : ("exact" as const), tolerance: pick([0, 5, 15]) };
}

describe("columnar comparator", () => {
  test("same verdict, message and evidence as the per-point reference on 3000 random runs", () => {
    let failing = 0;
    for (let seed = 1; seed <= 3000; seed++) {
      const { expected, observed, precision, tolerance } = randomCase(seed);
      const want = refCompareMetric("m", expected, observed, precision);
      if (!want.ok) failing++;
      expect({ seed, ...compareMetric("m", expected, observed, precision) }).toEqual({ seed, ...want });
      // Columns in, same answer (what the streaming readers hand over).
      expect(compareMetric("m", seriesOfManifest(expected), seriesOfObserved(observed), precision)).toEqual(want);
      const rule = { toleranceMs: tolerance, rule: "test" };
      if (observed.length) expect({ seed, ...compareTimestamps(expected, observed, rule) }).toEqual({ seed, ...refCompareTimestamps(expected, observed, rule) });
    }
    // The cases exercise failures, not only passes.
    expect(failing).toBeGreaterThan(500);
  });

  test("a builder grows past its capacity and keeps every point", () => {
    const b = new SeriesBuilder(2);
    for (let i = 0; i < 1000; i++) b.push(i, i / 3, i * 2);
    const s = b.finish();
    expect(s.length).toBe(1000);
    expect([s.steps[999], s.values[999], s.timestamps[999]]).toEqual([999, 333, 1998]);
  });

  test("a million points compare without an object per point", () => {
    const n = 1_000_000;
    const e = new SeriesBuilder(n), o = new SeriesBuilder(n);
    for (let i = 1; i <= n; i++) {
      e.push(i, i + 0.5, i);
      o.push(i, i === 777_777 ? i : i + 0.5, i);
    }
    const r = compareMetric("big", e.finish(), o.finish());
    expect(r.ok).toBe(false);
    expect(r.message).toBe("1000000/1000000 points; changed values at steps 777777");
  });
});
