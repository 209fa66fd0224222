/**
 * Executes a Plan: every backend in parallel, each in its own work folder; for each, start (or
 * connect), run each workflow, verify, tear down. A failure of one backend never stops the
 * others; every finished piece is handed to `onUpdate` at once so nothing measured is lost.
 */
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { Plan } from "../plan/plan.ts";
import { TIMEOUT_MS, WORKFLOW_SPECS, variantsFor, type WorkflowName } from "../plan/workflows.ts";
import { driverFor } from "../backends/registry.ts";
import type { StartedBackend } from "../backends/types.ts";
import type { PythonEnv } from "../runtime/python/env.ts";
import { logTail, runWorkflow, type Progress } from "../runtime/python/workflow.ts";
import { check, type Check } from "../verify/check.ts";
import { workflowChecks } from "../verify/workflow-checks.ts";
import { checkTensorboard } from "../verify/tensorboard-check.ts";
import { E2EError, backendError, formatError } from "../util/errors.ts";
import { interrupted } from "../runtime/lifecycle.ts";
import type { BackendResult, WorkflowResult } from "./result.ts";
import type { ScriptSpec } from "../script/spec.ts";
import type { BackendReady } from "../report/reporter.ts";

export interface ExecuteOptions {
  plan: Plan;
  python: PythonEnv;
  assetRoot: string;
  workRoot: string;
  session: string;
  onProgress?: (backend: string, workflow: string, p: Progress) => void;
  onUpdate?: (results: BackendResult[]) => void | Promise<void>;
  /** A backend started and answers. */
  onReady?: (ready: BackendReady) => void | Promise<void>;
  log?: (msg: string) => void;
  /** `e2e run --script`: run the user's own script instead of the workflows (src/script/). */
  script?: ScriptSpec;
}

export async function executePlan(o: ExecuteOptions): Promise<BackendResult[]> {
  if (o.script) return (await import("../script/execute.ts")).executeScript(o, o.script);
  const results: BackendResult[] = o.plan.backends.map((b) => ({ backend: b.name, mode: b.mode, url: b.url, status: "passed", workflows: [] }));
  const update = () => o.onUpdate?.(results);
  await Promise.all(o.plan.backends.map((b, i) => runBackend(o, b, results[i]!, update)));
  return results;
}

async function runBackend(o: ExecuteOptions, b: Plan["backends"][number], res: BackendResult, update: () => void | Promise<void>): Promise<void> {
  const workDir = join(o.workRoot, b.name);
  await mkdir(workDir, { recursive: true });
  let started: StartedBackend | undefined;
  const t0 = Date.now();
  try {
    const driver = await driverFor(b.name);
    o.log?.(`${b.name}: starting (${b.mode})`);
    started = await driver.start({ python: o.python, workDir, session: o.session, mode: b.mode, url: b.url, credentialsFile: b.credentialsFile, port: o.plan.port, assetRoot: o.assetRoot });
    res.startMs = Date.now() - t0;
    res.url = started.url;
    res.serverVersion = started.serverVersion;
    await o.onReady?.({ backend: b.name, mode: b.mode, url: started.url, serverVersion: started.serverVersion });
    let dead: string | undefined;
    void started.died?.then((why) => (dead = why));
    for (const wf of o.plan.workflows)
      for (const variant of variantsFor(wf, o.plan.profile)) {
        if (interrupted()) break;
        if (dead) throw backendError(`${b.name} stopped part way: ${dead}`, "see the server log; the workflows before this point are in the result");
        res.workflows.push(await runOneWorkflow(o, started, wf, variant, workDir));
        await update();
      }
    if (started.lifecycle && !interrupted()) {
      res.lifecycle = await started.lifecycle().catch((err: Error) => [check("lifecycle", "run", false, `lifecycle check failed: ${err.message}`)]);
    }
    const failed = [...res.workflows.flatMap((w) => w.checks), ...(res.lifecycle ?? [])].some((c) => c.status === "fail");
    res.status = res.workflows.some((w) => w.status === "error") ? "error" : failed ? "failed" : "passed";
  } catch (err) {
    res.status = "error";
    res.error = { message: formatError(err), ...(err instanceof E2EError ? { hint: err.hint, detail: err.detail } : {}) };
    o.log?.(`${b.name}: ${formatError(err)}`);
  } finally {
    if (started?.httpRetries) res.httpRetries = started.httpRetries();
    await started?.stop().catch(() => {});
    await update();
  }
}

