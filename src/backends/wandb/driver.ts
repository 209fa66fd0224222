/**
 * W&B: offline by default (WANDB_MODE=offline under the work folder); the verifier parses the
 * run's .wandb transaction log in TypeScript (records.ts), not the side files that recent
 * releases may not write, and not through the SDK whose behaviour is under test.
 * By URL (--url): the SDK logs online and the verifier reads the run over GraphQL (online.ts),
 * counts a workflow's runs in the project (census.ts), then checks the deployment (deployment/wandb.ts).
 */
import type { BackendContext, BackendDriver, StartedBackend } from "../types.ts";
import { usageError } from "../../util/errors.ts";
import { verifyOffline } from "../offline.ts";
import { offlineCensus } from "../../verify/census.ts";
import { looseParamEquals } from "../../verify/compare.ts";
import { check, skip } from "../../verify/check.ts";
import { assertSdk } from "../deployment/sdk.ts";
import type { Relations } from "../deployment/verify-runs.ts";
import { readWandbRun } from "./reader.ts";
import { wandbScriptChecks } from "./script-checks.ts";
import { captureReference, mergeCaptures, readWandbRunEvents, wandbTensorboardChecks, type TbCapture } from "./tensorboard-capture.ts";
import { eventFilesRead } from "../../verify/tensorboard.ts";
import type { ManifestRun } from "../../verify/manifest.ts";
import type { ObservedRun } from "../../verify/observed.ts";
import { isAbsolute, join } from "node:path";
import { concatSeries, seriesOfManifest } from "../../verify/series.ts";

const COMPARE = { git: { commit: true, branch: false, dirty: false }, paramEquals: looseParamEquals };

const groupRelation: Relations = (run, obs, byKey, label) => {
  const parent = run.parent ? byKey.get(run.parent) : undefined;
  if (!run.group) return [];
  return [check("runs", `${label ? `${label}:` : ""}group`, obs.group === run.group, obs.group === run.group ? "in its group" : "group differs", run.group, obs.group ?? parent?.runId)];
};

export const wandbDriver: BackendDriver = {
  name: "wandb",
  async start(ctx) {
    if (ctx.mode === "url") return startOnline(ctx);
    if (ctx.mode !== "offline")
      throw usageError(`W&B ${ctx.mode} mode is not available in this build`, "use --backend wandb offline (the default) or with --url of your W&B server");
    assertSdk("wandb", ctx.python);
    return {
      name: "wandb",
      mode: "offline",
      workflowConfig: () => ({ tracking_uri: null, offline: true }),
      workflowEnv: () => ({ WANDB_MODE: "offline", WANDB_SILENT: "true", WANDB_CONSOLE: "off", WANDB_DIR: ctx.workDir }),
      verify: async (manifest, workDir) => {
        const v = await verifyOffline(manifest, workDir, (dir, run) => readResumable(dir, run, workDir), COMPARE, groupRelation);
        v.checks.push(...(await wandbTensorboardChecks(manifest, v.observed, workDir)), ...wandbScriptChecks(manifest, v.observed, "offline"));
        return { ...v, eventFiles: eventFilesRead(v.observed, "tensorboardEvents") };
      },
      census: offlineCensus("W&B offline run folders", /^offline-run-/, (e) => e.slice(e.lastIndexOf("-") + 1)),
      lifecycle: async () => [skip("lifecycle", "experiment", "offline mode has no server: experiment create/find/delete needs --url")],
      stop: async () => {},
    };
  },
};

