/** MLflow: native server (default), an existing server by URL, or containers (docker mode). */
import type { BackendDriver, StartedBackend } from "../types.ts";
import { verifyRuns, type Verification } from "../../verify/verify-runs.ts";
import type { Manifest } from "../../verify/manifest.ts";
import type { Series } from "../../verify/series.ts";
import { check, type Check } from "../../verify/check.ts";
import type { RunCensus } from "../../verify/census.ts";
import { backendError, usageError } from "../../util/errors.ts";
import { MlflowClient } from "./client.ts";
import { startNativeMlflow } from "./native.ts";
import { readMlflowRun, type StoreRead, type StoreReads } from "./reader.ts";
import { DB_FILE } from "./schema-cache.ts";
import { join } from "node:path";
import { modelChecks } from "./models.ts";
import { tensorboardFromServer } from "./tensorboard.ts";
import { IDENTICAL_POINT_RULE } from "./identical-points.ts";
import { assertSdk } from "../deployment/sdk.ts";
import { mlflowCredentials, mlflowCredentialsEnv, type MlflowCredentials } from "../deployment/credentials.ts";
import { explainHttpFailure } from "../deployment/http.ts";

const MLFLOW_CREDENTIALS_HINT =
  "set MLFLOW_TRACKING_TOKEN, or MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD, to credentials this server accepts, or pass --api-key-file FILE holding the token";

export const mlflowDriver: BackendDriver = {
  name: "mlflow",
  async start(ctx) {
    const sdk = assertSdk("mlflow", ctx.python);
    // Native: e2e's own SQLite store, read directly for large keys (reader.ts). URL and docker
    // (PostgreSQL) modes read everything over REST. A bad E2E_MLFLOW_STORE_MIN_POINTS stops the
    // run now, before a server starts, not after training.
    const store = ctx.mode === "native" ? join(ctx.workDir, DB_FILE) : undefined;
    if (store) storeRead(store);
    let url: string;
    let stop = async () => {};
    let died: Promise<string> | undefined;
    // By URL: the server's credentials (env or --api-key-file), for e2e's REST reader and, through
    // their environment only, the SDK in the workflow processes. Masked in logs and reports.
    let credentials: MlflowCredentials = {};
    if (ctx.mode === "native") {
      const srv = await startNativeMlflow({ python: ctx.python.python, workDir: ctx.workDir, port: ctx.port, mlflowVersion: sdk });
      url = srv.url;
      let stopping = false;
      stop = () => ((stopping = true), srv.stop());
      died = srv.process.exited.then((code) => (stopping ? new Promise<string>(() => {}) : `the mlflow server exited with code ${code} (its log: ${srv.logFile})`));
    } else if (ctx.mode === "url") {
      if (!ctx.url) throw usageError("--mode url needs --url", "pass --url http://host:port of the MLflow server");
      url = ctx.url.replace(/\/$/, "");
      credentials = mlflowCredentials(ctx.credentialsFile);
    } else if (ctx.mode === "docker") {
      const { startDockerMlflow } = await import("./docker.ts");
      const srv = await startDockerMlflow(ctx);
      url = srv.url;
      stop = srv.stop;
    } else throw usageError(`mlflow has no ${ctx.mode} mode`, "use --mode native, docker or url");
    const client = ctx.mode === "url" ? new MlflowClient(url, credentials) : MlflowClient.fromEnv(url);
    const serverVersion = await client.version().catch((err: Error) => {
      if (ctx.mode === "url") throw explainHttpFailure(err, { backend: "MLflow", url, credentialsHint: MLFLOW_CREDENTIALS_HINT, doing: "GET /version" });
      throw backendError(`MLflow at ${url} does not answer: ${err.message}`, "check the URL and that the server runs");
    });
    const s = started(url, client, serverVersion, ctx.mode, stop, mlflowCredentialsEnv(credentials), store);
    s.died = died;
    if (ctx.mode === "url") {
      // A REST call, so wrong credentials and MLflow 3's Host-header check show now: GET /version
      // needs no auth and is exempt from the Host check.
      await client.getExperimentByName("Default").catch((err: Error) => {
        throw explainHttpFailure(err, { backend: "MLflow", url, credentialsHint: MLFLOW_CREDENTIALS_HINT, doing: "experiments/get-by-name" });
      });
      const { mlflowDeployment } = await import("../deployment/mlflow.ts");
      const lifecycle = s.lifecycle!;
      s.lifecycle = async () => [...(await lifecycle()), ...(await mlflowDeployment(client, url, sdk, s.serverVersion ?? ""))];
    }
    return s;
  },
};

function started(url: string, client: MlflowClient, serverVersion: string, mode: StartedBackend["mode"], stop: () => Promise<void>, credentialsEnv: Record<string, string> = {}, storeFile?: string): StartedBackend {
  return {
    name: "mlflow",
    mode,
    url,
    serverVersion: serverVersion.trim(),
    workflowConfig: () => ({ tracking_uri: url, offline: false }),
    workflowEnv: () => ({ MLFLOW_TRACKING_URI: url, ...credentialsEnv }),
    verify: (manifest, workDir) => verifyMlflow(client, manifest, workDir, storeFile ? storeRead(storeFile) : undefined),
    census: (manifest) => mlflowCensus(client, manifest),
    lifecycle: () => mlflowLifecycle(client),
    httpRetries: () => client.retries,
    stop,
  };
}

/**
 * Keys of at least this many points are read from a native server's store file: REST reads about
 * 23,000 points a second from the one-worker server here (1e6 in 43.7 s, docs/benchmarks.md), so a
 * key this size takes ~4 s that way. Below it every point goes through REST, as in every workflow
 * but `scale` at a million points and more. E2E_MLFLOW_STORE_MIN_POINTS overrides it (the
 * mutation suite reads a small scale run from the file so).
 */
