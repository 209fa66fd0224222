/** The console comparison table: one row per figure, grouped, with its spread. */
import type { Figure } from "./figure.ts";
import type { BenchResult } from "./result.ts";
import { formatValue } from "./sizes.ts";

const params = (f: Figure) => Object.entries(f.params).map(([k, v]) => `${k}=${v}`).join(" ");
const num = (v: number, unit: string) => formatValue(v, unit).replace(/ .*$/, "");

export function figureRows(figures: readonly Figure[]): string[][] {
  return figures.map((f) => [f.target, f.name, params(f), formatValue(f.value, f.unit), num(f.spread.p50, f.unit), num(f.spread.p99, f.unit), num(f.spread.max, f.unit), `${f.samples}${f.lowSamples ? "*" : ""}`]);
}

export function textTable(head: string[], rows: string[][]): string {
  const width = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (r: string[]) => r.map((c, i) => (i >= 3 ? c.padStart(width[i]!) : c.padEnd(width[i]!))).join("  ").trimEnd();
  return [line(head), width.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}

export function renderBenchTable(r: BenchResult): string {
  const out = [textTable(["target", "figure", "params", "value", "p50", "p99", "max", "n"], figureRows(r.figures))];
  out.push("* fewer than 1000 samples: its p99 is indicative only");
  const knees = r.scalability.filter((s) => s.knee).map((s) => `${s.target}: knee at ${s.knee!.clients} client(s), ${Math.round(s.knee!.throughput)} points/s (${s.knee!.reason}${s.knee!.error ? `: ${s.knee!.error}` : ""})`);
  if (knees.length) out.push("", "scalability:", ...knees.map((k) => `  ${k}`));
  if (r.errors.length) out.push("", "errors:", ...r.errors.map((e) => `  ${e.target} ${e.stage}: ${e.message}`));
  out.push("", `${r.figures.length} figures, ${r.ratios.length} ratios, status ${r.status}${r.durationMs ? `, ${(r.durationMs / 1000).toFixed(0)} s` : ""}`);
  return out.join("\n");
}
