/** `e2e run`: plan, set up Python, execute, report; the exit code follows the verdict. */
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { makePlan, type RunArgs } from "../plan/plan.ts";
import { assetRoot } from "../assets/bundle.ts";
import { ensurePython } from "../runtime/python/env.ts";
import { interrupted } from "../runtime/lifecycle.ts";
import { makeWorkDir, writeFileAtomic } from "../util/fs.ts";
import { ExitCode } from "../util/errors.ts";
import { assertPortFree } from "../util/port.ts";
import { log, scrub, setQuiet } from "../util/log.ts";
import { VERSION } from "../version.ts";
import { executePlan } from "./execute.ts";
import { RUN_RESULT_SCHEMA, summarizeRun, type RunResult } from "./result.ts";
import { hostEnvironment } from "./environment.ts";
import { renderSummary } from "../report/console.ts";
import { renderJUnit } from "../report/junit.ts";
import { renderMarkdown } from "../report/markdown.ts";
import { appendFile } from "node:fs/promises";
import { progressPrinter } from "../report/progress.ts";
import { printJson } from "../cli/_shared.ts";
import { parseScript, scriptBackends } from "../script/spec.ts";

export interface RunCommandArgs extends RunArgs {
  report?: string;
  junit?: string;
  markdown?: string;
  json?: boolean;
  /** `--script`: the user's script or command line, and the arguments after `--`. */
  script?: string;
  scriptArgs?: string[];
}

export async function runCommand(a: RunCommandArgs): Promise<number> {
  const script = a.script ? parseScript(a.script, a.scriptArgs) : undefined;
  const plan = script ? { ...makePlan({ ...a, backend: scriptBackends(script, a.backend) }), workflows: [], script: script.display } : makePlan(a);
  // A taken port is bad input: say so before anything starts.
  if (plan.port && plan.backends.some((b) => b.name === "mlflow" && b.mode === "native")) await assertPortFree(plan.port);
  const assets = await assetRoot(plan.assets);
  const python = await ensurePython({ python: plan.python, assets: plan.assets, onProgress: (l) => log.info(l) });
  const session = `${new Date().toISOString().slice(0, 10).replace(/-/g, "")}-${randomBytes(3).toString("hex")}`;
  const workRoot = await makeWorkDir(`e2e-${session}`, plan.keepWork);
  const started = Date.now();
  const result: RunResult = {
    schema: RUN_RESULT_SCHEMA,
    e2eVersion: VERSION,
    startedAt: new Date(started).toISOString(),
    status: "running",
    plan,
    environment: { ...hostEnvironment(), python: python.info, pythonKind: python.kind, assets: assets.source },
    workDir: plan.keepWork ? workRoot : undefined,
    backends: [],
    summary: { passed: 0, failed: 0, skipped: 0, errors: 0 },
  };
  const save = async () => {
    const text = scrub(JSON.stringify(result, null, 2));
    await writeFileAtomic(join(workRoot, "result.json"), text).catch(() => {});
    if (a.report) await writeFileAtomic(a.report, text);
    if (a.junit) await writeFileAtomic(a.junit, scrub(renderJUnit(result)));
    if (a.markdown) await writeFileAtomic(a.markdown, scrub(renderMarkdown(result)));
  };
  log.info(`e2e ${VERSION}: ${plan.backends.map((b) => `${b.name}(${b.mode})`).join(", ")} x ${script ? `script ${script.display}` : plan.workflows.join(", ")}, profile ${plan.profile}; torch ${python.info.torch?.version ?? "?"}, CUDA ${python.info.torch?.cuda ? "yes" : "no"}`);
  const progress = progressPrinter(true);
  result.backends = await executePlan({
    plan,
    python,
    assetRoot: assets.root,
    workRoot,
    session,
    script,
    log: (m) => log.info(m),
    onProgress: (b, w, p) => progress(`${b}/${w}`, p.step, p.total),
    onUpdate: async (bs) => {
      result.backends = bs;
      result.summary = summarizeRun(bs);
      await save();
    },
  });
  result.finishedAt = new Date().toISOString();
  result.durationMs = Date.now() - started;
  result.summary = summarizeRun(result.backends);
  const sig = interrupted();
  result.status = sig ? "interrupted" : result.backends.some((b) => b.status === "error") ? "error" : result.summary.failed ? "failed" : "passed";
  result.exitCode = sig ? ExitCode.interrupted : result.status === "passed" ? ExitCode.ok : result.status === "error" && !result.summary.failed ? ExitCode.backend : ExitCode.checksFailed;
  await save();
  // Inside GitHub Actions the Markdown summary also goes to the job's step summary.
  if (process.env.GITHUB_STEP_SUMMARY) await appendFile(process.env.GITHUB_STEP_SUMMARY, scrub(renderMarkdown(result))).catch(() => {});
  if (a.json) {
    setQuiet(false);
    printJson(JSON.parse(scrub(JSON.stringify(result))));
  } else process.stderr.write(`\n${scrub(renderSummary(result))}\n`);
  return result.exitCode;
}
