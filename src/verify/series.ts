/**
 * A metric's points in columns (steps, values, timestamps as Float64Array), not a JS object per
 * point: what the comparator works on, so a million-point metric costs 24 bytes a point on each
 * side instead of an array or object each. Values keep NaN and ±Infinity as doubles (the
 * manifest's "NaN"/"Infinity" strings and an observed string value become Number(s), which is how
 * valuesEqual compares them); a missing timestamp is NaN.
 */
import type { MetricPoint } from "./manifest.ts";
import type { ObservedPoint } from "./observed.ts";

export interface Series {
  length: number;
  steps: Float64Array;
  values: Float64Array;
  /** Empty when the source's times are not kept (read back as undefined: no timestamp, as NaN). */
  timestamps: Float64Array;
}

export const isSeries = (x: unknown): x is Series => !!x && !Array.isArray(x) && (x as Series).steps instanceof Float64Array;

const NO_TIMES = new Float64Array(0);

const f32 = new Float32Array(2);
/** Equal doubles (NaN equals NaN), or equal once rounded to float32. */
const sameValue = (a: number, b: number, float32: boolean) => {
  if (a !== a) return b !== b;
  if (!float32) return a === b;
  f32[0] = a;
  f32[1] = b;
  return f32[0] === f32[1];
};

export interface SeriesBuilderOptions {
  /** false: no time column, for points whose times no check reads (TensorBoard scalars, a capture). */
  timestamps?: boolean;
  /**
   * The series these points are expected to repeat (the manifest's, the event files'): while each
   * point pushed has the reference's step and value at its index (values equal as the comparison
   * will judge them: exactly, or at float32), only its time is stored, and the finished series
   * shares the reference's step and value columns. The first point that differs makes the builder
   * copy the reference's points so far and go on as an ordinary one: the comparison then sees
   * the same steps and values it would have seen, at no memory for the points that matched.
   */
  like?: { series: Series; float32?: boolean };
}

/**
 * Appends points into columns; `finish()` gives the Series. Columns grow by chunks of 64K points,
 * joined into one exact column each when finished: doubling would copy every point again at each
 * step and leave up to half of a column unused (at ten million points, GBs of RSS in garbage and
 * slack). A given capacity is the first chunk.
 */
export class SeriesBuilder {
  private n = 0;
  /** The current chunk (its points are base..n), and the full ones before it. */
  private s: Float64Array;
  private v: Float64Array;
  private t: Float64Array;
  private base = 0;
  private full: { s: Float64Array; v: Float64Array; t: Float64Array }[] = [];
  private readonly times: boolean;
  private ref: Series | undefined;
  private readonly float32: boolean;
  constructor(capacity = 1024, o: SeriesBuilderOptions = {}) {
    this.times = o.timestamps !== false;
    this.ref = o.like?.series;
    this.float32 = !!o.like?.float32;
    this.s = this.ref ? NO_TIMES : new Float64Array(capacity);
    this.v = this.ref ? NO_TIMES : new Float64Array(capacity);
    this.t = this.times ? new Float64Array(capacity) : NO_TIMES;
  }
  get length() {
    return this.n;
  }
  push(step: number, value: number, timestamp: number) {
    const r = this.ref;
    if (r) {
      const i = this.n;
      if (i < r.length && r.steps[i] === step && sameValue(r.values[i]!, value, this.float32)) {
        if (this.times) {
          if (i === this.t.length) this.t = grown(this.t, i * 2);
          this.t[i] = timestamp;
        }
        this.n++;
        return;
      }
      this.diverge();
    }
    let i = this.n - this.base;
    if (i === this.s.length) {
      this.full.push({ s: this.s, v: this.v, t: this.t });
      this.base = this.n;
      this.s = new Float64Array(CHUNK);
      this.v = new Float64Array(CHUNK);
      if (this.times) this.t = new Float64Array(CHUNK);
      i = 0;
    }
    this.s[i] = step;
    this.v[i] = value;
    if (this.times) this.t[i] = timestamp;
    this.n++;
  }
  /** Stops following the reference: its points so far become this builder's own columns. */
  private diverge() {
    const r = this.ref!, n = this.n;
    this.ref = undefined;
    const cap = Math.max(1024, n * 2, this.t.length);
    this.s = grown(r.steps.subarray(0, n), cap);
    this.v = grown(r.values.subarray(0, n), cap);
    if (this.times && this.t.length < cap) this.t = grown(this.t, cap);
  }
  finish(): Series {
    const n = this.n;
    if (this.ref) {
      // Every point followed the reference: its columns (views), no copy.
      if (this.times && n >= 65536 && this.t.length - n > this.t.length / 8) this.t = this.t.slice(0, n);
      return { length: n, steps: this.ref.steps.subarray(0, n), values: this.ref.values.subarray(0, n), timestamps: this.times ? this.t.subarray(0, n) : NO_TIMES };
    }
    if (this.full.length) {
      // One exact column each; the builder keeps them (finishing again, or pushing on, works).
      const parts = [...this.full, { s: this.s, v: this.v, t: this.t }];
      const join = (k: "s" | "v" | "t") => {
        const out = new Float64Array(n);
        let at = 0;
        for (const p of parts) {
          const take = Math.min(p[k].length, n - at);
          out.set(p[k].subarray(0, take), at);
          at += take;
        }
        return out;
      };
      this.s = join("s");
      this.v = join("v");
      if (this.times) this.t = join("t");
      this.full = [];
      this.base = 0;
    } else if (n >= 65536 && this.s.length - n > this.s.length / 8) {
      // A first chunk (a capacity given) much larger than what came: trimmed.
      this.s = this.s.slice(0, n);
      this.v = this.v.slice(0, n);
      if (this.times) this.t = this.t.slice(0, n);
    }
    return { length: n, steps: this.s.subarray(0, n), values: this.v.subarray(0, n), timestamps: this.times ? this.t.subarray(0, n) : NO_TIMES };
  }
}

