/**
 * Executes a Plan: every backend in parallel, each in its own work folder; for each, start (or
 * connect), run each workflow, verify, tear down. A failure of one backend never stops the
 * others; every finished piece is handed to `onUpdate` at once so nothing measured is lost.
 */
import { peakRssBytes } from "./perf.ts";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { Plan } from "../plan/plan.ts";
import { TIMEOUT_MS, WORKFLOW_SPECS, variantsFor, type WorkflowName } from "../plan/workflows.ts";
import type { StartedBackend } from "../backends/types.ts";
import { logTail, runWorkflow, type Progress } from "../runtime/python/workflow.ts";
import { check, type Check } from "../verify/check.ts";
import { verifyWorkflow } from "../verify/verify-workflow.ts";
import { interrupted } from "../runtime/lifecycle.ts";
import { allChecks, statusOf, type BackendResult, type WorkflowResult } from "./result.ts";
import type { ScriptSpec } from "../script/spec.ts";
import { BackendSession, type PlannedBackend, type SessionContext } from "./session.ts";

export interface ExecuteOptions extends SessionContext {
  plan: Plan;
  onProgress?: (backend: string, workflow: string, p: Progress) => void;
  onUpdate?: (results: BackendResult[]) => void | Promise<void>;
  /** `e2e run --script`: run the user's own script instead of the workflows (src/script/). */
  script?: ScriptSpec;
}

/** The session context of a plan: --port, and --timeout (else the profile's deadline for workflows). */
export function sessionContext(o: ExecuteOptions, defaultTimeoutMs?: number): SessionContext {
  return { ...o, port: o.plan.port, timeoutMs: o.plan.timeoutMs ?? defaultTimeoutMs };
}

export async function executePlan(o: ExecuteOptions): Promise<BackendResult[]> {
  if (o.script) return (await import("../script/execute.ts")).executeScript(o, o.script);
  const ctx = sessionContext(o, TIMEOUT_MS[o.plan.profile]);
  const sessions = o.plan.backends.map((b) => new BackendSession(ctx, b));
  const results = sessions.map((s) => s.result);
  const update = () => o.onUpdate?.(results);
  await Promise.all(sessions.map((s) => runBackend(o, s, update)));
  return results;
}

async function runBackend(o: ExecuteOptions, session: BackendSession, update: () => void | Promise<void>): Promise<void> {
  const res = session.result;
  {
    await using s = session;
    await s.guard(async () => {
      const be = await s.start();
      for (const wf of o.plan.workflows)
        for (const variant of variantsFor(wf, o.plan.profile)) {
          if (interrupted()) break;
          s.assertAlive();
          res.workflows.push(await runOneWorkflow(o, s, be, wf, variant));
          await update();
        }
      if (be.lifecycle && !interrupted()) {
        res.lifecycle = await be.lifecycle().catch((err: Error) => [check("lifecycle", "run", false, `lifecycle check failed: ${err.message}`)]);
      }
      res.status = statusOf(allChecks(res), res.workflows.some((w) => w.status === "error"));
    });
  }
  await update();
}

async function runOneWorkflow(o: ExecuteOptions, s: BackendSession, be: StartedBackend, wf: WorkflowName, variant: "clean" | "dirty"): Promise<WorkflowResult> {
  const workDir = join(s.workDir, `${wf}-${variant}`);
  await mkdir(workDir, { recursive: true });
  const spec = WORKFLOW_SPECS[wf];
  const sizes = { ...spec.sizes[o.plan.profile], ...o.plan.sizes };
  const run = await runWorkflow({
    python: o.python.python,
    assetRoot: o.assetRoot,
    timeoutMs: s.ctx.timeoutMs ?? TIMEOUT_MS[o.plan.profile],
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
    result.phases = run.manifest.phases;
    const v0 = Date.now();
    checks.push(...(await verifyWorkflow(be, run.manifest, workDir, run.git)));
    result.verifyMs = Date.now() - v0;
    result.peakRssBytes = peakRssBytes();
  }
  if (checks.some((c) => c.status === "fail")) {
    result.status = "failed";
    if (run.exitCode !== 0) result.logTail = await logTail(run.logFile);
  }
  o.log?.(`${be.name}/${wf} (${variant}): ${checks.filter((c) => c.status === "pass").length} passed, ${checks.filter((c) => c.status === "fail").length} failed`);
  return result;
}
