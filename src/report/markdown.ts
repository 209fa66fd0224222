/** A Markdown summary for CI (GitHub's step summary) and people: the backend x group table and every failure. */
import type { RunResult } from "../run/result.ts";
import { allChecks } from "../run/result.ts";

const cell = (s: string) => s.replace(/\|/g, "\\|").replace(/\n/g, " ");

export function renderMarkdown(r: RunResult): string {
  const groups = [...new Set(r.backends.flatMap((b) => allChecks(b).map((c) => c.group)))];
  const icon = { passed: "✅", failed: "❌", error: "⚠️", interrupted: "⏹️", running: "…" } as const;
  const out = [
    `## e2e run: ${icon[r.status]} ${r.status}`,
    "",
    `${r.summary.passed} passed, ${r.summary.failed} failed, ${r.summary.skipped} skipped${r.summary.errors ? `, ${r.summary.errors} errors` : ""} · profile ${r.plan.profile} · ${r.plan.workflows.join(", ")} · ${((r.durationMs ?? 0) / 1000).toFixed(1)} s`,
    "",
    `| backend | mode | ${groups.join(" | ")} | result |`,
    `|---|---|${groups.map(() => "---|").join("")}---|`,
  ];
  for (const b of r.backends) {
    const cs = allChecks(b);
    const cells = groups.map((g) => {
      const gc = cs.filter((c) => c.group === g);
      const f = gc.filter((c) => c.status === "fail").length;
      const p = gc.filter((c) => c.status === "pass").length;
      return !gc.length ? "–" : f ? `❌ ${p}/${p + f}` : p ? `✅ ${p}` : "skip";
    });
    out.push(`| ${b.backend} | ${b.mode} | ${cells.join(" | ")} | ${icon[b.status]} ${b.status} |`);
  }
  const failures = r.backends.flatMap((b) => [
    ...(b.error ? [`- **${b.backend}**: ${cell(b.error.message)}`] : []),
    ...b.workflows.flatMap((w) => w.checks.filter((c) => c.status === "fail").map((c) => `- **${b.backend}/${w.workflow}${w.variant ? ` (${w.variant})` : ""}** \`${c.name}\`: ${cell(c.message)}`)),
  ]);
  if (failures.length) out.push("", "### Failures", "", ...failures);
  const env = r.environment as Record<string, any>;
  out.push("", `<sub>e2e ${r.e2eVersion} · ${env.os ?? ""} · ${env.cpus ?? "?"} CPUs · torch ${env.python?.torch?.version ?? "?"} · CUDA build ${env.python?.torch?.cudaVersion ?? "none"}</sub>`, "");
  return out.join("\n");
}