async function startOnline(ctx: BackendContext): Promise<StartedBackend> {
  if (!ctx.url) throw usageError("--mode url needs --url", "pass --url https://your-wandb-server");
  const sdk = assertSdk("wandb", ctx.python);
  const [{ wandbApiKey }, { WandbGraphql }, { readWandbOnlineRun }, { verifyByUrl }, { wandbDeployment }, { wandbCensus }] = await Promise.all([
    import("../deployment/credentials.ts"), import("./graphql.ts"), import("./online.ts"), import("../deployment/verify-runs.ts"), import("../deployment/wandb.ts"), import("./census.ts"),
  ]);
  const url = ctx.url.replace(/\/$/, "");
  const key = wandbApiKey(ctx.credentialsFile);
  const gql = new WandbGraphql(url, key);
  const viewer = await gql.viewer(); // not answering, wrong key, Host rejection: explained errors
  const entity = process.env.WANDB_ENTITY || viewer.entity;
  if (!entity) throw usageError(`W&B at ${url} names no default entity for this API key`, "set WANDB_ENTITY to your user or team name");
  const info = await gql.serverInfo().catch(() => undefined);
  const home = `${ctx.workDir}/wandb-home`;
  return {
    name: "wandb",
    mode: "url",
    url,
    serverVersion: info?.latestLocalVersionInfo?.versionOnThisInstanceString,
    workflowConfig: () => ({ tracking_uri: url, offline: false }),
    // The key reaches the workflow only through its environment (never config.json or argv).
    workflowEnv: () => ({
      WANDB_MODE: "online", WANDB_BASE_URL: url, WANDB_API_KEY: key, WANDB_ENTITY: entity,
      WANDB_SILENT: "true", WANDB_CONSOLE: "off", WANDB_DIR: ctx.workDir,
      WANDB_CACHE_DIR: `${home}/cache`, WANDB_DATA_DIR: `${home}/data`, WANDB_CONFIG_DIR: `${home}/config`,
    }),
    verify: async (manifest, workDir) => {
      const v = await verifyByUrl(manifest, (run) => readWandbOnlineRun(gql, run, { entity, project: manifest.runs[0]?.project ?? "e2e" }), COMPARE, groupRelation);
      v.checks.push(...(await wandbTensorboardChecks(manifest, v.observed, workDir)), ...wandbScriptChecks(manifest, v.observed, "url"));
      return v;
    },
    census: wandbCensus(gql, entity),
    lifecycle: () => wandbDeployment(gql, url, sdk, entity),
    stop: async () => {},
  };
}

/**
 * A W&B run resumed offline (wandb.init(id=..., resume=...)) lands in a second offline-run
 * folder with the same id: read every folder in order and merge them into one run.
 */
async function readResumable(dir: string, run: ManifestRun, workDir: string): Promise<ObservedRun> {
  const paths = run.offlinePaths?.length ? run.offlinePaths.map((p) => (isAbsolute(p) ? p : join(workDir, p))) : [dir];
  // One folder: its history can be held against the manifest's points, and W&B's TensorBoard
  // capture against the event files, read first (history.ts); a resumed run's later folders
  // continue the series, so each is read on its own.
  const one = paths.length === 1;
  const events = await readWandbRunEvents(run, workDir);
  const expected = one ? (key: string) => (run.metrics[key] ? seriesOfManifest(run.metrics[key]!) : undefined) : undefined;
  const captured = one ? captureReference(run, events) : undefined;
  const parts = await Promise.all(paths.map((p) => readWandbRun(p, { stepKey: run.stepKey, expected, captured })));
  const [first, ...later] = parts;
  const merged: ObservedRun = { ...first!, params: { ...first!.params }, tags: { ...first!.tags }, metrics: { ...first!.metrics }, artifacts: { ...first!.artifacts } };
  if (later.length) {
    merged.extra = { ...merged.extra, tensorboardCapture: mergeCaptures(parts.map((p) => p.extra?.tensorboardCapture as TbCapture | undefined)) };
    merged.extra.unreadable = Object.assign({}, ...parts.map((p) => p.extra?.unreadable ?? {}));
  }
  for (const part of later) {
    if (part.runId !== merged.runId) throw new Error(`resumed folder ${part.runId} is not run ${merged.runId}`);
    Object.assign(merged.params, part.params);
    Object.assign(merged.tags, part.tags);
    Object.assign(merged.artifacts, part.artifacts);
    for (const [k, pts] of Object.entries(part.metrics)) merged.metrics[k] = concatSeries([merged.metrics[k] ?? [], pts]);
    merged.status = part.status;
  }
  // For both TensorBoard checks (wandbTensorboardChecks, and the direct parse through eventFiles).
  if (events) merged.extra = { ...merged.extra, tensorboardEvents: events };
  return merged;
}
