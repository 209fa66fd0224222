/**
 * The metric and timestamp comparison over columns (series.ts): both sides grouped by step, then
 * walked together in step order, so memory is the columns plus one index per point, whatever the
 * point count. The rules are compare.ts's and timestamps.ts's (which call this):
 * - a step is missing when the store holds fewer points at it than were logged, extra (or a
 *   duplicate) when it holds more; several points at one step match in any order (a store returns
 *   them ordered by its own keys), and each logged point left unmatched is a changed value, shown
 *   against the stored point left over;
 * - timestamps pair the i-th logged point at a step with the i-th stored one there.
 * Lists name steps in the order they first appear (logging order for missing and changed, the
 * store's order for extra), as the messages always have.
 */
import { gcPacer } from "../util/gc-pace.ts";
import { FirstSeen, groupBySteps, compareSteps, shownValue, type Series, type StepGroups } from "./series.ts";

export type Precision = "exact" | "float32";

const f32 = new Float32Array(1);
const toF32 = (x: number) => ((f32[0] = x), f32[0]!);

export function numbersEqual(e: number, a: number, precision: Precision = "exact"): boolean {
  if (Number.isNaN(e)) return Number.isNaN(a);
  return precision === "float32" ? toF32(e) === toF32(a) : e === a;
}

export interface MetricVerdict {
  ok: boolean;
  message: string;
  expected: unknown;
  actual: unknown;
}

export interface TimestampTally {
  paired: number;
  none: number;
  maxDelta: number;
  off: number;
  /** The first point off in logging order. */
  firstOff?: { step: number; expected: number; actual: number };
}

export interface SeriesComparison {
  metric: MetricVerdict;
  /** Present when a tolerance was given. */
  timestamps?: TimestampTally;
}

const preview = (xs: number[], count: number) => (count > 5 ? `${xs.slice(0, 5).join(", ")} … (${count})` : xs.join(", "));

export function compareSeries(exp: Series, obs: Series, precision: Precision = "exact", toleranceMs?: number, groups?: { exp?: StepGroups; obs?: StepGroups }): SeriesComparison {
  const E = groups?.exp ?? groupBySteps(exp);
  const O = groups?.obs ?? groupBySteps(obs);
  const missing = new FirstSeen(), extra = new FirstSeen(), changed = new FirstSeen();
  let firstChanged: { rank: number; expected: number; actual: number } | undefined;
  const ts: TimestampTally = { paired: 0, none: 0, maxDelta: 0, off: 0 };
  let firstOffRank = Infinity;
  const unused: number[] = [];
  let ge = 0, go = 0;
  // The walk leaves garbage the collector sizes by the (large) live columns: collected as it goes.
  const pace = gcPacer();
  while (ge < E.groups || go < O.groups) {
    if (((ge + go) & 0xffff) === 0) pace(0x10000 * 32);
    const eLeft = ge < E.groups, oLeft = go < O.groups;
    const es = eLeft ? exp.steps[E.order[E.starts[ge]!]!]! : 0;
    const os = oLeft ? obs.steps[O.order[O.starts[go]!]!]! : 0;
    const c = !eLeft ? 1 : !oLeft ? -1 : compareSteps(es, os);
    const eFrom = c <= 0 ? E.starts[ge]! : 0, eTo = c <= 0 ? E.starts[ge + 1]! : 0;
    const oFrom = c >= 0 ? O.starts[go]! : 0, oTo = c >= 0 ? O.starts[go + 1]! : 0;
    const ne = eTo - eFrom, no = oTo - oFrom;
    const step = c <= 0 ? es : os;
    if (no < ne) missing.add(E.order[eFrom]!, step);
    if (no > ne) extra.add(O.order[oFrom]!, step);
    if (ne && no) {
      // Values: each logged point takes the first stored one left at its step that equals it.
      if (ne === 1 && no === 1) {
        const ei = E.order[eFrom]!, oi = O.order[oFrom]!;
        if (!numbersEqual(exp.values[ei]!, obs.values[oi]!, precision)) {
          changed.add(E.order[eFrom]!, step);
          if (!firstChanged || E.order[eFrom]! < firstChanged.rank) firstChanged = { rank: E.order[eFrom]!, expected: exp.values[ei]!, actual: obs.values[oi]! };
        }
      } else {
        unused.length = 0;
        for (let j = oFrom; j < oTo; j++) unused.push(O.order[j]!);
        const unmatched: number[] = [];
        for (let j = eFrom; j < eTo; j++) {
          const ei = E.order[j]!;
          const k = unused.findIndex((oi) => numbersEqual(exp.values[ei]!, obs.values[oi]!, precision));
          if (k < 0) unmatched.push(ei);
          else unused.splice(k, 1);
        }
        unmatched.forEach((ei, i) => {
          const oi = unused[i];
          if (oi === undefined) return;
          changed.add(E.order[eFrom]!, step);
          if (!firstChanged || E.order[eFrom]! < firstChanged.rank) firstChanged = { rank: E.order[eFrom]!, expected: exp.values[ei]!, actual: obs.values[oi]! };
        });
      }
      // Timestamps: the i-th logged point at this step with the i-th stored one.
      if (toleranceMs !== undefined)
        for (let i = 0; i < Math.min(ne, no); i++) {
          const ei = E.order[eFrom + i]!, oi = O.order[oFrom + i]!;
          ts.paired++;
          const got = obs.timestamps[oi]!;
          if (!Number.isFinite(got)) {
            ts.none++;
            continue;
          }
          const want = exp.timestamps[ei]!;
          const delta = Math.abs(got - want);
          ts.maxDelta = Math.max(ts.maxDelta, delta);
          if (delta > toleranceMs) {
            ts.off++;
            if (ei < firstOffRank) {
              firstOffRank = ei;
              ts.firstOff = { step, expected: want, actual: got };
            }
          }
        }
    }
    if (c <= 0) ge++;
    if (c >= 0) go++;
  }
  const ok = !missing.count && !changed.count && !extra.count;
  const parts = [`${obs.length}/${exp.length} points`];
  if (missing.count) parts.push(`missing steps ${preview(missing.steps, missing.count)}`);
  if (extra.count) parts.push(`unexpected or duplicate steps ${preview(extra.steps, extra.count)}`);
  if (changed.count) parts.push(`changed values at steps ${preview(changed.steps, changed.count)}`);
  const metric: MetricVerdict = {
    ok,
    message: ok ? `all ${exp.length} points match${precision === "float32" ? " (float32)" : ""}` : parts.join("; "),
    expected: { points: exp.length, ...(firstChanged ? { firstChanged: shownValue(firstChanged.expected) } : {}) },
    actual: { points: obs.length, ...(firstChanged ? { firstChanged: shownValue(firstChanged.actual) } : {}), ...(missing.count ? { missing: missing.steps } : {}), ...(extra.count ? { extra: extra.steps } : {}) },
  };
  return { metric, ...(toleranceMs !== undefined ? { timestamps: ts } : {}) };
}
