/**
 * W&B and ClearML offline modes share one shape: no server, the SDK writes files under the
 * work folder, and the verifier reads those files with its own parser.
 */
import { isAbsolute, join } from "node:path";
import type { Manifest, ManifestRun } from "../verify/manifest.ts";
import type { ObservedRun } from "../verify/observed.ts";
import { check } from "../verify/check.ts";
import type { CompareOptions } from "../verify/compare.ts";
import { verifyRuns, type Relations, type Verification } from "../verify/verify-runs.ts";
import { formatError } from "../util/errors.ts";

export function verifyOffline(
  manifest: Manifest,
  workDir: string,
  read: (path: string, run: ManifestRun) => Promise<ObservedRun>,
  compare: Omit<CompareOptions, "label">,
  relations?: Relations,
): Promise<Verification> {
  const pathOf = (run: ManifestRun) => (isAbsolute(run.offlinePath!) ? run.offlinePath! : join(workDir, run.offlinePath!));
  return verifyRuns(
    manifest,
    (run) => {
      if (!run.offlinePath) throw new NoOfflinePath();
      return read(pathOf(run), run);
    },
    {
      compare,
      relations,
      checkId: true,
      readFailure: (run, err, p) => {
        if (err instanceof NoOfflinePath) return check("run", `${p}offline-files`, false, "the manifest names no offline folder for this run", "a path", null);
        // A missing or corrupt offline folder: say what to do, not only what broke.
        const missing = (err as NodeJS.ErrnoException).code === "ENOENT";
        const fix = missing
          ? "the SDK left no offline run there: read the workflow's log (--keep-work keeps the work folder); a run killed before it finished writes none"
          : "the SDK's offline files are incomplete or damaged: rerun; if it repeats, keep them with --keep-work and check the disk (space, a full quota) and the SDK version (e2e doctor)";
        return check("run", `${p}offline-files`, false, `cannot read ${pathOf(run)}: ${formatError(err)} (fix: ${fix})`, pathOf(run), null);
      },
    },
  );
}

class NoOfflinePath extends Error {}