async function runOneWorkflow(o: ExecuteOptions, be: StartedBackend, wf: WorkflowName, variant: "clean" | "dirty", backendDir: string): Promise<WorkflowResult> {
  const workDir = join(backendDir, `${wf}-${variant}`);
  await mkdir(workDir, { recursive: true });
  const spec = WORKFLOW_SPECS[wf];
  const sizes = { ...spec.sizes[o.plan.profile], ...o.plan.sizes };
  const run = await runWorkflow({
    python: o.python.python,
    assetRoot: o.assetRoot,
    timeoutMs: o.plan.timeoutMs ?? TIMEOUT_MS[o.plan.profile],
    env: be.workflowEnv(),
    dirty: variant === "dirty",
    launcher: spec.launcher,
    abandon: be.died,
    phases: spec.phases,
    nproc: sizes.nproc,
    onProgress: (p) => o.onProgress?.(be.name, `${wf}${variant === "dirty" ? " (dirty)" : ""}`, p),
    config: {
      backend: be.name,
      workflow: wf,
      tracking_uri: null,
      offline: true,
      experiment: `e2e-${o.session}`,
      run_name: `${wf}-${variant}-${o.session}`,
      manifest: join(workDir, "manifest.json"),
      work_dir: workDir,
      tensorboard_dir: join(workDir, "tb"),
      sizes,
      seed: o.plan.seed,
      device: o.plan.device,
      ...be.workflowConfig(),
    },
  });
  const checks: Check[] = [];
  const why = run.abandoned ? `stopped: ${run.abandoned}` : run.timedOut ? "timed out and was stopped" : `exit code ${run.exitCode}`;
  checks.push(check("workflow", "exit", run.exitCode === 0 && !run.abandoned, why, 0, run.exitCode));
  const result: WorkflowResult = { workflow: wf, variant, status: "passed", exitCode: run.exitCode, durationMs: run.durationMs, checks };
  if (!run.manifest) {
    checks.push(check("workflow", "manifest", false, run.manifestError ?? "no manifest", "a manifest", null));
  } else {
    const points = run.manifest.runs.reduce((n, r) => n + Object.values(r.metrics).reduce((m, p) => m + p.length, 0), 0);
    checks.push(check("workflow", "logged", run.manifest.runs.length > 0 && points > 0, `${run.manifest.runs.length} run(s), ${points} metric points logged`, ">0 points", points));
    // The adapter's own idea of the git state must match what the harness made, or a wrong
    // expectation could agree with a wrong backend.
    for (const r of run.manifest.runs.filter((r) => r.git)) {
      const label = run.manifest.runs.length > 1 ? `${r.key}:` : "";
      const ok = r.git!.commit === run.git.commit && r.git!.dirty === run.git.dirty;
      checks.push(check("git", `${label}harness`, ok, ok ? "adapter saw the commit the harness made" : "adapter's git facts differ from the repository", run.git, r.git));
    }
    const v0 = Date.now();
    try {
      const v = await be.verify(run.manifest, workDir);
      checks.push(...v.checks, ...workflowChecks(run.manifest, v.observed), ...(await checkTensorboard(run.manifest, workDir)));
    } catch (err) {
      checks.push(check("verify", "read", false, `reading the backend failed: ${formatError(err)}`));
    }
    result.verifyMs = Date.now() - v0;
  }
  if (checks.some((c) => c.status === "fail")) {
    result.status = "failed";
    if (run.exitCode !== 0) result.logTail = await logTail(run.logFile);
  }
  o.log?.(`${be.name}/${wf} (${variant}): ${checks.filter((c) => c.status === "pass").length} passed, ${checks.filter((c) => c.status === "fail").length} failed`);
  return result;
}
