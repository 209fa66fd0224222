/**
 * Verify again what a kept work folder (`e2e run --keep-work`) holds, without training again:
 * the backend is brought up over the same store (MLflow: a native server on the folder's SQLite
 * store and artifacts; W&B and ClearML offline: their files), and each workflow's manifest is
 * judged by verifyWorkflow, the code `e2e run` uses. The mutation suite alters a backend's
 * stored data between two calls and expects exactly the matching check to fail.
 */
import { loadManifest } from "./manifest-load.ts";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import type { Manifest, BackendName } from "./manifest.ts";
import type { Check } from "./check.ts";
import { verifyWorkflow } from "./verify-workflow.ts";
import { driverFor } from "../backends/registry.ts";
import type { StartedBackend } from "../backends/types.ts";
import type { PythonEnv } from "../runtime/python/env.ts";

export interface KeptBackend {
  backend: StartedBackend;
  /** The backend's folder inside the kept work folder (<work>/<backend>). */
  dir: string;
  /** Every check of one workflow folder ("cnn-clean"), read again from the backend now. */
  verify(workflowDir: string): Promise<Check[]>;
  stop(): Promise<void>;
}

/** Start `name` over its kept folder; MLflow's server reads the folder's own store. */
export async function openKept(name: BackendName, dir: string, python: PythonEnv, assetRoot: string): Promise<KeptBackend> {
  const driver = await driverFor(name);
  const mode = name === "mlflow" ? "native" : "offline";
  const backend = await driver.start({ python, workDir: dir, session: "reverify", mode, assetRoot });
  return {
    backend,
    dir,
    async verify(workflowDir) {
      const wf = join(dir, workflowDir);
      const manifest = await loadManifest(join(wf, "manifest.json"));
      return verifyWorkflow(backend, manifest, wf, harnessGit(join(wf, "repo")));
    },
    stop: () => backend.stop(),
  };
}

/** The commit and dirty state of the repository the harness made for a workflow. */
export function harnessGit(repo: string): { commit: string; dirty: boolean } {
  if (!existsSync(repo)) return { commit: "", dirty: false };
  const git = (...args: string[]) => spawnSync("git", args, { cwd: repo, encoding: "utf8" }).stdout.trim();
  return { commit: git("rev-parse", "HEAD"), dirty: git("status", "--porcelain").length > 0 };
}
