/** The outputs of `e2e run`, chosen by its flags: each one a Reporter over the RunResult. */
import { appendFile } from "node:fs/promises";
import { join } from "node:path";
import type { RunResult } from "../run/result.ts";
import { log, scrub } from "../util/log.ts";
import { writeStdout } from "../util/output.ts";
import { renderSummary } from "./console.ts";
import { fileReporter } from "./file.ts";
import { renderJUnit } from "./junit.ts";
import { renderMarkdown } from "./markdown.ts";
import { progressPrinter } from "./progress.ts";
import type { Reporter } from "./reporter.ts";

export interface RunOutputs {
  json?: boolean;
  report?: string;
  junit?: string;
  markdown?: string;
  /** The work folder: result.json is kept there too (read with --keep-work). */
  workRoot: string;
}

const jsonText = (r: RunResult) => JSON.stringify(r, null, 2);

export function runReporters(o: RunOutputs): Reporter<RunResult>[] {
  const progress = progressPrinter(true);
  const list: Reporter<RunResult>[] = [
    { name: "progress", step: (what, step, total) => progress(what, step, total) },
    { name: "log", backendReady: (b) => log.info(`${b.backend}: ready${b.url ? ` at ${b.url}` : ""}${b.serverVersion ? ` (server ${b.serverVersion})` : ""}`) },
    fileReporter("result", join(o.workRoot, "result.json"), jsonText, { everyStep: true, onlyIntoExistingFolder: true }),
  ];
  if (o.report) list.push(fileReporter("--report", o.report, jsonText, { everyStep: true }));
  if (o.junit) list.push(fileReporter("--junit", o.junit, renderJUnit, { everyStep: true }));
  if (o.markdown) list.push(fileReporter("--markdown", o.markdown, renderMarkdown, { everyStep: true }));
  // Inside GitHub Actions the Markdown summary also goes to the job's step summary.
  const summary = process.env.GITHUB_STEP_SUMMARY;
  if (summary) list.push({ name: `GitHub step summary ${summary}`, end: (r) => appendFile(summary, scrub(renderMarkdown(r))) });
  if (o.json)
    list.push({
      name: "json stdout",
      printsToStdout: true,
      end: (r) => writeStdout(`${scrub(jsonText(r))}\n`),
    });
  else list.push({ name: "console", end: (r) => void process.stderr.write(`\n${scrub(renderSummary(r))}\n`) });
  return list;
}
