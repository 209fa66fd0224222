/**
 * The outputs of `e2e bench`, chosen by its flags: each one a Reporter over the BenchResult
 * (src/report/reporter.ts). The JSON files are rewritten after every stage (an interrupted run
 * leaves what it measured); the rendered reports are written at the end. A report that cannot be
 * written is recorded in reportErrors and said once; measurements and the exit code stay.
 */
import { join } from "node:path";
import { fileReporter } from "../report/file.ts";
import type { Reporter } from "../report/reporter.ts";
import { scrub } from "../util/log.ts";
import { printJson } from "../util/output.ts";
import { ghBenchEntries, ghBenchPaths } from "./gh-bench.ts";
import { renderHtml } from "./html.ts";
import { renderMarkdown } from "./markdown.ts";
import { ratiosOf, type BenchResult } from "./result.ts";
import { renderBenchTable } from "./table.ts";

export interface BenchOutputs {
  json?: boolean;
  report?: string;
  html?: string;
  markdown?: string;
  ghBench?: string;
  workRoot: string;
}

const jsonText = (r: BenchResult) => JSON.stringify({ ...r, ratios: ratiosOf(r.figures) }, null, 2);

export function benchReporters(o: BenchOutputs): Reporter<BenchResult>[] {
  const list: Reporter<BenchResult>[] = [fileReporter("result", join(o.workRoot, "bench-result.json"), jsonText, { everyStep: true, onlyIntoExistingFolder: true })];
  if (o.report) list.push(fileReporter("--report", o.report, jsonText, { everyStep: true }));
  if (o.html) list.push(fileReporter("--html", o.html, renderHtml));
  if (o.markdown) list.push(fileReporter("--markdown", o.markdown, renderMarkdown));
  if (o.ghBench) {
    const p = ghBenchPaths(o.ghBench);
    list.push(fileReporter("--gh-bench", p.smaller, (r) => JSON.stringify(ghBenchEntries(r, "smaller"), null, 2)));
    list.push(fileReporter("--gh-bench", p.bigger, (r) => JSON.stringify(ghBenchEntries(r, "bigger"), null, 2)));
  }
  list.push({ name: "table", end: (r) => void process.stderr.write(`\n${scrub(renderBenchTable(r))}\n`) });
  if (o.json) list.push({ name: "json stdout", printsToStdout: true, end: (r) => printJson(JSON.parse(scrub(jsonText(r)))) });
  return list;
}
