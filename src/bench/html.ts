/**
 * The self-contained HTML report: inline SVG charts (throughput by target, latency against
 * history size, overhead, scalability, artifacts, memory) and the full table. No scripts, no
 * external resources: it reads offline.
 */
import type { Figure } from "./figure.ts";
import { incomparableOf, type BenchResult } from "./result.ts";
import { barChart, esc, lineChart, type Series } from "./svg.ts";
import { FIGURE_HEAD, FLEET_HEAD, NOT_COMPARABLE, figureRows, fleetRows, lowSampleLines, modeHead, modeRows } from "./table.ts";
import { REFERENCES } from "./references.ts";
import { ceilingLine, ceilingOf, ceilingSummary } from "./ceiling.ts";
import { formatValue } from "./sizes.ts";
import { testDoubleNote } from "./environment.ts";

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
    lineChart({ id: "fleet-throughput", title: `Training fleet (${r.fleet.map((s) => `${s.plan.keys} metrics every ${s.plan.intervalMs} ms per job${s.knee ? `; knee ${s.knee.jobs} jobs` : s.noKnee ? "; no knee" : ""}`).join("; ")}): points/s offered and sustained`, xLabel: "jobs", unit: "points/s", logX: true, logY: true, series: r.fleet.flatMap((s) => [
      { name: `${s.target}${s.workers ? ` ${s.workers}w` : ""} sustained`, points: s.steps.map((p) => ({ x: p.jobs, y: Math.max(p.pointsPerSec, 1e-3) })) },
      { name: `${s.target}${s.workers ? ` ${s.workers}w` : ""} offered`, points: s.steps.map((p) => ({ x: p.jobs, y: p.offeredPointsPerSec })) },
    ]) }),
    lineChart({ id: "fleet-latency", title: `Training fleet: log-call latency under load (p99 threshold ${r.fleet.map((s) => `${s.plan.p99LimitMs} ms`).join(", ")})`, xLabel: "jobs", unit: "ms", logX: true, logY: true, series: r.fleet.flatMap((s) => [
      { name: `${s.target}${s.workers ? ` ${s.workers}w` : ""} p99`, points: s.steps.map((p) => ({ x: p.jobs, y: Math.max(p.p99Ms, 1e-3) })) },
      { name: `${s.target}${s.workers ? ` ${s.workers}w` : ""} p50`, points: s.steps.map((p) => ({ x: p.jobs, y: Math.max(p.p50Ms, 1e-3) })) },
    ]) }),
    lineChart({ id: "scalability", title: "Concurrent clients: throughput (log-batch of 100)", xLabel: "clients", unit: "points/s", logX: true, logY: true, series: r.scalability.map((s) => ({ name: `${s.target}${s.workers ? ` ${s.workers}w` : ""}${s.knee ? ` (knee ${s.knee.clients})` : s.noKnee ? " (no knee: 1 client failed)" : ""}`, points: s.steps.map((p) => ({ x: p.clients, y: p.throughput })) })) }),
    lineChart({ id: "artifacts", title: "Artifact transfer: MLflow (proxy, and a direct store when measured), the HTTP sink through the client, the sink alone, and raw TCP on the loopback (MB/s)", xLabel: "bytes", unit: "MB/s", logX: true, logY: true, series: seriesBy([...by("http.artifact.upload"), ...by("http.artifact.download"), ...by("direct.artifact.upload"), ...by("direct.artifact.download"), ...by("tcp.loopback.transfer"), ...by("tcp.sink.upload"), ...by("tcp.sink.download")], "size", (f) => f.value, (f) => (f.name === "tcp.loopback.transfer" ? `${f.target} raw TCP` : f.name.startsWith("tcp.sink.") ? `sink alone (plain socket) ${f.name.split(".").pop()}` : `${f.target}${f.name.startsWith("direct.") ? " direct store" : ""} ${f.name.split(".").pop()}`)) }),
    barChart({ id: "memory", title: "Peak resident memory", unit: "MiB", bars: r.figures.filter((f) => f.group === "memory" && !f.name.endsWith("tree_peak_rss")).map((f) => ({ label: `${label(f)} ${f.name.replace("memory.", "").replace(".peak_rss", "")}`, value: f.value / 2 ** 20 })) }),
  ].filter(Boolean);
  const env = r.environment as Record<string, unknown>;
  const rows = figureRows(r.figures).map((cells) => `<tr>${cells.map((c, i) => `<td${i >= 3 ? ' class="n"' : ""}>${esc(c)}</td>`).join("")}</tr>`).join("");
  const ratios = r.ratios.map((x) => `<tr><td>${esc(x.numerator)}</td><td>${esc(x.denominator)}</td><td class="n">${x.value.toPrecision(3)}${x.lowSamples ? " *" : ""}</td><td class="n">${x.ci ? esc(`${x.ci.lo.toPrecision(3)}-${x.ci.hi.toPrecision(3)}`) : ""}</td></tr>`).join("") + incomparableOf(r.figures).map((x) => `<tr class="not-comparable"><td>${esc(x.numerator)}</td><td>${esc(x.denominator)}</td><td>${esc(NOT_COMPARABLE)}</td><td>${esc(x.why)}</td></tr>`).join("");
  const fleet = fleetRows(r).map((cells) => `<tr>${cells.map((c, i) => `<td${i >= 1 ? ' class="n"' : ""}>${esc(c)}</td>`).join("")}</tr>`).join("");
  const modes = modeRows(r).map((cells) => `<tr>${cells.map((c, i) => `<td${i >= 2 ? ' class="n"' : ""}>${esc(c)}</td>`).join("")}</tr>`).join("");
  const low = lowSampleLines(r.figures).map((l) => `<li>${esc(l)}</li>`).join("");
  const noKnee = r.fleet.filter((s) => !s.knee && s.noKnee).map((s) => `<p class="no-knee">${esc(`${s.target}${s.workers ? ` (${s.workers} workers)` : ""}: no knee: ${s.noKnee!.why}.`)}</p>`).join("");
  const refs = REFERENCES.map((x) => `<li>${esc(x.figure)}. <i>${esc(x.conditions)}</i>. Source: ${esc(x.source.replace(/\s*\(https?:[^)]*\)/, ""))}</li>`).join("");
  const load = (env.loadAverage as number[] | undefined)?.map((x) => x.toFixed(2)).join(" ");
  const ceilingRows = r.ceiling ?? ceilingOf(r.figures);
  const ceiling = ceilingRows.map((x) => `<li>${esc(ceilingLine(x, r.figures))}</li>`).join("");
  const errors = r.errors.map((e) => `<li>${esc(`${e.target} ${e.stage}: ${e.message}`)}</li>`).join("");
  const retries = (r.retries ?? []).map((x) => `<li>${esc(`${x.target} ${x.what}: attempt ${x.attempt} failed (${x.message})`)}</li>`).join("");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>e2e bench ${esc(r.profile)} ${esc(r.startedAt)}</title>
