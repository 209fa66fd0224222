/** The console comparison table: one row per figure, grouped, with its spread. */
import { noKneeOf, type Figure } from "./figure.ts";
import { incomparableOf, type BenchResult } from "./result.ts";
import { formatValue } from "./sizes.ts";
import { testDoubleNote } from "./environment.ts";
import { ceilingLine, ceilingOf, ceilingSummary } from "./ceiling.ts";

const params = (f: Figure) => Object.entries(f.params).map(([k, v]) => `${k}=${v}`).join(" ");
const num = (v: number, unit: string) => formatValue(v, unit).replace(/ .*$/, "");

const ci = (f: Figure) => (f.ci ? `${num(f.ci.lo, f.unit)}-${num(f.ci.hi, f.unit)}${f.ci.level < 0.95 ? ` (${Math.round(f.ci.level * 100)}%)` : ""}` : "");

export const FIGURE_HEAD = ["target", "figure", "params", "value", "95% CI", "p50", "p99", "max", "n"];

export function figureRows(figures: readonly Figure[]): string[][] {
  return figures.map((f) => {
    // A no-knee placeholder (value 0) is not a measurement: it reads as what it is.
    const nk = noKneeOf(f);
    if (nk) return [f.target, f.name, params(f), noKneeCell(nk), "", "-", "-", "-", `${f.samples}${f.lowSamples ? "*" : ""}`];
    return [f.target, f.name, params(f), formatValue(f.value, f.unit), ci(f), num(f.spread.p50, f.unit), num(f.spread.p99, f.unit), num(f.spread.max, f.unit), `${f.samples}${f.lowSamples ? "*" : ""}`];
  });
}

const noKneeCell = (nk: { reason: string }) => `no knee (${nk.reason})`;

/** A figure's value cell in a side-by-side table: "no knee (reason)" for a no-knee placeholder. */
export function valueCell(f: Figure): string {
  const nk = noKneeOf(f);
  return nk ? noKneeCell(nk) : `${formatValue(f.value, f.unit)}${f.lowSamples ? " *" : ""}`;
}

/** The ratio cell of an incomparable pair (incomparableOf). */
export const NOT_COMPARABLE = "not comparable (no knee)";

/**
 * Why each figure marked * has fewer than 1000 samples, one line per target and reason (a
 * latency and the throughput derived from the same calls share theirs).
 */
export function lowSampleLines(figures: readonly Figure[]): string[] {
  const groups = new Map<string, string[]>();
  for (const f of figures.filter((x) => x.lowSamples)) {
    const key = `${f.target}: ${f.lowSamplesWhy ?? "no reason recorded"}`;
    const p = params(f).replace(/ /g, ",");
    groups.set(key, [...(groups.get(key) ?? []), `${f.name}${p ? `[${p}]` : ""} (n=${f.samples})`]);
  }
  return [...groups].map(([key, names]) => {
    const [target, why] = [key.slice(0, key.indexOf(": ")), key.slice(key.indexOf(": ") + 2)];
    return `${target} ${names.join(", ")}: ${why}`;
  });
}

/**
 * The two MLflow modes side by side (native: SQLite; docker: PostgreSQL): each figure both
 * measured, with docker / native and its interval, so the store's cost reads in one table.
 */
export function modeRows(r: BenchResult): string[][] {
  const pair = (x: { numerator: string; denominator: string }) => x.numerator.startsWith("mlflow-docker/") && x.denominator.startsWith("mlflow-native/");
  const ratio = new Map(r.ratios.filter(pair).map((x) => [x.numerator, x]));
  // A side without a knee has no figure to divide: the row says so and carries no ratio.
  const apart = new Map(incomparableOf(r.figures).filter(pair).map((x) => [x.numerator, x]));
  return r.figures.filter((f) => f.target === "mlflow-docker").flatMap((d) => {
    const x = ratio.get(d.id);
    const gap = apart.get(d.id);
    const n = r.figures.find((f) => f.id === (x ?? gap)?.denominator);
    if (!n) return [];
    const cell = x ? `${x.value.toPrecision(3)}${x.ci ? ` (${x.ci.lo.toPrecision(3)}-${x.ci.hi.toPrecision(3)})` : ""}${x.lowSamples ? " *" : ""}` : NOT_COMPARABLE;
    return [[d.name, params(d), valueCell(n), valueCell(d), cell]];
  });
}

