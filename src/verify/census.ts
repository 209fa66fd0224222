/**
 * Which runs a workflow created, counted in the backend rather than taken from the manifest:
 * the DDP workflow promises exactly one run (only rank 0 logs), and a rank that opened its own
 * run would leave a second one here even when the manifest, written by rank 0, lists one.
 * - MLflow: runs/search in the run's experiment for runs with the workflow's run name.
 * - W&B offline: the run folders (offline-run-*) W&B wrote in the workflow's W&B folder; by URL:
 *   the project's runs in the run's group or with its name (backends/wandb/census.ts).
 * - ClearML offline: the session zips (offline-*.zip) ClearML wrote in its offline cache; by URL:
 *   the project's tasks with the run's name (backends/clearml/census.ts).
 */
import { readdir } from "node:fs/promises";
import { basename, dirname, isAbsolute, join } from "node:path";
import type { Manifest } from "./manifest.ts";
import { check, skip, type Check } from "./check.ts";
import { formatError } from "../util/errors.ts";

export interface RunCensus {
  /** Where and how the runs were counted, said in the check's message. */
  where: string;
  /** Backend ids of every run found there. */
  ids: string[];
}

export type Census = (manifest: Manifest, workDir: string) => Promise<RunCensus>;

/** Offline stores: every entry beside the manifest run's own offline path that `pattern` matches. */
export function offlineCensus(what: string, pattern: RegExp, idOf: (entry: string) => string): Census {
  return async (manifest, workDir) => {
    const run = manifest.runs[0];
    if (!run?.offlinePath) throw new Error("the manifest names no offline path to count beside");
    const dir = dirname(isAbsolute(run.offlinePath) ? run.offlinePath : join(workDir, run.offlinePath));
    const ids = (await readdir(dir)).filter((e) => pattern.test(e)).map(idOf);
    return { where: `${what} in ${basename(dir)}/`, ids };
  };
}

/** The DDP promise: exactly one run in the backend, the manifest's (rank 0's). */
export async function ddpRunChecks(manifest: Manifest, workDir: string, census: Census | undefined): Promise<Check[]> {
  if (manifest.workflow !== "ddp") return [];
  if (!census) return [skip("ddp", "runs-in-backend", "this backend mode cannot list the runs a workflow created")];
  const main = manifest.runs[0];
  let found: RunCensus;
  try {
    found = await census(manifest, workDir);
  } catch (err) {
    return [check("ddp", "runs-in-backend", false, `cannot count the runs in the backend: ${formatError(err)}`, 1, null)];
  }
  const ok = found.ids.length === 1 && found.ids[0] === main?.runId;
  const others = found.ids.filter((id) => id !== main?.runId);
  const message = ok
    ? `1 run (${found.where}), rank 0's; no other rank created one`
    : `${found.ids.length} run(s) (${found.where})${others.length ? `; not rank 0's: ${others.slice(0, 5).join(", ")}` : ""}${main && !found.ids.includes(main.runId) ? `; rank 0's ${main.runId} is not among them` : ""}`;
  return [check("ddp", "runs-in-backend", ok, message, [main?.runId], found.ids)];
}