const CHUNK = 65536;

/** `c`'s values in a new column of `cap` (at least c's length). */
function grown(c: Float64Array, cap: number): Float64Array {
  const next = new Float64Array(Math.max(cap, c.length, 1));
  next.set(c);
  return next;
}

export const toNumber = (v: number | string) => (typeof v === "string" ? Number(v) : v);

export function seriesOfManifest(points: MetricPoint[] | Series): Series {
  if (isSeries(points)) return points;
  const b = new SeriesBuilder(Math.max(1, points.length));
  for (const p of points) b.push(p[0], toNumber(p[1]), p[2]);
  return b.finish();
}

export function seriesOfObserved(points: ObservedPoint[] | Series): Series {
  if (isSeries(points)) return points;
  const b = new SeriesBuilder(Math.max(1, points.length));
  for (const p of points) b.push(p.step, toNumber(p.value), typeof p.timestamp === "number" ? p.timestamp : Number.NaN);
  return b.finish();
}

/** How a value is shown in evidence: the manifest's spelling for non-finite doubles. */
export const shownValue = (v: number): number | string => (Number.isFinite(v) ? v : Number.isNaN(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity");

/**
 * The points grouped by step: `order` lists point indices sorted by step (stable, so logging order
 * within a step is kept), `starts` where each step's group begins in `order` (plus a final end).
 * Groups are in ascending step order; `first[g]` is the index of group g's first point, so lists
 * can be reported in the order steps first appear (as a Map keyed by step would iterate).
 */
export interface StepGroups {
  order: Uint32Array;
  starts: Uint32Array;
  groups: number;
}

export function groupBySteps(s: Series): StepGroups {
  const n = s.length;
  let increasing = true, sorted = true;
  for (let i = 1; i < n && sorted; i++) {
    const a = s.steps[i - 1]!, b = s.steps[i]!;
    if (!(a < b)) increasing = false;
    if (!(a <= b)) sorted = false;
  }
  // One point per step in step order (the adapter logs so, stores return so): the groups are the
  // points themselves, described by one shared 0..n array instead of two new ones per metric.
  if (increasing && (n === 0 || !Number.isNaN(s.steps[0]!))) {
    const id = identity(n + 1);
    return { order: id.subarray(0, n), starts: id, groups: n };
  }
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  // Stores return points in step order and the adapter logs them so: sorting is the rare case.
  if (!sorted) order.sort((a, b) => cmpStep(s.steps[a]!, s.steps[b]!) || a - b);
  const starts = new Uint32Array(n + 1);
  let groups = 0;
  for (let i = 0; i < n; i++) if (i === 0 || !sameStep(s.steps[order[i]!]!, s.steps[order[i - 1]!]!)) starts[groups++] = i;
  starts[groups] = n;
  return { order, starts: starts.subarray(0, groups + 1), groups };
}

let ids = new Uint32Array(0);
/** 0, 1, 2, ... n-1 (shared, read-only by convention). */
function identity(n: number): Uint32Array {
  if (ids.length < n) {
    ids = new Uint32Array(Math.max(n, ids.length * 2));
    for (let i = 0; i < ids.length; i++) ids[i] = i;
  }
  return ids.subarray(0, n);
}

// NaN steps sort last and group together (a Map keyed by step treats them as one key).
const cmpStep = (a: number, b: number) => (Number.isNaN(a) ? (Number.isNaN(b) ? 0 : 1) : Number.isNaN(b) ? -1 : a - b);
const sameStep = (a: number, b: number) => a === b || (Number.isNaN(a) && Number.isNaN(b));
export const compareSteps = cmpStep;

/** Keeps the `limit` entries with the smallest rank (first appearance), and counts them all. */
export class FirstSeen {
  count = 0;
  private items: { rank: number; step: number }[] = [];
  constructor(private limit = 10) {}
  add(rank: number, step: number) {
    this.count++;
    if (this.items.length === this.limit && rank >= this.items[this.items.length - 1]!.rank) return;
    let i = this.items.length;
    while (i > 0 && this.items[i - 1]!.rank > rank) i--;
    this.items.splice(i, 0, { rank, step });
    if (this.items.length > this.limit) this.items.pop();
  }
  get steps(): number[] {
    return this.items.map((x) => x.step);
  }
}

/** A metric's points as [step, value, timestamp] tuples, whichever form the manifest holds them in (small uses). */
export function metricPoints(x: MetricPoint[] | Series): MetricPoint[] {
  if (!isSeries(x)) return x;
  const out: MetricPoint[] = [];
  for (let i = 0; i < x.length; i++) out.push([x.steps[i]!, shownValue(x.values[i]!) as MetricPoint[1], x.timestamps[i]!]);
  return out;
}

/** Smallest and largest step of a metric (a loop: a spread of millions of steps overflows the stack). */
export function stepRange(x: MetricPoint[] | Series): { min: number; max: number } {
  let min = Infinity, max = -Infinity;
  const n = x.length;
  for (let i = 0; i < n; i++) {
    const s = isSeries(x) ? x.steps[i]! : x[i]![0];
    if (s < min) min = s;
    if (s > max) max = s;
  }
  return { min, max };
}

/** A metric's stored points as objects, whichever form the reader gave (small uses and tests). */
export function observedPoints(x: ObservedPoint[] | Series): ObservedPoint[] {
  if (!isSeries(x)) return x;
  const out: ObservedPoint[] = [];
  for (let i = 0; i < x.length; i++) {
    const p: ObservedPoint = { step: x.steps[i]!, value: shownValue(x.values[i]!) };
    if (Number.isFinite(x.timestamps[i]!)) p.timestamp = x.timestamps[i]!;
    out.push(p);
  }
  return out;
}

/** Steps in stored order (a loop over columns, no object per point). */
export function stepsOf(x: ObservedPoint[] | MetricPoint[] | Series): number[] {
  if (isSeries(x)) return Array.from(x.steps);
  return (x as (ObservedPoint | MetricPoint)[]).map((p) => (Array.isArray(p) ? p[0] : p.step));
}

/** Points one after another (several readers of one run, a resumed run's folders), as columns. */
export function concatSeries(parts: (ObservedPoint[] | Series)[]): Series {
  const cols = parts.map(seriesOfObserved);
  const b = new SeriesBuilder(Math.max(1, cols.reduce((n, c) => n + c.length, 0)));
  for (const c of cols) for (let i = 0; i < c.length; i++) b.push(c.steps[i]!, c.values[i]!, c.timestamps[i]!);
  return b.finish();
}
