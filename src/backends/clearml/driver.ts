/**
 * ClearML: offline by default (Task.set_offline). The verifier opens the session zip the SDK
 * leaves with unzipper and reads task.json, metrics.jsonl and data/ (reader.ts).
 * By URL (--url, the API server): the SDK logs to the server and the verifier reads the task
 * over REST (online.ts), counts a workflow's tasks in the project (census.ts), then checks the
 * deployment (deployment/clearml.ts).
 */
import type { BackendContext, BackendDriver, StartedBackend } from "../types.ts";
import { usageError } from "../../util/errors.ts";
import { verifyOffline } from "../offline.ts";
import { offlineCensus } from "../../verify/census.ts";
import { check, skip } from "../../verify/check.ts";
import { assertSdk } from "../deployment/sdk.ts";
import type { Relations } from "../deployment/verify-runs.ts";
import type { ObservedRun } from "../../verify/observed.ts";
import { readClearmlSession } from "./reader.ts";
import { captureChecks, readWithCapture, separateCapture } from "./tensorboard-capture.ts";
import { eventFilesRead } from "../../verify/tensorboard.ts";
import { clearmlScriptChecks } from "./script-checks.ts";

const COMPARE = { git: { commit: true, branch: true, dirty: true }, nonFiniteNote: "ClearML stores NaN and infinities as 0.0 (Logger.set_reporting_nan_value)" };

const parentRelation: Relations = (run, obs, byKey, label) => {
  const parentId = run.parent ? byKey.get(run.parent)?.runId : undefined;
  if (!parentId) return [];
  return [check("runs", `${label ? `${label}:` : ""}parent`, obs.parentId === parentId, obs.parentId === parentId ? "parent task recorded" : "parent differs", parentId, obs.parentId)];
};

export const clearmlDriver: BackendDriver = {
  name: "clearml",
  async start(ctx) {
    if (ctx.mode === "url") return startOnline(ctx);
    if (ctx.mode !== "offline")
      throw usageError(`ClearML ${ctx.mode} mode is not available in this build`, "use --backend clearml offline (the default) or with --url of your ClearML API server");
    assertSdk("clearml", ctx.python);
    return {
      name: "clearml",
      mode: "offline",
      workflowConfig: () => ({ tracking_uri: null, offline: true }),
      workflowEnv: () => ({ CLEARML_OFFLINE_MODE: "1", CLEARML_CACHE_DIR: `${ctx.workDir}/clearml-cache` }),
      verify: async (manifest, workDir) => {
        const v = await verifyOffline(manifest, workDir, (zip, run) => readWithCapture(run, workDir, (o) => readClearmlSession(zip, o)), COMPARE, parentRelation);
        v.checks.push(...captureChecks(manifest, v.observed), ...(await clearmlScriptChecks(manifest, workDir, { mode: "offline" })));
        return { ...v, eventFiles: eventFilesRead(v.observed, "tensorboardCapture") };
      },
      census: offlineCensus("ClearML offline sessions", /^offline-.*\.zip$/, (e) => e.replace(/\.zip$/, "")),
      lifecycle: async () => [skip("lifecycle", "experiment", "offline mode has no server: experiment create/find/delete needs --url")],
      stop: async () => {},
    };
  },
};

async function startOnline(ctx: BackendContext): Promise<StartedBackend> {
  if (!ctx.url) throw usageError("--mode url needs --url", "pass --url https://api.your-clearml-server (the API server, port 8008)");
  const sdk = assertSdk("clearml", ctx.python);
  const [{ clearmlKeys }, { ClearmlRest, clearmlHosts }, { readClearmlTask }, { verifyByUrl }, { clearmlDeployment }, { clearmlCensus }] = await Promise.all([
    import("../deployment/credentials.ts"), import("./rest.ts"), import("./online.ts"), import("../deployment/verify-runs.ts"), import("../deployment/clearml.ts"), import("./census.ts"),
  ]);
  const keys = clearmlKeys(ctx.credentialsFile);
  const hosts = clearmlHosts(ctx.url);
  const rest = new ClearmlRest(hosts, keys);
  await rest.ping(); // anything ClearML at this URL? (no credentials needed)
  await rest.login(); // wrong keys: 401, explained
  const info = await rest.serverInfo().catch(() => undefined);
  return {
    name: "clearml",
    mode: "url",
    url: hosts.api,
    serverVersion: info?.version ?? rest.serverVersion,
    workflowConfig: () => ({ tracking_uri: hosts.api, offline: false }),
    // The keys reach the workflow only through its environment (never config.json or argv).
    workflowEnv: () => ({
      CLEARML_API_HOST: hosts.api, CLEARML_WEB_HOST: hosts.web, CLEARML_FILES_HOST: hosts.files,
      CLEARML_API_ACCESS_KEY: keys.accessKey, CLEARML_API_SECRET_KEY: keys.secretKey,
      CLEARML_CACHE_DIR: `${ctx.workDir}/clearml-cache`,
    }),
    // events.scalar_metrics_iter_raw (the exact read) returns iterations and values only; the
    // reader takes timestamps from events.get_task_events, or says why it could not.
    verify: async (manifest, workDir) => {
      const compare = (obs: ObservedRun) => {
        const why = obs.extra?.timestampsUnavailable;
        return typeof why === "string" ? { ...COMPARE, timestamps: { unavailable: why } } : COMPARE;
      };
      const v = await verifyByUrl(manifest, async (run) => separateCapture(run, await readClearmlTask(rest, run), workDir), compare, parentRelation);
      v.checks.push(...captureChecks(manifest, v.observed), ...(await clearmlScriptChecks(manifest, workDir, { mode: "url", rest, observed: v.observed })));
      return { ...v, eventFiles: eventFilesRead(v.observed, "tensorboardCapture") };
    },
    census: clearmlCensus(rest),
    lifecycle: () => clearmlDeployment(rest, sdk),
    stop: async () => {},
  };
}
