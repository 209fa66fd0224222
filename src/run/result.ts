/** The result document of `e2e run`: what `--json` prints; docs/schema/run-result.schema.json describes it. */
import type { Check } from "../verify/check.ts";
import type { BackendName, WorkflowPhase } from "../verify/manifest.ts";
import type { RunPerf } from "./perf.ts";
import type { Mode } from "../backends/types.ts";
import type { Plan } from "../plan/plan.ts";
import type { ReporterFailure } from "../report/reporter.ts";
import { ExitCode, verdictExitCode } from "../util/errors.ts";

export const RUN_RESULT_SCHEMA = "e2e/run-result/v1";

export interface WorkflowResult {
  workflow: string;
  /** "clean" or "dirty": the git variant the workflow ran from. */
  variant?: string;
  status: "passed" | "failed" | "error";
  exitCode?: number;
  durationMs: number;
  verifyMs?: number;
  /** e2e's own peak resident memory so far (the process's, not the workflow's), after verifying. */
  peakRssBytes?: number;
  /** The workflow process's own phases, from its manifest. */
  phases?: WorkflowPhase[];
  checks: Check[];
  error?: string;
  logTail?: string;
}

export interface BackendResult {
  backend: BackendName;
  mode: Mode;
  url?: string;
  serverVersion?: string;
  status: "passed" | "failed" | "error";
  /** exitCode: the kind of error (2 bad input such as a missing key, 3 environment, 4 backend). */
  error?: { message: string; hint?: string; detail?: string; exitCode?: number };
  startMs?: number;
  /** Reads retried after a network error or a 5xx/429 (idempotent requests only). */
  httpRetries?: number;
  workflows: WorkflowResult[];
  lifecycle?: Check[];
}

export interface RunResult {
  schema: typeof RUN_RESULT_SCHEMA;
  e2eVersion: string;
  startedAt: string;
  finishedAt?: string;
  durationMs?: number;
  status: "passed" | "failed" | "error" | "interrupted" | "running";
  exitCode?: number;
  plan: Plan;
  environment: Record<string, unknown>;
  workDir?: string;
  backends: BackendResult[];
  summary: { passed: number; failed: number; skipped: number; errors: number };
  /** Reports that could not be written (--junit to a missing folder): said, never part of the verdict. */
  reportErrors?: ReporterFailure[];
  /** Where the run's time went (src/run/perf.ts). */
  perf?: RunPerf;
}

export function allChecks(r: BackendResult): Check[] {
  return [...r.workflows.flatMap((w) => w.checks), ...(r.lifecycle ?? [])];
}

export function summarizeRun(results: BackendResult[]): RunResult["summary"] {
  const checks = results.flatMap(allChecks);
  return {
    passed: checks.filter((c) => c.status === "pass").length,
    failed: checks.filter((c) => c.status === "fail").length,
    skipped: checks.filter((c) => c.status === "skip").length,
    errors: results.filter((r) => r.status === "error").length + results.flatMap((r) => r.workflows).filter((w) => w.status === "error").length,
  };
}

/** The one roll-up of checks into a status: an error wins, then any failed check. */
export function statusOf(checks: Check[], errored = false): "passed" | "failed" | "error" {
  return errored ? "error" : checks.some((c) => c.status === "fail") ? "failed" : "passed";
}

/**
 * The run's status and exit code (README's table), decided here only: interrupted 130; a
 * backend error of bad input (a missing key) 2, of the environment (its SDK) 3, before any
 * verdict; else any failed check 1; else a backend that could not be started or read 4; else 0.
 */
export function runVerdict(backends: BackendResult[], summary: RunResult["summary"], signal?: string): { status: RunResult["status"]; exitCode: number } {
  const status = signal ? "interrupted" : backends.some((b) => b.status === "error") ? "error" : summary.failed ? "failed" : "passed";
  const errors = backends.flatMap((b) => (b.status === "error" ? [b.error?.exitCode ?? ExitCode.backend] : []));
  return { status, exitCode: verdictExitCode({ signal, failed: summary.failed > 0, errors }) };
}
