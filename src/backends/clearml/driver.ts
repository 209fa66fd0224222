/**
 * ClearML: offline by default (Task.set_offline). The verifier opens the session zip the SDK
 * leaves with unzipper and reads task.json, metrics.jsonl and data/ (reader.ts).
 */
import type { BackendDriver } from "../types.ts";
import { usageError } from "../../util/errors.ts";
import { verifyOffline } from "../offline.ts";
import { check, skip } from "../../verify/check.ts";
import { readClearmlSession } from "./reader.ts";

export const clearmlDriver: BackendDriver = {
  name: "clearml",
  modes: ["offline"],
  defaultMode: "offline",
  async start(ctx) {
    if (ctx.mode !== "offline")
      throw usageError(`ClearML ${ctx.mode} mode is not available in this build`, "use --backend clearml with the default offline mode");
    return {
      name: "clearml",
      mode: "offline",
      workflowConfig: () => ({ tracking_uri: null, offline: true }),
      workflowEnv: () => ({ CLEARML_OFFLINE_MODE: "1", CLEARML_CACHE_DIR: `${ctx.workDir}/clearml-cache` }),
      verify: (manifest, workDir) =>
        verifyOffline(manifest, workDir, (zip) => readClearmlSession(zip), { git: { commit: true, branch: true, dirty: true } },
          (run, obs, byKey, label) => {
            const parentId = run.parent ? byKey.get(run.parent)?.runId : undefined;
            if (!parentId) return [];
            return [check("runs", `${label ? `${label}:` : ""}parent`, obs.parentId === parentId, obs.parentId === parentId ? "parent task recorded" : "parent differs", parentId, obs.parentId)];
          }),
      lifecycle: async () => [skip("lifecycle", "experiment", "offline mode has no server: experiment create/find/delete needs --url")],
      stop: async () => {},
    };
  },
};
