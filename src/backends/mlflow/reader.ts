/**
 * Read one MLflow run back into the comparator's shape: over REST, or, for a native server's large
 * keys, each key's points from the server's own store file (store.ts) with REST's first page and
 * latest value checked against it (rest-vs-store.ts).
 */
import { existsSync } from "node:fs";
import { basename } from "node:path";
import type { ManifestRun } from "../../verify/manifest.ts";
import type { ObservedRun } from "../../verify/observed.ts";
import { isSeries, toNumber } from "../../verify/series.ts";
import type { MlflowClient } from "./client.ts";
import { readModelsAndInputs } from "./models.ts";
import { MlflowStore } from "./store.ts";
import { restAgreesWithStore, type RestAgreement } from "./rest-vs-store.ts";

const HISTORY_READERS = 4;

/** Where a native server's store is, and which keys are read from it. */
export interface StoreRead {
  /** The SQLite file e2e started the server on (native mode only). */
  path: string;
  /** Keys with at least this many stored points are read from the file; smaller ones over REST. */
  minPoints: number;
  /** Points of get-history's first page compared with the store's. */
  restSample: number;
}

/** What readMlflowRun says of each key it read from the store file (ObservedRun.extra.storeReads). */
export interface StoreReads {
  file: string;
  keys: Record<string, RestAgreement & { points: number }>;
}

export async function readMlflowRun(client: MlflowClient, exp: ManifestRun, storeRead?: StoreRead): Promise<ObservedRun> {
  const run = await client.getRun(exp.runId);
  const kv = (xs?: { key: string; value: string }[]) => Object.fromEntries((xs ?? []).map((x) => [x.key, x.value]));
  const tags = kv(run.data.tags);
  // runs/get holds only the latest value per key: read the full history of each key it names,
  // plus every key the manifest expects (so a key missing on the server shows as missing).
  const keys = new Set([...(run.data.metrics ?? []).map((m) => m.key), ...Object.keys(exp.metrics)]);
  // Keys read in parallel, a few at a time (one server worker answers them), each page into columns.
  const metrics: ObservedRun["metrics"] = {};
  const todo = [...keys];
  // Opened per read: the file may have changed since the last one (a kept folder verified again).
  const store = storeRead && existsSync(storeRead.path) ? new MlflowStore(storeRead.path) : undefined;
  const fromStore: StoreReads | undefined = store && { file: basename(storeRead!.path), keys: {} };
  try {
    const counts = store?.counts(exp.runId);
    await Promise.all(Array.from({ length: Math.min(HISTORY_READERS, todo.length) }, async () => {
      for (let key = todo.shift(); key !== undefined; key = todo.shift()) {
        const n = counts?.get(key) ?? 0;
        if (store && n >= storeRead!.minPoints) {
          const want = exp.metrics[key];
          // Asked first: the server serialises its page while the file is read here.
          const page = client.metricHistoryHead(exp.runId, key, storeRead!.restSample);
          page.catch(() => {});
          const s = store.series(exp.runId, key, { like: isSeries(want) ? want : undefined, head: storeRead!.restSample, capacity: n });
          const rest = await page;
          const m = (run.data.metrics ?? []).find((x) => x.key === key);
          const latest = m && { step: Number(m.step), timestamp: Number(m.timestamp), value: toNumber(m.value) };
          fromStore!.keys[key] = { points: s.series.length, ...restAgreesWithStore(rest, s.head, latest, s.latest) };
          if (s.series.length) metrics[key] = s.series;
          continue;
        }
        const hist = await client.metricHistorySeries(exp.runId, key);
        if (hist.length) metrics[key] = hist;
      }
    }));
  } finally {
    store?.close();
  }
  // Keys in the order the run names them (the checks list them so), whatever order they arrived in.
  const ordered: ObservedRun["metrics"] = {};
  for (const key of keys) if (metrics[key]) ordered[key] = metrics[key]!;
  const artifacts: ObservedRun["artifacts"] = {};
  for (const f of await client.listArtifacts(exp.runId)) {
    artifacts[f.path] = await client.downloadArtifact(run.info.artifact_uri, f.path);
  }
  const mlflow = exp.models?.length || exp.datasets?.length ? await readModelsAndInputs(client, exp, run) : undefined;
  const extra = { ...(mlflow ? { mlflow } : {}), ...(fromStore && Object.keys(fromStore.keys).length ? { storeReads: fromStore } : {}) };
  return {
    ...(Object.keys(extra).length ? { extra } : {}),
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
