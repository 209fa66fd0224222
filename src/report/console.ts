/** The terminal summary: a backend x check-group table, then every failed check with its evidence. */
import type { RunResult } from "../run/result.ts";
import { allChecks } from "../run/result.ts";
import { colorOn } from "../util/color.ts";

const color = (code: number, s: string, on: boolean) => (on ? `\x1b[${code}m${s}\x1b[0m` : s);

export function renderSummary(r: RunResult, tty = colorOn(process.stderr)): string {
  const groups = [...new Set(r.backends.flatMap((b) => allChecks(b).map((c) => c.group)))];
  const head = ["backend", "mode", ...groups, "result"];
  const rows = r.backends.map((b) => {
    const cs = allChecks(b);
    const cells = groups.map((g) => {
      const gc = cs.filter((c) => c.group === g);
      if (!gc.length) return "-";
      const f = gc.filter((c) => c.status === "fail").length;
      const p = gc.filter((c) => c.status === "pass").length;
      return f ? `${p}/${p + f} FAIL` : p ? `${p} ok` : "skip";
    });
    return [b.backend, b.mode, ...cells, b.status === "error" ? "ERROR" : b.status.toUpperCase()];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join("  ");
  const out = [line(head), widths.map((w) => "-".repeat(w)).join("  ")];
  for (const row of rows) {
    const txt = line(row);
    out.push(row.at(-1) === "PASSED" ? color(32, txt, tty) : color(31, txt, tty));
  }
  for (const b of r.backends) {
    if (b.error) out.push("", color(31, `${b.backend}: ${b.error.message}`, tty), ...(b.error.detail ? [indent(b.error.detail)] : []));
    for (const w of b.workflows) {
      for (const c of w.checks.filter((c) => c.status === "fail"))
        out.push(color(31, `  FAIL ${b.backend}/${w.workflow} ${c.name}: ${c.message}`, tty));
      if (w.logTail) out.push(`  last lines of the ${w.workflow} log:`, indent(w.logTail));
    }
    for (const c of (b.lifecycle ?? []).filter((c) => c.status === "fail")) out.push(color(31, `  FAIL ${b.backend} ${c.name}: ${c.message}`, tty));
  }
  const s = r.summary;
  out.push("", `${s.passed} passed, ${s.failed} failed, ${s.skipped} skipped${s.errors ? `, ${s.errors} errors` : ""} in ${((r.durationMs ?? 0) / 1000).toFixed(1)} s`);
  return out.join("\n");
}

const indent = (s: string) => s.split("\n").map((l) => `    ${l}`).join("\n");
