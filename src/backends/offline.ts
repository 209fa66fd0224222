/**
 * W&B and ClearML offline modes share one shape: no server, the SDK writes files under the
 * work folder, and the verifier reads those files with its own parser.
 */
import { isAbsolute, join } from "node:path";
import type { Manifest, ManifestRun } from "../verify/manifest.ts";
import type { ObservedRun } from "../verify/observed.ts";
import { check, type Check } from "../verify/check.ts";
import { compareRun, type CompareOptions } from "../verify/compare.ts";
import { formatError } from "../util/errors.ts";
import type { Verification } from "./types.ts";

export async function verifyOffline(
  manifest: Manifest,
  workDir: string,
  read: (path: string, run: ManifestRun) => Promise<ObservedRun>,
  opts: Omit<CompareOptions, "label">,
  relations?: (run: ManifestRun, obs: ObservedRun, byKey: Map<string, ManifestRun>, label: string | undefined) => Check[],
): Promise<Verification> {
  const checks: Check[] = [];
  const observed: Verification["observed"] = {};
  const byKey = new Map(manifest.runs.map((r) => [r.key, r]));
  for (const run of manifest.runs) {
    const label = manifest.runs.length > 1 ? run.key : undefined;
    const p = label ? `${label}:` : "";
    if (!run.offlinePath) {
      checks.push(check("run", `${p}offline-files`, false, "the manifest names no offline folder for this run", "a path", null));
      continue;
    }
    const path = isAbsolute(run.offlinePath) ? run.offlinePath : join(workDir, run.offlinePath);
    let obs: ObservedRun;
    try {
      obs = await read(path, run);
    } catch (err) {
      // A missing or corrupt offline folder: say what to do, not only what broke.
      const missing = (err as NodeJS.ErrnoException).code === "ENOENT";
      const fix = missing
        ? "the SDK left no offline run there: read the workflow's log (--keep-work keeps the work folder); a run killed before it finished writes none"
        : "the SDK's offline files are incomplete or damaged: rerun; if it repeats, keep them with --keep-work and check the disk (space, a full quota) and the SDK version (e2e doctor)";
      checks.push(check("run", `${p}offline-files`, false, `cannot read ${path}: ${formatError(err)} (fix: ${fix})`, path, null));
      continue;
    }
    observed[run.key] = obs;
    checks.push(check("run", `${p}id`, obs.runId === run.runId, obs.runId === run.runId ? "run id matches" : "run id differs", run.runId, obs.runId));
    checks.push(...compareRun(run, obs, { ...opts, label }));
    if (relations) checks.push(...relations(run, obs, byKey, label));
  }
  return { checks, observed };
}
