/**
 * Comparison with an earlier result: a figure regresses when it moved in its worse direction by
 * more than the threshold (relative to the baseline's value). Figures only one side has are
 * listed, never failed.
 */
import { readFile } from "node:fs/promises";
import { usageError } from "../util/errors.ts";
import { noKneeOf, type Figure } from "./figure.ts";

export interface Regression {
  id: string;
  unit: string;
  baseline: number;
  current: number;
  /** Relative change in the worse direction (0.25 = 25 % worse). */
  worseBy: number;
}

export interface Comparison {
  threshold: number;
  compared: number;
  regressions: Regression[];
  improved: string[];
  missing: string[];
  /**
   * Knee figures where one side found no knee: not a numeric change (a no-knee figure's 0 is a
   * placeholder), but the knee appeared or disappeared. A knee that disappeared fails the
   * comparison as a regression does. Absent when there is none.
   */
  knees?: KneeChange[];
}

export interface KneeChange {
  id: string;
  change: "appeared" | "disappeared";
  /** The knee's value, or "no knee (reason)". */
  baseline: number | string;
  current: number | string;
}

const kneeSide = (f: Figure) => {
  const nk = noKneeOf(f);
  return nk ? `no knee (${nk.reason})` : f.value;
};

export function kneeChangeText(k: KneeChange): string {
  return `knee ${k.change}: ${k.baseline} -> ${k.current}`;
}

/** "10%", "10" or "0.1" -> 0.1. */
export function parseThreshold(text: string | undefined): number {
  if (text === undefined || text === "") return 0.1;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(%?)\s*$/.exec(text);
  if (!m) throw usageError(`--max-regression ${text} is not a percentage`, "write it like 10%");
  const n = Number(m[1]);
  const t = m[2] || n >= 1 ? n / 100 : n;
  if (!(t > 0) || t >= 10) throw usageError(`--max-regression ${text} is out of range`, "use a value between 0% and 1000%");
  return t;
}

export async function loadBaseline(path: string): Promise<Figure[]> {
  const text = await readFile(path, "utf8").catch((err: NodeJS.ErrnoException) => {
    throw usageError(`--baseline ${path} cannot be read: ${err.code ?? err.message}`, "give the path of a JSON file from `e2e bench --json` or --report");
  });
  return parseBaseline(text, path);
}

export function parseBaseline(text: string, path = "baseline"): Figure[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw usageError(`--baseline ${path} is not valid JSON: ${(err as Error).message.split("\n")[0]}`, "give a file written by `e2e bench --json` or --report");
  }
  const figures = (doc as { figures?: unknown })?.figures;
  if (!Array.isArray(figures) || !figures.every((f) => f && typeof f.id === "string" && typeof f.value === "number" && (f.better === "smaller" || f.better === "bigger")))
    throw usageError(`--baseline ${path} is not an e2e bench result (no figures[] with id, value, better)`, "give a file written by `e2e bench --json` or --report");
  return figures as Figure[];
}

export function compare(baseline: readonly Figure[], current: readonly Figure[], threshold: number): Comparison {
  const base = new Map(baseline.map((f) => [f.id, f]));
  const out: Comparison = { threshold, compared: 0, regressions: [], improved: [], missing: [] };
  for (const f of current) {
    const b = base.get(f.id);
    if (!b) continue;
    base.delete(f.id);
    const [nb, nf] = [noKneeOf(b), noKneeOf(f)];
    if (nb || nf) {
      out.compared++;
      if (!(nb && nf)) (out.knees ??= []).push({ id: f.id, change: nb ? "appeared" : "disappeared", baseline: kneeSide(b), current: kneeSide(f) });
      continue;
    }
    if (!(b.value > 0) || !Number.isFinite(f.value)) continue;
    out.compared++;
    const change = (f.value - b.value) / b.value;
    const worseBy = f.better === "smaller" ? change : -change;
    if (worseBy > threshold) out.regressions.push({ id: f.id, unit: f.unit, baseline: b.value, current: f.value, worseBy });
    else if (worseBy < -threshold) out.improved.push(f.id);
  }
  out.missing = [...base.keys()];
  out.regressions.sort((a, b) => b.worseBy - a.worseBy);
  return out;
}

/** The knees that disappeared since the baseline: they fail the comparison, as regressions do. */
export const kneesLost = (c: Comparison) => (c.knees ?? []).filter((k) => k.change === "disappeared");

export function describeRegressions(c: Comparison): string {
  const r = c.regressions;
  const head = r.slice(0, 3).map((x) => `${x.id} ${fmt(x.baseline)} -> ${fmt(x.current)} ${x.unit} (${(x.worseBy * 100).toFixed(1)}% worse)`);
  const lost = kneesLost(c).map((k) => `${k.id} ${kneeChangeText(k)}`);
  const numeric = r.length ? `${r.length} figure${r.length === 1 ? "" : "s"} regressed beyond ${(c.threshold * 100).toFixed(0)}%: ${head.join("; ")}${r.length > 3 ? `; and ${r.length - 3} more` : ""}` : "";
  return [numeric, lost.length ? `${lost.length} knee${lost.length === 1 ? "" : "s"} disappeared: ${lost.join("; ")}` : ""].filter(Boolean).join("; ");
}

const fmt = (n: number) => (Math.abs(n) >= 100 ? n.toFixed(0) : n.toPrecision(3));
