/**
 * Every check of one finished embedded workflow, from its manifest and what the backend holds.
 * One function, so `e2e run` and the mutation suite (which alters a backend's stored data after a
 * run and verifies again, without training again) judge by exactly the same code.
 */
import type { Manifest } from "./manifest.ts";
import type { Verification } from "./verify-runs.ts";
import { check, type Check } from "./check.ts";
import { workflowChecks } from "./workflow-checks.ts";
import { checkTensorboard } from "./tensorboard-check.ts";
import { formatError } from "../util/errors.ts";
import { ddpRunChecks, type Census } from "./census.ts";

export interface VerifiableBackend {
  verify(manifest: Manifest, workDir: string): Promise<Verification>;
  /** Lists the runs a workflow created, from the backend (census.ts); absent where it cannot. */
  census?: Census;
}

/** The commit and dirty state the harness made the workflow's repository with. */
export interface HarnessGit {
  commit: string;
  dirty: boolean;
}

export async function verifyWorkflow(be: VerifiableBackend, manifest: Manifest, workDir: string, harness: HarnessGit): Promise<Check[]> {
  const checks: Check[] = [];
  const points = manifest.runs.reduce((n, r) => n + Object.values(r.metrics).reduce((m, p) => m + p.length, 0), 0);
  checks.push(check("workflow", "logged", manifest.runs.length > 0 && points > 0, `${manifest.runs.length} run(s), ${points} metric points logged`, ">0 points", points));
  // The adapter's own idea of the git state must match what the harness made, or a wrong
  // expectation could agree with a wrong backend. No git facts at all is a failure too: the
  // backend's git checks compare against them, so without them they would silently vanish.
  for (const r of manifest.runs) {
    const label = manifest.runs.length > 1 ? `${r.key}:` : "";
    if (!r.git?.commit) {
      checks.push(check("git", `${label}harness`, false, "the adapter recorded no git facts, so the backend's git record cannot be checked", harness, r.git ?? null));
      continue;
    }
    const ok = r.git.commit === harness.commit && r.git.dirty === harness.dirty;
    checks.push(check("git", `${label}harness`, ok, ok ? "adapter saw the commit the harness made" : "adapter's git facts differ from the repository", harness, r.git));
  }
  try {
    const v = await be.verify(manifest, workDir);
    checks.push(...v.checks, ...workflowChecks(manifest, v.observed), ...(await ddpRunChecks(manifest, workDir, be.census)), ...(await checkTensorboard(manifest, workDir, undefined, v.eventFiles)));
  } catch (err) {
    checks.push(check("verify", "read", false, `reading the backend failed: ${formatError(err)}`));
  }
  return checks;
}
