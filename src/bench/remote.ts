/**
 * `e2e bench --url`: an MLflow server the user runs. Before any load: it must answer (/version)
 * and accept writes (a throwaway experiment); either failing stops the run with one line and exit
 * 4. Credentials come from the environment (MLFLOW_TRACKING_TOKEN, or
 * MLFLOW_TRACKING_USERNAME/PASSWORD) or --api-key-file, as for `e2e run --url`, registered for
 * redaction. Afterwards everything the bench
 * created is removed: artifacts through the proxy, then runs, then experiments.
 */
import { MlflowClient } from "../backends/mlflow/client.ts";
import { mlflowCredentials } from "../backends/deployment/credentials.ts";
import { explainHttpFailure } from "../backends/deployment/http.ts";
import { redact } from "../util/log.ts";
import type { ServerInfo } from "./environment.ts";
import type { Created } from "./http-suite.ts";
import { loadHeaders } from "./load.ts";

const CREDENTIALS_HINT =
  "e2e bench needs a user that may create experiments and runs: set MLFLOW_TRACKING_TOKEN, or MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD, in the environment, or pass --api-key-file FILE holding the token (never on the command line)";

export interface RemoteMlflow {
  client: MlflowClient;
  info: ServerInfo;
  created: Created;
}

/** Client with the credentials (env, else the file); the load generator's raw requests carry them too. */
export function remoteClient(url: string, file?: string, env: NodeJS.ProcessEnv = process.env): MlflowClient {
  const c = mlflowCredentials(file, env);
  const token = c.token;
  const user = c.basic?.user;
  const password = c.basic?.password ?? "";
  const client = new MlflowClient(url, { retries: 0, timeoutMs: 120_000, ...(token ? { token } : user ? { basic: { user, password } } : {}) });
  if (token) loadHeaders.authorization = `Bearer ${token}`;
  else if (user) loadHeaders.authorization = `Basic ${btoa(`${user}:${password}`)}`;
  if (loadHeaders.authorization) redact(loadHeaders.authorization.replace(/^\w+ /, ""));
  return client;
}

/** Reach the server, prove it accepts writes, and read what it says about itself. */
export async function openRemote(url: string, apiKeyFile?: string): Promise<RemoteMlflow> {
  const client = remoteClient(url, apiKeyFile);
  const ctx = { backend: "MLflow", url, credentialsHint: CREDENTIALS_HINT };
  let version: string;
  try {
    version = String(await client.api("/version", { responseType: "text", retry: 1, timeout: 20_000 })).trim();
  } catch (err) {
    throw explainHttpFailure(err, { ...ctx, doing: "reading /version" });
  }
  const created: Created = { experiments: [], runs: [], artifacts: [] };
  let artifactUri: string;
  try {
    const exp = await client.createExperiment(`e2e-bench-probe-${Date.now().toString(36)}`);
    created.experiments.push(exp);
    const run = await client.createRun(exp, "probe");
    created.runs.push(run);
    artifactUri = (await client.getRun(run)).info.artifact_uri;
  } catch (err) {
    const e = explainHttpFailure(err, { ...ctx, doing: "the creation of a throwaway experiment (the bench writes there)" });
    await cleanRemote(client, created).catch(() => {});
    throw e;
  }
  // Store type: MLflow 3's server-info (no login needed); older servers do not have it.
  const info = await client.api<{ store_type?: string | null }>("/api/3.0/mlflow/server-info", { retry: 0, timeout: 10_000 }).catch(() => undefined);
  const served = /^mlflow-artifacts:/.test(artifactUri);
  const store = [
    info?.store_type ? `tracking store ${info.store_type}` : "tracking store not reported (server-info absent)",
    served ? "artifacts served by the tracking server (--serve-artifacts)" : `artifacts written by clients directly to ${artifactUri.replace(/\/[^/]*\/[^/]*\/artifacts$/, "/...")}`,
  ].join(", ");
  return { client, created, info: { target: "mlflow-url", version, store, workersVisible: false } };
}

export interface CleanupReport {
  experiments: number;
  runs: number;
  artifacts: number;
  /** What the server still holds after a clean-up that went through. */
  remains: string;
  failures: string[];
}

/**
 * Delete in reverse order of dependence. MLflow deletes softly: runs and experiments move to the
 * "deleted" lifecycle stage and keep their rows (and a file store its folders) until an operator
 * runs `mlflow gc`; artifact files the bench wrote through the proxy are deleted for real.
 */
export async function cleanRemote(client: MlflowClient, c: Created): Promise<CleanupReport> {
  const failures: string[] = [];
  let artifacts = 0;
  for (const [uri, path] of c.artifacts) {
    try {
      await client.api(client.artifactUrl(uri, path), { method: "DELETE", retry: 0 });
      artifacts++;
    } catch (err) {
      failures.push(`artifact ${path}: ${(err as Error).message.slice(0, 120)}`);
    }
  }
  let runs = 0;
  for (let i = 0; i < c.runs.length; i += 16) {
    await Promise.all(c.runs.slice(i, i + 16).map(async (id) => {
      try {
        await client.api("/api/2.0/mlflow/runs/delete", { method: "POST", body: { run_id: id }, retry: 1 });
        runs++;
      } catch (err) {
        failures.push(`run ${id}: ${(err as Error).message.slice(0, 120)}`);
      }
    }));
  }
  let experiments = 0;
  for (const id of c.experiments) {
    try {
      await client.deleteExperiment(id);
      experiments++;
    } catch (err) {
      failures.push(`experiment ${id}: ${(err as Error).message.slice(0, 120)}`);
    }
  }
  return {
    experiments, runs, artifacts, failures,
    remains: "MLflow deletes runs and experiments softly (lifecycle_stage deleted): their rows stay until an operator runs `mlflow gc`; the artifact files the bench wrote through the proxy were deleted",
  };
}