export const STORE_MIN_POINTS = 100_000;
/**
 * get-history's first page, compared point for point with the store's: 5,000 points, about 0.2 s
 * a key idle (10,000 took 1.8 s a key at load average 14, longer than reading 250,000 from the file).
 */
export const REST_SAMPLE = 5_000;

export function storeRead(path: string, env: Record<string, string | undefined> = process.env): StoreRead {
  const raw = env.E2E_MLFLOW_STORE_MIN_POINTS;
  const n = Number(raw);
  if (raw !== undefined && raw !== "" && !(/^\d+$/.test(raw.trim()) && Number.isSafeInteger(n)))
    throw usageError(`E2E_MLFLOW_STORE_MIN_POINTS=${raw} is not a whole number of points`, "set it to a count such as 100000 (0 reads every key from the store file), or unset it");
  return { path, minPoints: raw === undefined || raw === "" ? STORE_MIN_POINTS : n, restSample: REST_SAMPLE };
}

/**
 * `workDir`: where stored event files are copied to be read (removed with the work folder on
 * Ctrl-C). `store`: a native server's SQLite file, large keys read from it.
 */
export async function verifyMlflow(client: MlflowClient, manifest: Manifest, workDir?: string, store?: StoreRead): Promise<Verification> {
  const v = await verifyRuns(manifest, (run) => readMlflowRun(client, run, store), {
    // The branch tag is recorded by MLflow 3 clients; an older server simply has none to compare.
    compare: (obs) => ({ git: { commit: true, branch: !!obs.git?.branch, dirty: false }, nonFiniteNote: "MLflow's SQL store keeps NaN but clamps infinities to ±1.7976931348623157e308" }),
    relations: (run, obs, byKey, label) => {
      const out = modelChecks(run, obs, label ? `${label}:` : "");
      if (!run.parent) return out;
      const parentId = byKey.get(run.parent)?.runId;
      return [check("runs", `${label}:parent`, obs.parentId === parentId, obs.parentId === parentId ? "nested under its parent" : "parent differs", parentId, obs.parentId), ...out];
    },
  });
  // Points logged again identically were counted once in the expectation: say so, with the rule.
  for (const run of manifest.runs)
    for (const [key, n] of Object.entries(run.collapsed ?? {})) {
      const name = `metrics.${manifest.runs.length > 1 ? `${run.key}:` : ""}${key}`;
      const c = v.checks.find((x) => x.name === name);
      if (c) c.message = `${c.message} (${n} point(s) sent again with the same step, timestamp and value counted once: ${IDENTICAL_POINT_RULE})`;
    }
  // Where each key's points were read from, in the check's details; keys read from the store
  // file say so in the message too, and fail where REST served other points.
  for (const run of manifest.runs) {
    if (!v.observed[run.key]) continue;
    const reads = v.observed[run.key]!.extra?.storeReads as StoreReads | undefined;
    const metricCheck = (key: string) => v.checks.find((x) => x.name === `metrics.${manifest.runs.length > 1 ? `${run.key}:` : ""}${key}`);
    for (const key of Object.keys(run.metrics)) {
      const c = metricCheck(key);
      if (c && !reads?.keys[key] && c.actual && typeof c.actual === "object") c.actual = { ...c.actual, readFrom: "REST metrics/get-history" };
    }
    for (const [key, r] of Object.entries(reads?.keys ?? {})) {
      const c = metricCheck(key);
      if (!c) continue;
      const where = `points read from the server's store file ${reads!.file}`;
      c.message = r.ok ? `${c.message} (${where}; ${r.message})` : `${r.message} (${where}); ${c.message}`;
      if (!r.ok) c.status = "fail";
      if (c.actual && typeof c.actual === "object") c.actual = { ...c.actual, readFrom: `store file ${reads!.file}`, rest: r.ok ? "agrees" : r.message };
    }
  }
  // Event folders parsed here are handed to the local event-file check (parsed once for both).
  const eventFiles = new Map<string, Record<string, Series>>();
  v.checks.push(...(await tensorboardFromServer(client, manifest, workDir, eventFiles, (run) => v.observed[run.key]?.artifacts)));
  v.eventFiles = eventFiles;
  return v;
}

/** Create, find, delete an experiment and confirm it is gone (deleted experiments stay as 'deleted'). */
async function mlflowLifecycle(client: MlflowClient): Promise<Check[]> {
  const name = `e2e-lifecycle-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
  const id = await client.createExperiment(name);
  const found = await client.getExperimentByName(name);
  const checks = [check("lifecycle", "create-find", found?.experiment_id === id, found ? "created experiment found by name" : "created experiment not found", id, found?.experiment_id)];
  await client.deleteExperiment(id);
  const after = await client.getExperimentByName(name);
  checks.push(check("lifecycle", "delete", !after || after.lifecycle_stage === "deleted", after ? `lifecycle_stage=${after.lifecycle_stage}` : "gone", "deleted", after?.lifecycle_stage ?? "gone"));
  return checks;
}

/** Runs in the manifest run's experiment that carry its run name (a rank's own run would). */
async function mlflowCensus(client: MlflowClient, manifest: Manifest): Promise<RunCensus> {
  const main = manifest.runs[0];
  if (!main) throw new Error("the manifest has no run");
  const { info } = await client.getRun(main.runId);
  const name = info.run_name ?? main.name;
  const runs = await client.searchRuns([info.experiment_id], `attributes.run_name = '${name.replace(/'/g, "\\'")}'`);
  return { where: `runs/search for run name ${name} in experiment ${info.experiment_id}`, ids: runs.map((r) => r.info.run_id) };
}
