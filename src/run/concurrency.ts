/**
 * How a run shares the machine's cores: how many workflow processes run at once (each
 * backend's workflows and git variants are independent: own work folder, repository and run
 * names), and how many CPU threads each one's torch gets so that together they fit the cores
 * instead of every process spinning a thread per core (what torchrun does for its ranks).
 */
import { availableParallelism } from "node:os";

/**
 * Processes at once: E2E_JOBS, else one per core, at least two (much of a process is waiting on
 * its SDK) and at most eight (each holds torch and an SDK in memory, and a CUDA context on a GPU).
 */
export function workflowConcurrency(env: NodeJS.ProcessEnv = process.env, cores = availableParallelism()): number {
  const set = Number(env.E2E_JOBS);
  if (env.E2E_JOBS && Number.isInteger(set) && set >= 1) return set;
  return Math.min(8, Math.max(2, cores));
}

/**
 * OMP_NUM_THREADS for each workflow process when `atOnce` of them share `cores`, unless the
 * user set it (theirs wins); an empty object when one process may have them all.
 */
export function threadEnv(atOnce: number, cores = availableParallelism(), env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  if (env.OMP_NUM_THREADS || atOnce <= 1) return {};
  return { OMP_NUM_THREADS: String(Math.max(1, Math.floor(cores / atOnce))) };
}
