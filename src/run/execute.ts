/**
 * Executes a Plan: every backend in parallel, each in its own work folder; for each, start (or
 * connect), run its workflows (at once, within one limit for the whole run), verify, tear down.
 * A failure of one backend never stops the others; every finished piece is handed to `onUpdate`
 * at once so nothing measured is lost.
 */
import { peakRssBytes } from "./perf.ts";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { Plan } from "../plan/plan.ts";
import { TIMEOUT_MS, WORKFLOW_SPECS, variantsFor, workflowTimeoutMs, type WorkflowName } from "../plan/workflows.ts";
import type { StartedBackend } from "../backends/types.ts";
import { logTail, runWorkflow, type Progress } from "../runtime/python/workflow.ts";
import { check, type Check } from "../verify/check.ts";
import { verifyWorkflow } from "../verify/verify-workflow.ts";
import { interrupted, onTeardown } from "../runtime/lifecycle.ts";
import { allChecks, statusOf, type BackendResult, type WorkflowResult } from "./result.ts";
import type { ScriptSpec } from "../script/spec.ts";
import { BackendSession, type SessionContext } from "./session.ts";
import { Slots } from "../util/slots.ts";
import { threadEnv, workflowConcurrency } from "./concurrency.ts";

export interface ExecuteOptions extends SessionContext {
  plan: Plan;
  onProgress?: (backend: string, workflow: string, p: Progress) => void;
  onUpdate?: (results: BackendResult[]) => void | Promise<void>;
  /** `e2e run --script`: run the user's own script instead of the workflows (src/script/). */
  script?: ScriptSpec;
}

/** What each backend's runner gets: the options, and the thread share of each workflow process. */
type Running = ExecuteOptions & { threads: Record<string, string> };

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
  // One limit for every backend's workflow processes: they share the machine's cores.
  const slots = new Slots(workflowConcurrency());
  const weights = o.plan.backends.flatMap(() => o.plan.workflows.flatMap((wf) => variantsFor(wf, o.plan.profile).map(() => workflowWeight(o, wf))));
  const threads = threadEnv(Math.min(slots.size, weights.reduce((a, b) => a + b, 0)));
  const all = Promise.all(sessions.map((s) => runBackend({ ...o, threads }, s, slots, update)));
  // On Ctrl-C the workflows' processes and the servers are torn down first (registered later),
  // then this waits for what was still running in e2e itself (a killed workflow's verification,
  // a report update) to settle, so nothing writes into the work folder once it is removed.
  const offSettle = onTeardown("workflows in flight", () => settle(all, SETTLE_MS));
  try {
    await all;
  } finally {
    offSettle();
  }
  return results;
}

/** How long a Ctrl-C waits for e2e's own in-flight work once the processes are gone. */
const SETTLE_MS = 30_000;

async function settle(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([p.catch(() => undefined), new Promise((r) => (timer = setTimeout(r, ms)))]);
  clearTimeout(timer);
}

/**
 * A backend's workflows (and their git variants) are independent (each its own work folder,
 * repository and run names), so they run at once within the slots; results are listed, logged
 * and reported in plan order whatever order they finish in.
 */
async function runBackend(o: Running, session: BackendSession, slots: Slots, update: () => void | Promise<void>): Promise<void> {
  const res = session.result;
  {
    await using s = session;
    await s.guard(async () => {
      const be = await s.start();
      const jobs = o.plan.workflows.flatMap((wf) => variantsFor(wf, o.plan.profile).map((variant) => ({ wf, variant })));
      const done: (WorkflowResult | undefined)[] = jobs.map(() => undefined);
      let logged = 0;
      let stop = false;
      const settled = await Promise.allSettled(
        jobs.map(({ wf, variant }, i) =>
          slots.run(workflowWeight(o, wf), async () => {
            if (stop || interrupted()) return;
            try {
              s.assertAlive();
              done[i] = await runOneWorkflow(o, s, be, wf, variant);
            } catch (err) {
              stop = true; // start no more: the backend's error ends its run, as it did in turn
              throw err;
            }
            // Everything finished is in the result at once (nothing measured is lost to a
            // Ctrl-C), in plan order; the log follows plan order too.
            res.workflows.splice(0, res.workflows.length, ...done.filter((r) => r !== undefined));
            for (; logged < jobs.length && done[logged]; logged++) logWorkflow(o, be.name, done[logged]!);
            await update();
          }),
        ),
      );
      // Those that finished after one that never ran (an error stopped it) are logged too.
      for (; logged < jobs.length; logged++) if (done[logged]) logWorkflow(o, be.name, done[logged]!);
      const failed = settled.find((r): r is PromiseRejectedResult => r.status === "rejected");
      if (failed) throw failed.reason;
      if (be.lifecycle && !interrupted()) {
        res.lifecycle = await be.lifecycle().catch((err: Error) => [check("lifecycle", "run", false, `lifecycle check failed: ${err.message}`)]);
      }
      res.status = statusOf(allChecks(res), res.workflows.some((w) => w.status === "error"));
    });
  }
  await update();
}

/** Slots a workflow takes: one per process it runs at once (DDP's ranks). */
function workflowWeight(o: ExecuteOptions, wf: WorkflowName): number {
  const spec = WORKFLOW_SPECS[wf];
  return spec.launcher === "torchrun" ? Number({ ...spec.sizes[o.plan.profile], ...o.plan.sizes }.nproc ?? 2) : 1;
}

function logWorkflow(o: ExecuteOptions, backend: string, r: WorkflowResult): void {
  const n = (status: string) => r.checks.filter((c) => c.status === status).length;
  o.log?.(`${backend}/${r.workflow} (${r.variant}): ${n("pass")} passed, ${n("fail")} failed`);
}

async function runOneWorkflow(o: Running, s: BackendSession, be: StartedBackend, wf: WorkflowName, variant: "clean" | "dirty"): Promise<WorkflowResult> {
  const workDir = join(s.workDir, `${wf}-${variant}`);
  await mkdir(workDir, { recursive: true });
  const spec = WORKFLOW_SPECS[wf];
  const sizes = { ...spec.sizes[o.plan.profile], ...o.plan.sizes };
  const run = await runWorkflow({
    python: o.python.python,
    assetRoot: o.assetRoot,
    timeoutMs: o.plan.timeoutMs ?? workflowTimeoutMs(o.plan.profile, sizes),
    env: { ...o.threads, ...be.workflowEnv() },
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
  return result;
}
