/**
 * The self-contained HTML report: inline SVG charts (throughput by target, latency against
 * history size, overhead, scalability, artifacts, memory) and the full table. No scripts, no
 * external resources: it reads offline.
 */
import type { Figure } from "./figure.ts";
import type { BenchResult } from "./result.ts";
import { barChart, esc, lineChart, type Series } from "./svg.ts";
import { figureRows } from "./table.ts";
import { formatValue } from "./sizes.ts";

const label = (f: Figure) => [f.target, ...Object.entries(f.params).filter(([k]) => k !== "keys").map(([, v]) => String(v))].join(" ");

function seriesBy(figs: Figure[], param: string, y: (f: Figure) => number, name: (f: Figure) => string = (f) => f.target): Series[] {
  const out = new Map<string, Series>();
  for (const f of figs) {
    const x = Number(String(f.params[param]).replace(/KB$/, "e3").replace(/MB$/, "e6"));
    const k = name(f);
    if (!out.has(k)) out.set(k, { name: k, points: [] });
    out.get(k)!.points.push({ x, y: y(f) });
  }
  return [...out.values()];
}

export function renderHtml(r: BenchResult): string {
  const by = (name: string) => r.figures.filter((f) => f.name === name);
  const charts = [
    lineChart({ id: "log-batch-throughput", title: "MLflow log-batch throughput by batch size (harness = loopback sink ceiling)", xLabel: "metrics per request", unit: "points/s", logX: true, logY: true, series: seriesBy(by("http.log_batch.throughput"), "batch", (f) => f.value) }),
    barChart({ id: "sdk-throughput", title: "Logging throughput through each SDK (one call per step, flush included)", unit: "points/s", bars: by("sdk.log.throughput").map((f) => ({ label: label(f), value: f.value })) }),
    barChart({ id: "sdk-latency", title: "Per-step log call latency", unit: "ms", bars: by("sdk.log_step.latency").map((f) => ({ label: label(f), value: f.spread.p50, high: f.spread.p99 })) }),
    lineChart({ id: "history-latency", title: "Reading a metric history as it grows (p50)", xLabel: "points in the history", unit: "ms", logX: true, logY: true, series: seriesBy(by("api.get_history.latency"), "history", (f) => f.spread.p50) }),
    lineChart({ id: "runs-latency", title: "Searching runs as their number grows (p50)", xLabel: "runs in the experiment", unit: "ms", logX: true, logY: true, series: seriesBy(by("api.search_runs.latency"), "runs", (f) => f.spread.p50) }),
    barChart({ id: "overhead", title: "Training step with tracking / without (median, side by side)", unit: "ratio", bars: by("sdk.train_step.overhead").map((f) => ({ label: label(f), value: f.value, high: f.spread.p99 })) }),
    lineChart({ id: "scalability", title: "Concurrent clients: throughput (log-batch of 100)", xLabel: "clients", unit: "points/s", logX: true, logY: true, series: r.scalability.map((s) => ({ name: `${s.target}${s.knee ? ` (knee ${s.knee.clients})` : ""}`, points: s.steps.map((p) => ({ x: p.clients, y: p.throughput })) })) }),
    lineChart({ id: "artifacts", title: "Artifact transfer (bytes checked by sha256)", xLabel: "bytes", unit: "MB/s", logX: true, logY: true, series: seriesBy([...by("http.artifact.upload"), ...by("http.artifact.download")], "size", (f) => f.value, (f) => `${f.target} ${f.name.split(".").pop()}`) }),
    barChart({ id: "memory", title: "Peak resident memory", unit: "MiB", bars: r.figures.filter((f) => f.group === "memory" && !f.name.endsWith("tree_peak_rss")).map((f) => ({ label: `${label(f)} ${f.name.replace("memory.", "").replace(".peak_rss", "")}`, value: f.value / 2 ** 20 })) }),
  ].filter(Boolean);
  const env = r.environment as Record<string, unknown>;
  const rows = figureRows(r.figures).map((cells) => `<tr>${cells.map((c, i) => `<td${i >= 3 ? ' class="n"' : ""}>${esc(c)}</td>`).join("")}</tr>`).join("");
  const ratios = r.ratios.map((x) => `<tr><td>${esc(x.numerator)}</td><td>${esc(x.denominator)}</td><td class="n">${x.value.toPrecision(3)}</td></tr>`).join("");
  const errors = r.errors.map((e) => `<li>${esc(`${e.target} ${e.stage}: ${e.message}`)}</li>`).join("");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>e2e bench ${esc(r.profile)} ${esc(r.startedAt)}</title>
<style>body{font:14px sans-serif;margin:24px;max-width:1100px}figure.chart{display:inline-block;margin:8px;vertical-align:top}figcaption{font-weight:bold;margin-bottom:4px}table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #ddd;padding:2px 6px}td.n{text-align:right;font-variant-numeric:tabular-nums}</style>
</head><body>
<h1>e2e bench (${esc(r.profile)}): ${esc(r.status)}</h1>
<p id="environment">${esc(`${env.cpus} x ${env.cpu}, ${formatValue(Number(env.memoryBytes ?? 0), "bytes")}, ${env.os}; started ${r.startedAt}${r.durationMs ? `, ${(r.durationMs / 1000).toFixed(0)} s` : ""}; MLflow workers pinned to 1`)}</p>
<section id="charts">${charts.join("\n")}</section>
<h2>Figures</h2><p>n marked * : fewer than 1000 samples, so its p99 is indicative only.</p>
<table id="figures"><thead><tr><th>target</th><th>figure</th><th>params</th><th>value</th><th>p50</th><th>p99</th><th>max</th><th>n</th></tr></thead><tbody>${rows}</tbody></table>
<h2>Ratios (same run)</h2><table id="ratios"><tbody>${ratios}</tbody></table>
${errors ? `<h2>Errors</h2><ul id="errors">${errors}</ul>` : ""}
</body></html>
`;
}
