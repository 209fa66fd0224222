/** Read one MLflow run back over REST into the comparator's shape. */
import type { ManifestRun } from "../../verify/manifest.ts";
import type { ObservedRun } from "../../verify/observed.ts";
import type { MlflowClient } from "./client.ts";
import { readModelsAndInputs } from "./models.ts";

const HISTORY_READERS = 4;

export async function readMlflowRun(client: MlflowClient, exp: ManifestRun): Promise<ObservedRun> {
  const run = await client.getRun(exp.runId);
  const kv = (xs?: { key: string; value: string }[]) => Object.fromEntries((xs ?? []).map((x) => [x.key, x.value]));
  const tags = kv(run.data.tags);
  // runs/get holds only the latest value per key: read the full history of each key it names,
  // plus every key the manifest expects (so a key missing on the server shows as missing).
  const keys = new Set([...(run.data.metrics ?? []).map((m) => m.key), ...Object.keys(exp.metrics)]);
  // Keys read in parallel, a few at a time (one server worker answers them), each page into columns.
  const metrics: ObservedRun["metrics"] = {};
  const todo = [...keys];
  await Promise.all(Array.from({ length: Math.min(HISTORY_READERS, todo.length) }, async () => {
    for (let key = todo.shift(); key !== undefined; key = todo.shift()) {
      const hist = await client.metricHistorySeries(exp.runId, key);
      if (hist.length) metrics[key] = hist;
    }
  }));
  // Keys in the order the run names them (the checks list them so), whatever order they arrived in.
  const ordered: ObservedRun["metrics"] = {};
  for (const key of keys) if (metrics[key]) ordered[key] = metrics[key]!;
  const artifacts: ObservedRun["artifacts"] = {};
  for (const f of await client.listArtifacts(exp.runId)) {
    artifacts[f.path] = await client.downloadArtifact(run.info.artifact_uri, f.path);
  }
  const mlflow = exp.models?.length || exp.datasets?.length ? await readModelsAndInputs(client, exp, run) : undefined;
  return {
    ...(mlflow ? { extra: { mlflow } } : {}),
    runId: run.info.run_id,
    name: run.info.run_name ?? tags["mlflow.runName"],
    status: run.info.status,
    parentId: tags["mlflow.parentRunId"],
    params: kv(run.data.params),
    tags,
    metrics: ordered,
    artifacts,
    git: { commit: tags["mlflow.source.git.commit"], branch: tags["mlflow.source.git.branch"], remote: tags["mlflow.source.git.repoURL"] },
  };
}
