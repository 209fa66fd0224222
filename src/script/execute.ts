/**
 * `e2e run --script`: start every chosen backend, run the user's script once against all of
 * them, merge the per-process records, and verify each backend against the runs logged through
 * its SDK with the backend's own verify(). Script-level checks (group "script") say how the
 * script ended, what was recorded, what arrived, and which calls were seen but cannot be
 * verified. A script that logged only through SDKs not chosen is bad input (exit 2), with the
 * --backend to use, never a verdict about a backend it did not touch.
 */
import { join } from "node:path";
import { descriptorOf } from "../backends/registry.ts";
import type { StartedBackend } from "../backends/types.ts";
import { sessionContext, type ExecuteOptions } from "../run/execute.ts";
import { statusOf, type BackendResult, type WorkflowResult } from "../run/result.ts";
import { BackendSessions } from "../run/session.ts";
import { interrupted } from "../runtime/lifecycle.ts";
import { check, skip, type Check } from "../verify/check.ts";
import type { BackendName, Manifest } from "../verify/manifest.ts";
import { formatError, usageError } from "../util/errors.ts";
import { arrivedCheck, manifestFor, pointCount, type MergedRecords } from "./records.ts";
import { runScript, scriptLogTail, type ScriptRun } from "./run.ts";
import type { ScriptSpec } from "./spec.ts";

const title = (name: BackendName) => descriptorOf(name).title;

export async function executeScript(o: ExecuteOptions, spec: ScriptSpec): Promise<BackendResult[]> {
  // No default deadline: a user's training may rightly take hours; --timeout sets one.
  const ctx = sessionContext(o);
  await using sessions = new BackendSessions(ctx, o.plan.backends);
  try {
    await Promise.all(sessions.all.map((s) => s.guard(async () => void (await s.start()))));
    const live = sessions.all.filter((s) => s.started);
    if (!live.length || interrupted()) return sessions.results;
    const env = Object.assign({}, ...live.map((s) => s.started!.workflowEnv())) as Record<string, string>;
    o.log?.(`script: running ${spec.display}${ctx.timeoutMs ? ` (deadline ${ctx.timeoutMs / 1000} s)` : ""}`);
    const run = await runScript({ spec, python: o.python.python, assetRoot: o.assetRoot, workDir: join(o.workRoot, "script"), env, timeoutMs: ctx.timeoutMs });
    o.log?.(`script: ${run.timedOut ? "stopped at its deadline" : `exit code ${run.exitCode}`}, ${run.merged.processes.length} process record(s), ${run.merged.runs.length} run(s)`);
    assertSdkMatches(run.merged, o.plan.backends.map((b) => b.name));
    for (const s of live) {
      const res = s.result;
      await s.guard(async () => {
        res.workflows.push(await verifyScriptRun(s.started!, run, s.workDir));
        const cs = res.workflows[0]!.checks;
        o.log?.(`${s.name}/script: ${cs.filter((c) => c.status === "pass").length} passed, ${cs.filter((c) => c.status === "fail").length} failed`);
        res.status = statusOf(cs, res.workflows.some((w) => w.status === "error"));
      });
      await o.onUpdate?.(sessions.results);
    }
    return sessions.results;
  } finally {
    await o.onUpdate?.(sessions.results);
  }
}

/** The script logged, but through none of the chosen backends' SDKs: say which to choose. */
export function assertSdkMatches(merged: MergedRecords, chosen: BackendName[]): void {
  const used = [...new Set(merged.runs.map((r) => r.sdk))];
  if (!used.length || used.some((s) => chosen.includes(s))) return;
  const names = used.map((s) => `${title(s)} (${s})`).join(" and ");
  throw usageError(
    `the script logged through ${names}, not ${chosen.map((c) => title(c)).join(" or ")}: there is nothing to verify on --backend ${chosen.join(",")}`,
    `run it with --backend ${used.join(",")}`,
  );
}