/** The stores the two modes ran on, from the environment block ("native: sqlite, ..."). */
export function modeHead(r: BenchResult): string[] {
  const servers = ((r.environment as { servers?: { target: string; store?: string }[] }).servers ?? []);
  const store = (t: string) => servers.find((s) => s.target === t)?.store?.split(",")[0] ?? "?";
  return ["figure", "params", `native (${store("mlflow-native")})`, `docker (${store("mlflow-docker")})`, "docker / native (95% CI)"];
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
  const low = lowSampleLines(r.figures);
  out.push("* fewer than 1000 samples: its p99 and interval are indicative only, and so is every throughput or ratio built from them. Why:", ...low.map((l) => `  ${l}`));
  if (r.fleet.length) {
    out.push("", "training fleet (each job logs K metrics every T ms; sustained = over wall clock):", textTable(FLEET_HEAD, fleetRows(r)));
    for (const s of r.fleet) if (!s.knee && s.noKnee) out.push(`  ${s.target}${s.workers ? ` (${s.workers} workers)` : ""}: no knee: ${s.noKnee.why}`);
    for (const s of r.fleet) if (s.knee) out.push(`  ${s.target}${s.workers ? ` (${s.workers} workers)` : ""}: knee at ${s.knee.jobs} job(s) of ${s.plan.keys} metrics every ${s.plan.intervalMs} ms, ${Math.round(s.knee.pointsPerSec)} points/s sustained, p99 ${s.knee.p99Ms.toFixed(1)} ms (stopped: ${s.knee.reason})`);
  }
  const modes = modeRows(r);
  if (modes.length) out.push("", "MLflow native beside docker (the same figures; * fewer than 1000 samples):", textTable(modeHead(r), modes));
  const byUrl = r.figures.find((f) => f.target.endsWith("-url"))?.target;
  const mlflow = !byUrl || byUrl === "mlflow-url";
  const clearml = byUrl === "clearml-url";
  if (r.cleanup) out.push("", `server clean-up: ${r.cleanup.experiments} ${mlflow ? "experiment" : "project"}(s), ${r.cleanup.runs} ${clearml ? "task" : "run"}(s), ${r.cleanup.artifacts} artifact file(s) deleted; ${r.cleanup.remains}${r.cleanup.failures.length ? `; FAILED: ${r.cleanup.failures.join("; ")}` : ""}`);
  const knees = r.scalability.filter((s) => s.knee).map((s) => `${s.target}${s.workers ? ` (${s.workers} workers)` : ""}: knee at ${s.knee!.clients} client(s), ${Math.round(s.knee!.throughput)} points/s (${s.knee!.reason}${s.knee!.error ? `: ${s.knee!.error}` : ""})`);
  knees.push(...r.scalability.filter((s) => !s.knee && s.noKnee).map((s) => `${s.target}${s.workers ? ` (${s.workers} workers)` : ""}: no knee: ${s.noKnee!.why}`));
  if (knees.length) out.push("", "scalability:", ...knees.map((k) => `  ${k}`));
  const ceiling = r.ceiling ?? ceilingOf(r.figures);
  if (ceiling.length) out.push("", `harness ceiling: ${ceilingSummary(ceiling)}`, ...ceiling.map((x) => `  ${ceilingLine(x, r.figures)}`));
  if (r.errors.length) out.push("", "errors:", ...r.errors.map((e) => `  ${e.target} ${e.stage}: ${e.message}`));
  if (r.retries?.length) out.push("", "set-up requests sent again:", ...r.retries.map((x) => `  ${x.target} ${x.what}: attempt ${x.attempt} failed (${x.message})`));
  out.push("", `${r.figures.length} figures, ${r.ratios.length} ratios, status ${r.status}${r.durationMs ? `, ${(r.durationMs / 1000).toFixed(0)} s` : ""}`);
  return out.join("\n");
}
