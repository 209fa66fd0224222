/** The Markdown report (CI job summaries): environment line, figures table, knees, ratios, errors. */
import type { BenchResult } from "./result.ts";
import { figureRows } from "./table.ts";
import { formatValue } from "./sizes.ts";

const row = (cells: string[]) => `| ${cells.map((c) => c.replace(/\|/g, "\\|")).join(" | ")} |`;

export function renderMarkdown(r: BenchResult): string {
  const env = r.environment as { cpu?: string; cpus?: number; memoryBytes?: number; os?: string };
  const out = [
    `# e2e bench (${r.profile})`,
    "",
    `${r.status}, ${r.startedAt}${r.durationMs ? `, ${(r.durationMs / 1000).toFixed(0)} s` : ""}; ${env.cpus} x ${env.cpu}, ${formatValue(env.memoryBytes ?? 0, "bytes")}, ${env.os}; MLflow workers pinned to 1.`,
    "",
    row(["target", "figure", "params", "value", "p50", "p99", "max", "n"]),
    row(Array(8).fill("---")),
    ...figureRows(r.figures).map(row),
    "",
    "n marked * : fewer than 1000 samples, so its p99 is indicative only.",
  ];
  if (r.scalability.length) {
    out.push("", "## Scalability", "", row(["target", "knee (clients)", "points/s", "stopped"]), row(Array(4).fill("---")));
    for (const s of r.scalability) if (s.knee) out.push(row([s.target, String(s.knee.clients), Math.round(s.knee.throughput).toString(), `${s.knee.reason}${s.knee.error ? `: ${s.knee.error}` : ""}`]));
  }
  if (r.ratios.length) {
    out.push("", "## Ratios (same run)", "", row(["figure", "over", "ratio"]), row(Array(3).fill("---")));
    for (const x of r.ratios) out.push(row([x.numerator, x.denominator, x.value.toPrecision(3)]));
  }
  if (r.comparison) out.push("", `## Baseline`, "", `${r.comparison.compared} figures compared; ${r.comparison.regressions.length} regressed beyond ${(r.comparison.threshold * 100).toFixed(0)}%.`, ...r.comparison.regressions.map((x) => `- ${x.id}: ${x.baseline.toPrecision(4)} -> ${x.current.toPrecision(4)} ${x.unit}`));
  if (r.errors.length) out.push("", "## Errors", "", ...r.errors.map((e) => `- ${e.target} ${e.stage}: ${e.message}`));
  return `${out.join("\n")}\n`;
}