/** The checks for one backend: how the script ran, then the backend against its SDK's runs. */
export async function verifyScriptRun(be: StartedBackend, run: ScriptRun, backendWorkDir: string): Promise<WorkflowResult> {
  const { merged } = run;
  const manifest = manifestFor(merged, be.name);
  const checks: Check[] = [...scriptChecks(run, be.name, manifest)];
  const result: WorkflowResult = { workflow: "script", status: "passed", exitCode: run.exitCode, durationMs: run.durationMs, checks };
  // A run the script sent elsewhere (its own mlflow.set_tracking_uri) cannot be read here.
  for (const r of merged.runs.filter((r) => r.sdk === "mlflow" && be.name === "mlflow" && r.trackingUri && be.url && r.trackingUri.replace(/\/$/, "") !== be.url))
    checks.push(check("script", `${r.key}:tracking-uri`, false, `the script logged run ${r.runId} to ${r.trackingUri}, not to the server e2e started (it sets its own tracking URI)`, be.url, r.trackingUri));
  if (manifest.runs.length) {
    const v0 = Date.now();
    try {
      checks.push(...(await be.verify(manifest, backendWorkDir)).checks);
    } catch (err) {
      checks.push(check("verify", "read", false, `reading the backend failed: ${formatError(err)}`));
    }
    result.verifyMs = Date.now() - v0;
    checks.push(arrivedCheck(manifest, checks, run.exitCode !== 0 || run.timedOut ? crashOf(run) : undefined));
  }
  if (checks.some((c) => c.status === "fail")) {
    result.status = "failed";
    result.logTail = await scriptLogTail(run.logFile);
  }
  return result;
}

function crashOf(run: ScriptRun): string | undefined {
  // First: a script stopped at its deadline also leaves records that say it was signalled.
  if (run.timedOut) return `it ran past --timeout ${(run.timeoutMs ?? 0) / 1000} s and was stopped (exit code ${run.exitCode})`;
  const bad = run.merged.processes.filter((p) => p.exit && p.exit.kind !== "exit");
  if (bad.length) return bad.map((p) => `${p.exit!.error ?? p.exit!.signal ?? p.exit!.kind} (pid ${p.pid}${p.rank != null ? `, rank ${p.rank}` : ""})`).join("; ");
  if (run.exitCode !== 0) return `exit code ${run.exitCode}`;
  return undefined;
}

function scriptChecks(run: ScriptRun, backend: BackendName, manifest: Manifest): Check[] {
  const { merged } = run;
  const checks: Check[] = [];
  const crash = crashOf(run);
  const ok = run.exitCode === 0 && !run.timedOut;
  checks.push(check("script", "exit", ok, ok ? "exit code 0" : `the script failed: ${crash}`, 0, run.exitCode));
  const recorded = merged.processes.length;
  checks.push(
    check("script", "records", recorded > 0 && !merged.unreadable.length,
      recorded === 0
        ? "no SDK logging call was recorded (the script imported no SDK, or its Python ignored PYTHONPATH: -I/-E)"
        : merged.unreadable.length ? `unreadable records: ${merged.unreadable.join("; ")}` : `${recorded} process(es) recorded their calls`,
      ">0 records", recorded),
  );
  const runs = manifest.runs;
  const artifacts = runs.reduce((n, r) => n + r.artifacts.length, 0);
  const params = runs.reduce((n, r) => n + Object.keys(r.params).length, 0);
  checks.push(check("script", "logged", runs.length > 0,
    runs.length ? `${runs.length} run(s) through ${title(backend)}: ${params} params, ${pointCount(runs)} metric points, ${artifacts} artifacts` : `nothing was logged through ${title(backend)}`,
    ">0 runs", runs.length));
  for (const e of merged.errors)
    checks.push(check("script", `recorder:${e.where}`, false, `the recorder could not follow this call, so the expectation may be incomplete: ${e.error} (pid ${e.pid})`));
  for (const u of merged.unverified.filter((u) => u.sdk === backend))
    checks.push(skip("script", `unverified:${u.call}`, `seen ${u.count} time(s), not verifiable: ${u.what}`));
  for (const sdk of [...new Set(merged.runs.map((r) => r.sdk))].filter((s) => s !== backend))
    checks.push(skip("script", `other-sdk:${sdk}`, `the script also logged ${merged.runs.filter((r) => r.sdk === sdk).length} run(s) through ${title(sdk)}; add --backend ${sdk} to verify them`));
  return checks;
}
