/** The console comparison table: one row per figure, grouped, with its spread. */
import type { Figure } from "./figure.ts";
import type { BenchResult } from "./result.ts";
import { formatValue } from "./sizes.ts";
import { testDoubleNote } from "./environment.ts";

const params = (f: Figure) => Object.entries(f.params).map(([k, v]) => `${k}=${v}`).join(" ");
const num = (v: number, unit: string) => formatValue(v, unit).replace(/ .*$/, "");

const ci = (f: Figure) => (f.ci ? `${num(f.ci.lo, f.unit)}-${num(f.ci.hi, f.unit)}${f.ci.level < 0.95 ? ` (${Math.round(f.ci.level * 100)}%)` : ""}` : "");

export const FIGURE_HEAD = ["target", "figure", "params", "value", "95% CI", "p50", "p99", "max", "n"];

export function figureRows(figures: readonly Figure[]): string[][] {
  return figures.map((f) => [f.target, f.name, params(f), formatValue(f.value, f.unit), ci(f), num(f.spread.p50, f.unit), num(f.spread.p99, f.unit), num(f.spread.max, f.unit), `${f.samples}${f.lowSamples ? "*" : ""}`]);
}

/** One row per fleet step: the load offered, what the server sustained, latency under load. */
export function fleetRows(r: BenchResult): string[][] {
  return r.fleet.flatMap((s) => s.steps.map((x, i) => [`${s.target}${s.workers ? ` (${s.workers} workers)` : ""}`, String(x.jobs), Math.round(x.offeredPointsPerSec).toString(), Math.round(x.pointsPerSec).toString(), x.p50Ms.toFixed(1), x.p99Ms.toFixed(1), x.maxMs.toFixed(1), `${x.errors} (${(x.errorRate * 100).toFixed(1)}%)`, String(x.lateCalls), String(x.requests), s.knee?.jobs === x.jobs ? `knee (${s.knee.reason})` : s.noKnee && i === 0 ? `no knee (${s.noKnee.reason})` : ""]));
}
export const FLEET_HEAD = ["target", "jobs", "offered pts/s", "sustained pts/s", "p50 ms", "p99 ms", "max ms", "errors", "late calls", "calls", ""];

export function textTable(head: string[], rows: string[][]): string {
  const width = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (r: string[]) => r.map((c, i) => (i >= 3 ? c.padStart(width[i]!) : c.padEnd(width[i]!))).join("  ").trimEnd();
  return [line(head), width.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}

export function renderBenchTable(r: BenchResult): string {
  const out = [textTable(FIGURE_HEAD, figureRows(r.figures))];
  const double = testDoubleNote(r.environment);
  if (double) out.unshift(`${double}.`, "");
  out.push("* fewer than 1000 samples: its p99 and interval are indicative only (the JSON's lowSamplesWhy says why)");
  if (r.fleet.length) {
    out.push("", "training fleet (each job logs K metrics every T ms; sustained = over wall clock):", textTable(FLEET_HEAD, fleetRows(r)));
    for (const s of r.fleet) if (!s.knee && s.noKnee) out.push(`  ${s.target}${s.workers ? ` (${s.workers} workers)` : ""}: no knee: ${s.noKnee.why}`);
    for (const s of r.fleet) if (s.knee) out.push(`  ${s.target}${s.workers ? ` (${s.workers} workers)` : ""}: knee at ${s.knee.jobs} job(s) of ${s.plan.keys} metrics every ${s.plan.intervalMs} ms, ${Math.round(s.knee.pointsPerSec)} points/s sustained, p99 ${s.knee.p99Ms.toFixed(1)} ms (stopped: ${s.knee.reason})`);
  }
  const byUrl = r.figures.find((f) => f.target.endsWith("-url"))?.target;
  const mlflow = !byUrl || byUrl === "mlflow-url";
  const clearml = byUrl === "clearml-url";
  if (r.cleanup) out.push("", `server clean-up: ${r.cleanup.experiments} ${mlflow ? "experiment" : "project"}(s), ${r.cleanup.runs} ${clearml ? "task" : "run"}(s), ${r.cleanup.artifacts} artifact file(s) deleted; ${r.cleanup.remains}${r.cleanup.failures.length ? `; FAILED: ${r.cleanup.failures.join("; ")}` : ""}`);
  const knees = r.scalability.filter((s) => s.knee).map((s) => `${s.target}${s.workers ? ` (${s.workers} workers)` : ""}: knee at ${s.knee!.clients} client(s), ${Math.round(s.knee!.throughput)} points/s (${s.knee!.reason}${s.knee!.error ? `: ${s.knee!.error}` : ""})`);
  if (knees.length) out.push("", "scalability:", ...knees.map((k) => `  ${k}`));
  if (r.errors.length) out.push("", "errors:", ...r.errors.map((e) => `  ${e.target} ${e.stage}: ${e.message}`));
  out.push("", `${r.figures.length} figures, ${r.ratios.length} ratios, status ${r.status}${r.durationMs ? `, ${(r.durationMs / 1000).toFixed(0)} s` : ""}`);
  return out.join("\n");
}
