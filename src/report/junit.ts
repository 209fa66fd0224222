/**
 * JUnit XML: one test case per backend x workflow (variant) x check group, as CI systems
 * (GitHub test reporters, Jenkins, GitLab) read it. Failed checks become <failure> with evidence.
 */
import type { RunResult } from "../run/result.ts";
import type { Check } from "../verify/check.ts";

const esc = (s: string) =>
  s.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, "").replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

interface Case {
  classname: string;
  name: string;
  time: number;
  checks: Check[];
  error?: string;
}

function cases(r: RunResult): Case[] {
  const out: Case[] = [];
  for (const b of r.backends) {
    const cls = `e2e.${b.backend}.${b.mode}`;
    if (b.error) out.push({ classname: cls, name: "start", time: (b.startMs ?? 0) / 1000, checks: [], error: [b.error.message, b.error.detail].filter(Boolean).join("\n") });
    for (const w of b.workflows) {
      const groups = [...new Set(w.checks.map((c) => c.group))];
      for (const g of groups)
        out.push({ classname: `${cls}.${w.workflow}${w.variant ? `.${w.variant}` : ""}`, name: g, time: w.durationMs / 1000 / groups.length, checks: w.checks.filter((c) => c.group === g) });
    }
    if (b.lifecycle?.length) out.push({ classname: cls, name: "lifecycle", time: 0, checks: b.lifecycle });
  }
  return out;
}

export function renderJUnit(r: RunResult): string {
  const cs = cases(r);
  const failures = cs.filter((c) => c.checks.some((k) => k.status === "fail")).length;
  const errors = cs.filter((c) => c.error).length;
  const skipped = cs.filter((c) => c.checks.length && c.checks.every((k) => k.status === "skip")).length;
  const lines = [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<testsuites name="e2e" tests="${cs.length}" failures="${failures}" errors="${errors}" skipped="${skipped}" time="${((r.durationMs ?? 0) / 1000).toFixed(3)}">`,
    `  <testsuite name="e2e run" tests="${cs.length}" failures="${failures}" errors="${errors}" skipped="${skipped}" timestamp="${r.startedAt}">`,
  ];
  for (const c of cs) {
    lines.push(`    <testcase classname="${esc(c.classname)}" name="${esc(c.name)}" time="${c.time.toFixed(3)}">`);
    const failed = c.checks.filter((k) => k.status === "fail");
    if (c.error) lines.push(`      <error message="${esc(c.error.split("\n")[0]!)}">${esc(c.error)}</error>`);
    else if (failed.length)
      lines.push(
        `      <failure message="${esc(`${failed.length} check(s) failed: ${failed.map((k) => k.name).slice(0, 5).join(", ")}`)}">${esc(
          failed.map((k) => `${k.name}: ${k.message}\n  expected: ${JSON.stringify(k.expected)}\n  actual: ${JSON.stringify(k.actual)}`).join("\n"),
        )}</failure>`,
      );
    else if (c.checks.length && c.checks.every((k) => k.status === "skip")) lines.push(`      <skipped message="${esc(c.checks[0]!.message)}"/>`);
    lines.push(`      <system-out>${esc(c.checks.map((k) => `${k.status} ${k.name}: ${k.message}`).join("\n"))}</system-out>`);
    lines.push(`    </testcase>`);
  }
  lines.push(`  </testsuite>`, `</testsuites>`, "");
  return lines.join("\n");
}
