/**
 * The harness ceiling, judged per figure: how far above the fastest backend the harness is (the
 * issue's goal: 10x on every figure), how close its transfers come to the raw loopback (goal: at
 * least half for bodies of 1 MB and more), and which layer bounds a transfer: the loopback (raw
 * TCP), the sink (HTTP on a plain socket to the sink, the body counted), or the client (the load
 * generator's artifact client to the same sink, the body kept in memory). Derived from the run's own figures, so a report can say it plainly.
 */
import type { Figure } from "./figure.ts";
import { bytesOf, formatValue } from "./sizes.ts";

export const CEILING_GOALS = { overBackend: 10, ofLoopback: 0.5, largeBytes: 2 ** 20 } as const;
/** A layer within this fraction of the one below it is bounded by that one, not by itself. */
const CLOSE = 0.8;

export interface CeilingRow {
  /** The harness figure judged. */
  figure: string;
  /** The fastest backend's same figure, and how many times better the harness is (1 = equal). */
  backend?: string;
  overBackend?: number;
  tenX?: boolean;
  /** For transfers: the fastest backend over raw TCP. Above 1/10, the 10x goal is out of the loopback's reach. */
  backendOfLoopback?: number;
  /** Transfers: raw TCP and the sink alone (HTTP on a plain socket), MB/s, and harness / raw TCP. */
  loopback?: number;
  sink?: number;
  ofLoopback?: number;
  /** Set for bodies of 1 MB and more (the goal's "large bodies"). */
  halfLoopback?: boolean;
  bound?: "loopback" | "sink" | "client";
  /** Either side rests on fewer than 1000 samples. */
  lowSamples?: boolean;
}

const SPEED_UNITS: readonly string[] = ["ms", "points/s", "requests/s", "MB/s"];
const sameParams = (a: Figure, b: Figure) => JSON.stringify(a.params) === JSON.stringify(b.params);
/** Times better: bigger-is-better divides the harness by the backend, latencies the other way. */
const over = (h: Figure, b: Figure) => (h.better === "bigger" ? h.value / b.value : b.value / h.value);

export function ceilingOf(figures: readonly Figure[]): CeilingRow[] {
  const rows: CeilingRow[] = [];
  const peer = (name: string, h: Figure) => figures.find((g) => g.target === "harness" && g.name === name && sameParams(g, h));
  // Rates and latencies only: a knee's client count says where a server saturates, not how fast it is.
  const judged = (f: Figure) => f.target === "harness" && (f.name.startsWith("http.") || f.name.startsWith("scale.")) && SPEED_UNITS.includes(f.unit) && f.value > 0;
  for (const h of figures.filter(judged)) {
    const backends = figures.filter((g) => g.target !== "harness" && g.name === h.name && sameParams(g, h) && g.value > 0);
    const fastest = backends.sort((a, b) => over(b, a) - over(a, b))[0];
    const row: CeilingRow = { figure: h.id };
    if (fastest) Object.assign(row, { backend: fastest.id, overBackend: over(h, fastest), tenX: over(h, fastest) >= CEILING_GOALS.overBackend });
    const dir = /^http\.artifact\.(upload|download)$/.exec(h.name)?.[1];
    const loop = dir && peer("tcp.loopback.transfer", h);
    if (dir && loop) {
      const sink = peer(`tcp.sink.${dir}`, h);
      row.loopback = loop.value;
      row.ofLoopback = h.value / loop.value;
      if (fastest) row.backendOfLoopback = fastest.value / loop.value;
      if (bytesOf(h.params.size) >= CEILING_GOALS.largeBytes) row.halfLoopback = row.ofLoopback >= CEILING_GOALS.ofLoopback;
      if (sink) {
        row.sink = sink.value;
        row.bound = h.value < CLOSE * sink.value ? "client" : sink.value < CLOSE * loop.value ? "sink" : "loopback";
      }
    }
    if (row.backend === undefined && row.loopback === undefined) continue;
    if (h.lowSamples || (fastest?.lowSamples ?? false) || (loop && loop.lowSamples)) row.lowSamples = true;
    rows.push(row);
  }
  return rows;
}

const BOUND_WHY = {
  loopback: "bounded by the loopback (the sink alone is within 20% of raw TCP, the client within 20% of the sink)",
  sink: "bounded by the sink (HTTP on a plain socket already falls more than 20% below raw TCP)",
  client: "bounded by the client (the artifact client falls more than 20% below what the sink takes from a plain socket)",
};

/** One plain sentence per row, for the Markdown, HTML and console reports. */
export function ceilingLine(r: CeilingRow, figures: readonly Figure[]): string {
  const h = figures.find((f) => f.id === r.figure);
  const v = (x: number) => (h ? formatValue(x, h.unit) : x.toPrecision(3));
  const parts = [`${r.figure.replace(/^harness\//, "")}: harness ${h ? v(h.value) : "?"}`];
  if (r.overBackend !== undefined) parts.push(`${r.overBackend >= 1000 ? Math.round(r.overBackend) : r.overBackend.toPrecision(3)}x the fastest backend (${r.backend}): 10x goal ${r.tenX ? "met" : "NOT met"}`);
  if (r.ofLoopback !== undefined) parts.push(`${Math.round(r.ofLoopback * 100)}% of raw TCP (${v(r.loopback!)})${r.sink !== undefined ? `, sink alone ${v(r.sink)}` : ""}${r.halfLoopback === undefined ? "" : `: half-loopback goal ${r.halfLoopback ? "met" : "NOT met"}`}`);
  if (r.bound) parts.push(BOUND_WHY[r.bound]);
  if (r.tenX === false && r.backendOfLoopback !== undefined && r.backendOfLoopback > 1 / CEILING_GOALS.overBackend)
    parts.push(`10x is out of reach on this loopback: the backend already moves ${Math.round(r.backendOfLoopback * 100)}% of raw TCP`);
  return `${parts.join("; ")}${r.lowSamples ? " *" : ""}`;
}

/** The summary under the rows: how many figures meet each goal. */
export function ceilingSummary(rows: readonly CeilingRow[]): string {
  const ten = rows.filter((r) => r.tenX !== undefined);
  const half = rows.filter((r) => r.halfLoopback !== undefined);
  const missed = ten.filter((r) => !r.tenX).length + half.filter((r) => !r.halfLoopback).length;
  return `10x the fastest backend: ${ten.filter((r) => r.tenX).length} of ${ten.length} figures; at least half of raw TCP for bodies of 1 MB and more: ${half.filter((r) => r.halfLoopback).length} of ${half.length}. ${missed ? "The goals are not met on every figure in this run; each line says why." : "Both goals are met in this run."}`;
}
