/**
 * W&B history rows -> metric points, one row at a time as the `.wandb` log is decoded (or GraphQL
 * pages arrive), into columns (Series): no row is kept, so memory is the columns. The rules are
 * historyToMetrics' and the TensorBoard capture split's (tensorboard-capture.ts):
 * - each value is paired with the row's step key (the adapter's "step", Lightning's
 *   "trainer/global_step"), else W&B's own _step; W&B's underscore keys are not metrics;
 *   non-numeric values are listed, not points;
 * - a row with a numeric `global_step` and a key under a captured namespace is W&B's TensorBoard
 *   capture: its namespaced keys are capture points, its other keys are neither.
 * The namespaces come from tbrecords, which W&B writes before the rows it captures; a row taken
 * as the run's own before its namespace was known is noticed (`lateNamespace`) so the reader can
 * read again knowing all of them.
 */
import type { ObservedPoint } from "../../verify/observed.ts";
import { SeriesBuilder, toNumber, type Series } from "../../verify/series.ts";

export type Row = { values: Map<string, unknown>; step?: number };

const isPoint = (v: unknown): v is number | string => typeof v === "number" || v === "NaN" || v === "Infinity" || v === "-Infinity";

export class HistoryColumns {
  private metrics = new Map<string, SeriesBuilder>();
  private captured = new Map<string, Map<string, SeriesBuilder>>();
  readonly nonNumeric = new Set<string>();
  rowsWithoutStepKey = 0;
  rows = 0;
  /** Keys under a "/" of own rows that had a numeric global_step (a capture seen too early?). */
  private ownSlashKeys = new Set<string>();

  /**
   * `expected`: the points a key should hold (the manifest's), held once where they match
   * (SeriesBuilderOptions.like). `captured`: the points W&B's TensorBoard capture of a tag should
   * hold (the event files', one per step), held once where they match at float32, the precision
   * TensorBoard stores and the capture check compares at; no time column is kept for the capture
   * (no check reads it), so a capture that repeats the event files costs no memory of its own.
   */
  constructor(private stepKey: string, private expected?: (key: string) => Series | undefined, private capturedLike?: (namespace: string, tag: string) => Series | undefined) {}

  /** One row; `spaces` = the capture namespaces known so far. Says whose row it was. */
  add(row: Row, spaces: string[] = []): "own" | "captured" {
    this.rows++;
    const { values } = row;
    const gs = values.get("global_step");
    if (spaces.length && typeof gs === "number") {
      let captured = false;
      for (const k of values.keys()) if (!k.startsWith("_") && k !== "global_step" && spaceOf(k, spaces)) captured = true;
      if (captured) {
        for (const [k, v] of values) {
          if (k.startsWith("_") || k === "global_step") continue;
          const space = spaceOf(k, spaces);
          if (!space) continue; // step metrics W&B copies in (define_metric step_sync)
          let tags = this.captured.get(space);
          if (!tags) this.captured.set(space, (tags = new Map()));
          const tag = k.slice(space.length + 1);
          let b = tags.get(tag);
          if (!b) {
            const like = this.capturedLike?.(space, tag);
            tags.set(tag, (b = new SeriesBuilder(like?.length || 1024, { timestamps: false, ...(like ? { like: { series: like, float32: true } } : {}) })));
          }
          b.push(gs, typeof v === "number" ? v : Number(String(v)), Number.NaN);
        }
        return "captured";
      }
    }
    if (typeof gs === "number") for (const k of values.keys()) if (k.includes("/")) this.ownSlashKeys.add(k);
    let step = values.get(this.stepKey);
    if (typeof step !== "number") {
      this.rowsWithoutStepKey++;
      step = typeof values.get("_step") === "number" ? values.get("_step") : row.step;
    }
    const ts = values.get("_timestamp");
    for (const [key, value] of values) {
      if (key === this.stepKey || key.startsWith("_")) continue;
      if (!isPoint(value)) {
        this.nonNumeric.add(key);
        continue;
      }
      let b = this.metrics.get(key);
      if (!b) {
        const like = this.expected?.(key);
        this.metrics.set(key, (b = new SeriesBuilder(like?.length || 1024, like ? { like: { series: like } } : {})));
      }
      // W&B's _timestamp: double seconds, unrounded, as ms.
      b.push(Number(step), toNumber(value), typeof ts === "number" ? ts * 1000 : Number.NaN);
    }
    return "own";
  }

  /** Whether a row read as the run's own would have been capture with all of `spaces` known. */
  lateNamespace(spaces: string[]): boolean {
    for (const k of this.ownSlashKeys) if (spaceOf(k, spaces)) return true;
    return false;
  }

  result(): { metrics: Record<string, Series>; capture: Record<string, Record<string, Series>> } {
    const metrics: Record<string, Series> = {};
    for (const [k, b] of this.metrics) metrics[k] = b.finish();
    const capture: Record<string, Record<string, Series>> = {};
    for (const [ns, tags] of this.captured) {
      capture[ns] = {};
      for (const [t, b] of tags) capture[ns]![t] = b.finish();
    }
    return { metrics, capture };
  }
}

const spaceOf = (k: string, spaces: string[]) => spaces.find((s) => k.startsWith(`${s}/`));

/** The capture namespaces worth splitting on (a log dir at or outside the root is none). */
export const usableSpaces = (namespaces: string[]) => [...new Set(namespaces.filter((n) => n !== "" && !n.startsWith("..")))];

export type { ObservedPoint };
