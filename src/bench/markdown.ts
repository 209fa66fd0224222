/** The Markdown report (CI job summaries): environment line, figures table, knees, ratios, errors. */
import { incomparableOf, type BenchResult } from "./result.ts";
import { FIGURE_HEAD, FLEET_HEAD, NOT_COMPARABLE, figureRows, fleetRows, lowSampleLines, modeHead, modeRows } from "./table.ts";
import { REFERENCES } from "./references.ts";
import { ceilingLine, ceilingOf, ceilingSummary } from "./ceiling.ts";
import { formatValue } from "./sizes.ts";
import { testDoubleNote } from "./environment.ts";
import { kneeChangeText } from "./baseline.ts";

const row = (cells: string[]) => `| ${cells.map((c) => c.replace(/\|/g, "\\|")).join(" | ")} |`;

export function renderMarkdown(r: BenchResult): string {
  const env = r.environment as { cpu?: string; cpus?: number; memoryBytes?: number; os?: string };
  const out = [
    `# e2e bench (${r.profile})`,
    "",
    `${r.status}, ${r.startedAt}${r.durationMs ? `, ${(r.durationMs / 1000).toFixed(0)} s` : ""}; ${env.cpus} x ${env.cpu}, ${formatValue(env.memoryBytes ?? 0, "bytes")}, ${env.os}; ${r.environment.mlflowWorkers === null ? "a server by URL" : "MLflow workers pinned to 1"}; load average ${((r.environment as { loadAverage?: number[] }).loadAverage ?? []).map((x) => x.toFixed(2)).join(" ")} when it started.`,
    ...(testDoubleNote(r.environment) ? ["", `**${testDoubleNote(r.environment)}.**`] : []),
    "",
    row(FIGURE_HEAD),
    row(Array(FIGURE_HEAD.length).fill("---")),
    ...figureRows(r.figures).map(row),
    "",
    "n marked * : fewer than 1000 samples, so its p99 and interval are indicative only, and so is every throughput or ratio built from them (ratios marked *). 95% CI: order statistics for medians, bootstrap for means.",
  ];
  const low = lowSampleLines(r.figures);
  if (low.length) out.push("", "Why fewer than 1000 samples:", "", ...low.map((l) => `- ${l}`));
  if (r.fleet.length) {
    out.push("", "## Training fleet", "", row(FLEET_HEAD), row(Array(FLEET_HEAD.length).fill("---")), ...fleetRows(r).map(row));
    for (const s of r.fleet) if (!s.knee && s.noKnee) out.push("", `${s.target}${s.workers ? ` (${s.workers} workers)` : ""}: no knee: ${s.noKnee.why}.`);
    for (const s of r.fleet) if (s.knee) out.push("", `${s.target}${s.workers ? ` (${s.workers} workers)` : ""}: knee at ${s.knee.jobs} job(s) (${s.plan.keys} metrics every ${s.plan.intervalMs} ms), ${Math.round(s.knee.pointsPerSec)} points/s sustained, p99 ${s.knee.p99Ms.toFixed(1)} ms; stopped: ${s.knee.reason}.`);
  }
  const modes = modeRows(r);
  if (modes.length) out.push("", "## MLflow native beside docker", "", "The same figures on both servers (* fewer than 1000 samples).", "", row(modeHead(r)), row(Array(5).fill("---")), ...modes.map(row));
  if (r.cleanup) out.push("", `Server clean-up: ${r.cleanup.experiments} experiment(s), ${r.cleanup.runs} run(s), ${r.cleanup.artifacts} artifact file(s) deleted. ${r.cleanup.remains}.`);
  out.push("", "## Published reference points (for orientation, never pass/fail)", "", ...REFERENCES.map((x) => `- ${x.figure}: ${x.conditions}. Source: ${x.source}`));
  if (r.scalability.length) {
    out.push("", "## Scalability", "", row(["target", "knee (clients)", "points/s", "stopped"]), row(Array(4).fill("---")));
    for (const s of r.scalability) if (s.knee) out.push(row([s.target, String(s.knee.clients), Math.round(s.knee.throughput).toString(), `${s.knee.reason}${s.knee.error ? `: ${s.knee.error}` : ""}`]));
    for (const s of r.scalability) if (!s.knee && s.noKnee) out.push(row([s.target, "no knee", "-", `${s.noKnee.reason}: ${s.noKnee.why}`]));
  }
  const ceiling = r.ceiling ?? ceilingOf(r.figures);
  if (ceiling.length) out.push("", "## Harness ceiling", "", `${ceilingSummary(ceiling)} (* fewer than 1000 samples.)`, "", ...ceiling.map((x) => `- ${ceilingLine(x, r.figures)}`));
  const apart = incomparableOf(r.figures);
  if (r.ratios.length || apart.length) {
    out.push("", "## Ratios (same run)", "", row(["figure", "over", "ratio"]), row(Array(3).fill("---")));
    for (const x of r.ratios) out.push(row([x.numerator, x.denominator, `${x.value.toPrecision(3)}${x.ci ? ` (${x.ci.lo.toPrecision(3)}-${x.ci.hi.toPrecision(3)})` : ""}${x.lowSamples ? " *" : ""}`]));
    for (const x of apart) out.push(row([x.numerator, x.denominator, `${NOT_COMPARABLE}: ${x.why}`]));
  }
  if (r.comparison) out.push("", `## Baseline`, "", `${r.comparison.compared} figures compared; ${r.comparison.regressions.length} regressed beyond ${(r.comparison.threshold * 100).toFixed(0)}%.`, ...r.comparison.regressions.map((x) => `- ${x.id}: ${x.baseline.toPrecision(4)} -> ${x.current.toPrecision(4)} ${x.unit}`), ...(r.comparison.knees ?? []).map((x) => `- ${x.id}: ${kneeChangeText(x)}`));
  if (r.errors.length) out.push("", "## Errors", "", ...r.errors.map((e) => `- ${e.target} ${e.stage}: ${e.message}`));
  if (r.retries?.length) out.push("", "## Set-up requests sent again", "", ...r.retries.map((x) => `- ${x.target} ${x.what}: attempt ${x.attempt} failed (${x.message})`));
  return `${out.join("\n")}\n`;
}
