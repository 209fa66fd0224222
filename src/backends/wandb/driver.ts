/**
 * W&B: offline by default (WANDB_MODE=offline under the work folder); the verifier parses the
 * run's .wandb transaction log in TypeScript (records.ts), not the side files that recent
 * releases may not write, and not through the SDK whose behaviour is under test.
 */
import type { BackendDriver } from "../types.ts";
import { usageError } from "../../util/errors.ts";
import { verifyOffline } from "../offline.ts";
import { looseParamEquals } from "../../verify/compare.ts";
import { check, skip } from "../../verify/check.ts";
import { readWandbRun } from "./reader.ts";

export const wandbDriver: BackendDriver = {
  name: "wandb",
  modes: ["offline"],
  defaultMode: "offline",
  async start(ctx) {
    if (ctx.mode !== "offline")
      throw usageError(`W&B ${ctx.mode} mode is not available in this build`, "use --backend wandb with the default offline mode");
    return {
      name: "wandb",
      mode: "offline",
      workflowConfig: () => ({ tracking_uri: null, offline: true }),
      workflowEnv: () => ({ WANDB_MODE: "offline", WANDB_SILENT: "true", WANDB_CONSOLE: "off", WANDB_DIR: ctx.workDir }),
      verify: (manifest, workDir) =>
        verifyOffline(manifest, workDir, (dir, run) => readWandbRun(dir, { stepKey: run.stepKey }), { git: { commit: true, branch: false, dirty: false }, paramEquals: looseParamEquals },
          (run, obs, byKey, label) => {
            const parent = run.parent ? byKey.get(run.parent) : undefined;
            if (!run.group) return [];
            return [check("runs", `${label ? `${label}:` : ""}group`, obs.group === run.group, obs.group === run.group ? "in its group" : "group differs", run.group, obs.group ?? parent?.runId)];
          }),
      lifecycle: async () => [skip("lifecycle", "experiment", "offline mode has no server: experiment create/find/delete needs --url")],
      stop: async () => {},
    };
  },
};
