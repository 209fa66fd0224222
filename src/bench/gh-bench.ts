/**
 * github-action-benchmark's custom formats: `customSmallerIsBetter` and `customBiggerIsBetter`
 * each read one array of { name, unit, value, range?, extra? }. Two files, one per direction.
 */
import type { Figure } from "./figure.ts";
import type { BenchResult } from "./result.ts";

export interface GhBenchEntry {
  name: string;
  unit: string;
  value: number;
  range?: string;
  extra?: string;
}

export function ghBenchEntries(r: BenchResult, better: Figure["better"]): GhBenchEntry[] {
  return r.figures
    .filter((f) => f.better === better && Number.isFinite(f.value))
    .map((f) => ({
      name: f.id,
      unit: f.unit,
      value: f.value,
      range: `± ${f.spread.stddev.toPrecision(3)}`,
      extra: `n=${f.samples} p50=${f.spread.p50.toPrecision(4)} p99=${f.spread.p99.toPrecision(4)} max=${f.spread.max.toPrecision(4)}${f.note ? `; ${f.note}` : ""}`,
    }));
}

/** FILE gets the smaller-is-better array; FILE with "-bigger" before its extension the other. */
export function ghBenchPaths(file: string): { smaller: string; bigger: string } {
  const m = /^(.*?)(\.[^./]*)?$/.exec(file)!;
  return { smaller: file, bigger: `${m[1]}-bigger${m[2] ?? ""}` };
}
