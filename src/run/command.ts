/** `e2e run`: plan, set up Python, execute, report; the exit code follows the verdict. */
import { randomBytes } from "node:crypto";
import { makePlan, type RunArgs } from "../plan/plan.ts";
import { assetRoot } from "../assets/bundle.ts";
import { ensurePython } from "../runtime/python/env.ts";
import { interrupted, onTeardown } from "../runtime/lifecycle.ts";
import { makeWorkDir } from "../util/fs.ts";
import { assertPortFree } from "../util/port.ts";
import { log } from "../util/log.ts";
import { VERSION } from "../version.ts";
import { executePlan } from "./execute.ts";
import { RUN_RESULT_SCHEMA, runVerdict, summarizeRun, type RunResult } from "./result.ts";
import { runPerf } from "./perf.ts";
import { hostEnvironment } from "./environment.ts";
import { Reporters } from "../report/reporter.ts";
import { runReporters } from "../report/run-reporters.ts";
import { parseScript, scriptBackends } from "../script/spec.ts";
import { BACKENDS } from "../backends/registry.ts";
import { sayList } from "../util/words.ts";

/** For --help, from the backend descriptors: names, and each one's modes (* the default). */
export const RUN_HELP = {
  backends: BACKENDS.map((b) => b.name).join(", "),
  /** The servers --url reaches. */
  urls: sayList(BACKENDS.filter((b) => b.modes.includes("url")).map((b) => (b.urlIs ? `${b.title} (${b.urlIs})` : b.title)), "or"),
  modes: BACKENDS.map((b) => `${b.name} ${b.modes.map((m) => (m === b.defaultMode ? `${m}*` : m)).join("|")}`).join("; "),
  /** What --api-key-file holds per backend, and the environment read otherwise. */
  credentials: BACKENDS.filter((b) => b.credentials.file)
    .map((b) => `${b.title}: ${b.credentials.file}; the environment (${b.credentials.env.join(", ")}) wins when set; or name the file in ${b.credentials.fileEnv}`)
    .join("; "),
};

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
  const probeStart = performance.now();
  const python = await ensurePython({ python: plan.python, assets: plan.assets, onProgress: (l) => log.info(l) });
  const probeMs = performance.now() - probeStart;
  let reportsMs = 0;
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
  const reporters = new Reporters(runReporters({ ...a, workRoot }));
  // The same array: the document printed last names every report that could not be written.
  result.reportErrors = reporters.failures;
  log.info(`e2e ${VERSION}: ${plan.backends.map((b) => `${b.name}(${b.mode})`).join(", ")} x ${script ? `script ${script.display}` : plan.workflows.join(", ")}, profile ${plan.profile}; torch ${python.info.torch?.version ?? "?"} (CUDA build ${python.info.torch?.cudaVersion ?? "none"})`);
  // Ctrl-C: after the backends' teardowns (registered later, run first), every output still
  // gets the document as far as it went, marked interrupted.
  const offInterrupted = onTeardown("run result", async () => {
    Object.assign(result, runVerdict(result.backends, summarizeRun(result.backends), interrupted() ?? "SIGINT"));
    result.finishedAt = new Date().toISOString();
    result.durationMs = Date.now() - started;
    await reporters.end(result);
  });
  await reporters.begin(result);
  result.backends = await executePlan({
    plan,
    python,
    assetRoot: assets.root,
    workRoot,
    session,
    script,
    log: (m) => log.info(m),
    onReady: (ready) => reporters.backendReady(ready, result),
    onProgress: (b, w, p) => reporters.step(`${b}/${w}`, p.step, p.total),
    onUpdate: async (bs) => {
      result.backends = bs;
      result.summary = summarizeRun(bs);
      const r0 = performance.now();
      await reporters.workflowEnd(result);
      reportsMs += performance.now() - r0;
    },
  });
  result.finishedAt = new Date().toISOString();
  result.durationMs = Date.now() - started;
  result.summary = summarizeRun(result.backends);
  Object.assign(result, runVerdict(result.backends, result.summary, interrupted()));
  result.perf = runPerf(result.backends, { probeMs, probeCached: !!python.cached, reportsMs });
  // Interrupted: the teardown above writes the outputs, after the backends have stopped.
  if (interrupted()) return result.exitCode!;
  offInterrupted();
  await reporters.end(result);
  return result.exitCode!;
}