<style>body{font:14px sans-serif;margin:24px;max-width:1100px}figure.chart{display:inline-block;margin:8px;vertical-align:top}figcaption{font-weight:bold;margin-bottom:4px}table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #ddd;padding:2px 6px}td.n{text-align:right;font-variant-numeric:tabular-nums}</style>
</head><body>
<h1>e2e bench (${esc(r.profile)}): ${esc(r.status)}</h1>
<p id="environment">${esc(`${env.cpus} x ${env.cpu}, ${formatValue(Number(env.memoryBytes ?? 0), "bytes")}, ${env.os}; started ${r.startedAt}${r.durationMs ? `, ${(r.durationMs / 1000).toFixed(0)} s` : ""}; ${env.mlflowWorkers === null ? "a server by URL (workers not visible)" : "MLflow workers pinned to 1"}; load average ${load ?? "?"} when it started (other work skews every figure)`)}</p>
${testDoubleNote(env) ? `<p id="test-double"><b>${esc(testDoubleNote(env)!)}.</b></p>\n` : ""}<section id="charts">${charts.join("\n")}</section>
<h2>Figures</h2><p>n marked * : fewer than 1000 samples, so its p99 and interval are indicative only, and so is every throughput or ratio built from them (ratios marked *). 95% CI: order statistics for medians, bootstrap for means.</p>
<table id="figures"><thead><tr>${FIGURE_HEAD.map((h) => `<th>${esc(h)}</th>`).join("")}</tr></thead><tbody>${rows}</tbody></table>
${low ? `<h3>Why fewer than 1000 samples</h3><ul id="low-samples">${low}</ul>` : ""}
${fleet ? `<h2>Training fleet</h2>${noKnee}<table id="fleet"><thead><tr>${FLEET_HEAD.map((h) => `<th>${esc(h)}</th>`).join("")}</tr></thead><tbody>${fleet}</tbody></table>` : ""}
${modes ? `<h2>MLflow native beside docker</h2><p>The same figures on both servers (* fewer than 1000 samples).</p><table id="modes"><thead><tr>${modeHead(r).map((h) => `<th>${esc(h)}</th>`).join("")}</tr></thead><tbody>${modes}</tbody></table>` : ""}
${ceiling ? `<h2>Harness ceiling</h2><p>${esc(ceilingSummary(ceilingRows))} (* fewer than 1000 samples.)</p><ul id="ceiling">${ceiling}</ul>` : ""}
<h2>Ratios (same run)</h2><table id="ratios"><thead><tr><th>figure</th><th>over</th><th>ratio</th><th>95% CI</th></tr></thead><tbody>${ratios}</tbody></table>
${r.cleanup ? `<h2>Server clean-up</h2><p id="cleanup">${esc(`${r.cleanup.experiments} experiment(s), ${r.cleanup.runs} run(s), ${r.cleanup.artifacts} artifact file(s) deleted. ${r.cleanup.remains}.`)}</p>` : ""}
<h2>Published reference points</h2><p>For orientation only: other hardware, versions and load; never pass/fail.</p><ul id="references">${refs}</ul>
${errors ? `<h2>Errors</h2><ul id="errors">${errors}</ul>` : ""}
${retries ? `<h2>Set-up requests sent again</h2><ul id="retries">${retries}</ul>` : ""}
</body></html>
`;
}
