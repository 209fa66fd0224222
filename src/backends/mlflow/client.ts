/**
 * A small MLflow REST client, independent of the Python SDK: what the verifier and the benchmarks
 * read and write over HTTP. Reads are retried (idempotent); writes are not.
 */
import { ofetch, type $Fetch } from "ofetch";
import { createHash } from "node:crypto";
import { backendError } from "../../util/errors.ts";
import { SeriesBuilder, toNumber, type Series } from "../../verify/series.ts";
import { createWriteStream } from "node:fs";

export interface MlflowRun {
  info: { run_id: string; run_name?: string; experiment_id: string; status: string; artifact_uri: string; lifecycle_stage?: string };
  data: {
    params?: { key: string; value: string }[];
    tags?: { key: string; value: string }[];
    metrics?: { key: string; value: number | string; step: number; timestamp: number }[];
  };
  inputs?: { dataset_inputs?: { dataset: MlflowDataset; tags?: { key: string; value: string }[] }[] };
  outputs?: { model_outputs?: { model_id: string; step: number | string }[] };
}

export interface MlflowDataset {
  name: string;
  digest: string;
  source_type?: string;
  source?: string;
  schema?: string;
  profile?: string;
}

/** An MLflow 3 LoggedModel as `logged-models/{id}` returns it. */
export interface MlflowLoggedModel {
  info: {
    model_id: string;
    experiment_id: string;
    name?: string;
    artifact_uri: string;
    status?: string;
    source_run_id?: string;
    tags?: { key: string; value: string }[];
  };
  data?: {
    params?: { key: string; value: string }[];
    metrics?: (MlflowMetric & { run_id?: string; model_id?: string })[];
  };
}

export interface MlflowMetric {
  key: string;
  value: number | string;
  step: number;
  timestamp: number;
}

export interface MlflowClientOptions {
  /** Bearer token (MLFLOW_TRACKING_TOKEN) or basic auth, from env only. */
  token?: string;
  basic?: { user: string; password: string };
  timeoutMs?: number;
  retries?: number;
}

export class MlflowClient {
  readonly api: $Fetch;
  /** Retries ofetch made on reads, for the report. */
  retries = 0;

  constructor(readonly baseUrl: string, opts: MlflowClientOptions = {}) {
    const headers: Record<string, string> = {};
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    else if (opts.basic) headers.authorization = `Basic ${btoa(`${opts.basic.user}:${opts.basic.password}`)}`;
    this.api = ofetch.create({
      baseURL: baseUrl.replace(/\/$/, ""),
      headers,
      timeout: opts.timeoutMs ?? 30_000,
      retry: opts.retries ?? 2,
      retryDelay: 500,
      onRequestError: ({ options }) => void (options.retry && this.retries++),
      onResponseError: ({ response, options }) => {
        if (options.method && options.method !== "GET") return;
        if ([408, 409, 425, 429, 500, 502, 503, 504].includes(response.status)) this.retries++;
      },
    });
  }

  static fromEnv(url: string): MlflowClient {
    const e = process.env;
    return new MlflowClient(url, {
      token: e.MLFLOW_TRACKING_TOKEN,
      basic: e.MLFLOW_TRACKING_USERNAME ? { user: e.MLFLOW_TRACKING_USERNAME, password: e.MLFLOW_TRACKING_PASSWORD ?? "" } : undefined,
    });
  }

  version(): Promise<string> {
    return this.api("/version", { responseType: "text" }) as Promise<string>;
  }

  async getExperimentByName(name: string): Promise<{ experiment_id: string; name: string; lifecycle_stage: string } | undefined> {
    try {
      const r = await this.api<{ experiment: { experiment_id: string; name: string; lifecycle_stage: string } }>(
        "/api/2.0/mlflow/experiments/get-by-name", { query: { experiment_name: name } });
      return r.experiment;
    } catch (err) {
      if (errorCode(err) === "RESOURCE_DOES_NOT_EXIST") return undefined;
      throw err;
    }
  }

  async createExperiment(name: string): Promise<string> {
    const r = await this.api<{ experiment_id: string }>("/api/2.0/mlflow/experiments/create", { method: "POST", body: { name }, retry: 0 });
    return r.experiment_id;
  }

  async deleteExperiment(id: string): Promise<void> {
    await this.api("/api/2.0/mlflow/experiments/delete", { method: "POST", body: { experiment_id: id }, retry: 0 });
  }

  async getRun(runId: string): Promise<MlflowRun> {
    const r = await this.api<{ run: MlflowRun }>("/api/2.0/mlflow/runs/get", { query: { run_id: runId } });
    return r.run;
  }

  async searchRuns(experimentIds: string[], filter = "", maxResults = 1000): Promise<MlflowRun[]> {
    const out: MlflowRun[] = [];
    let page_token: string | undefined;
    do {
      // runs/search is a read although it is a POST: safe to retry.
      const r = await this.api<{ runs?: MlflowRun[]; next_page_token?: string }>("/api/2.0/mlflow/runs/search", {
        method: "POST", body: { experiment_ids: experimentIds, filter, max_results: maxResults, page_token },
      });
      out.push(...(r.runs ?? []));
      page_token = r.next_page_token || undefined;
    } while (page_token);
    return out;
  }

  /** The full history of one metric, following next_page_token when the server pages. */
  async getMetricHistory(runId: string, key: string, pageSize = 25_000): Promise<MlflowMetric[]> {
    const out: MlflowMetric[] = [];
    let page_token: string | undefined;
    do {
      const r = await this.api<{ metrics?: MlflowMetric[]; next_page_token?: string }>("/api/2.0/mlflow/metrics/get-history", {
        query: { run_id: runId, metric_key: key, max_results: pageSize, page_token },
      });
      out.push(...(r.metrics ?? []));
      page_token = r.next_page_token || undefined;
    } while (page_token);
    return out;
  }

  /**
   * The same history into columns, page by page as it arrives (memory: the columns and one page),
   * so a key with millions of points is never an object per point.
   */
  async metricHistorySeries(runId: string, key: string, pageSize = 25_000): Promise<Series> {
    const b = new SeriesBuilder();
    let page_token: string | undefined;
    do {
      const r = await this.api<{ metrics?: MlflowMetric[]; next_page_token?: string }>("/api/2.0/mlflow/metrics/get-history", {
        query: { run_id: runId, metric_key: key, max_results: pageSize, page_token },
      });
      for (const m of r.metrics ?? []) b.push(Number(m.step), toNumber(m.value), Number(m.timestamp));
      page_token = r.next_page_token || undefined;
    } while (page_token);
    return b.finish();
  }

  /** get-history's first page alone (at most `max` points), into columns. */
  async metricHistoryHead(runId: string, key: string, max: number): Promise<Series> {
    const r = await this.api<{ metrics?: MlflowMetric[] }>("/api/2.0/mlflow/metrics/get-history", {
      query: { run_id: runId, metric_key: key, max_results: max },
    });
    const b = new SeriesBuilder(Math.max(1, max));
    for (const m of r.metrics ?? []) b.push(Number(m.step), toNumber(m.value), Number(m.timestamp));
    return b.finish();
  }

  async logBatch(runId: string, metrics: MlflowMetric[], params: { key: string; value: string }[] = [], tags: { key: string; value: string }[] = []): Promise<void> {
    await this.api("/api/2.0/mlflow/runs/log-batch", { method: "POST", body: { run_id: runId, metrics, params, tags }, retry: 0 });
  }

  async createRun(experimentId: string, runName: string, tags: { key: string; value: string }[] = []): Promise<string> {
    const r = await this.api<{ run: MlflowRun }>("/api/2.0/mlflow/runs/create", {
      method: "POST", body: { experiment_id: experimentId, run_name: runName, start_time: Date.now(), tags }, retry: 0,
    });
    return r.run.info.run_id;
  }

  /** Every file under a run's artifact root, recursively. */
  async listArtifacts(runId: string, path = ""): Promise<{ path: string; file_size: number }[]> {
    const r = await this.api<{ files?: { path: string; is_dir: boolean; file_size?: number }[] }>(
      "/api/2.0/mlflow/artifacts/list", { query: { run_id: runId, path: path || undefined } });
    const out: { path: string; file_size: number }[] = [];
    for (const f of r.files ?? []) {
      if (f.is_dir) out.push(...(await this.listArtifacts(runId, f.path)));
      else out.push({ path: f.path, file_size: Number(f.file_size ?? 0) });
    }
    return out;
  }

  /** URL of an artifact through the server's proxy (mlflow-artifacts:/ URIs). */
  artifactUrl(artifactUri: string, relPath: string): string {
    const m = /^mlflow-artifacts:(?:\/\/[^/]*)?\/(.*)$/.exec(artifactUri);
    if (!m) throw backendError(`run artifact URI ${artifactUri} is not served by the tracking server`, "start mlflow server with --serve-artifacts");
    const rel = [m[1]!.replace(/\/$/, ""), relPath].filter(Boolean).join("/");
    return `/api/2.0/mlflow-artifacts/artifacts/${rel.split("/").map(encodeURIComponent).join("/")}`;
  }

  /** Download an artifact and hash it as it streams. */
  async downloadArtifact(artifactUri: string, relPath: string): Promise<{ size: number; sha256: string }> {
    return this.hashStream(this.artifactUrl(artifactUri, relPath));
  }

  async getLoggedModel(modelId: string): Promise<MlflowLoggedModel> {
    const r = await this.api<{ model: MlflowLoggedModel }>(`/api/2.0/mlflow/logged-models/${encodeURIComponent(modelId)}`);
    return r.model;
  }

  /** Every LoggedModel of the experiments (optionally filtered, e.g. by source_run_id), paged. */
  async searchLoggedModels(experimentIds: string[], filter = ""): Promise<MlflowLoggedModel[]> {
    const out: MlflowLoggedModel[] = [];
    let page_token: string | undefined;
    do {
      // A read although it is a POST: safe to retry.
      const r = await this.api<{ models?: MlflowLoggedModel[]; next_page_token?: string }>("/api/2.0/mlflow/logged-models/search", {
        method: "POST", body: { experiment_ids: experimentIds, filter: filter || undefined, max_results: 100, page_token },
      });
      out.push(...(r.models ?? []));
      page_token = r.next_page_token || undefined;
    } while (page_token);
    return out;
  }

  /** Every file of a LoggedModel's artifacts, recursively (logged-models/{id}/artifacts/directories). */
  async listLoggedModelArtifacts(modelId: string, path = ""): Promise<{ path: string; file_size: number }[]> {
    const r = await this.api<{ files?: { path: string; is_dir: boolean; file_size?: number }[] }>(
      `/api/2.0/mlflow/logged-models/${encodeURIComponent(modelId)}/artifacts/directories`, { query: { artifact_directory_path: path || undefined } });
    const out: { path: string; file_size: number }[] = [];
    for (const f of r.files ?? []) {
      if (f.is_dir) out.push(...(await this.listLoggedModelArtifacts(modelId, f.path)));
      else out.push({ path: f.path, file_size: Number(f.file_size ?? 0) });
    }
    return out;
  }

  /**
   * One file of a LoggedModel, hashed as it streams: through the artifact proxy when the model's
   * artifact URI is served by it, else the server's own logged-model file route (ajax-api, which
   * reads any artifact store the server can reach).
   */
  async downloadLoggedModelArtifact(model: MlflowLoggedModel, relPath: string): Promise<{ size: number; sha256: string }> {
    const uri = model.info.artifact_uri;
    const url = /^mlflow-artifacts:/.test(uri)
      ? this.artifactUrl(uri, relPath)
      : `/ajax-api/2.0/mlflow/logged-models/${encodeURIComponent(model.info.model_id)}/artifacts/files?artifact_file_path=${encodeURIComponent(relPath)}`;
    return this.hashStream(url);
  }

  private async hashStream(url: string): Promise<{ size: number; sha256: string }> {
    const res = await this.api.raw(url, { responseType: "stream" });
    const hash = createHash("sha256");
    let size = 0;
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      hash.update(value);
      size += value.length;
    }
    return { size, sha256: hash.digest("hex") };
  }

  /** A run artifact streamed into a local file (large files: never whole in memory). */
  async saveArtifact(artifactUri: string, relPath: string, dest: string): Promise<void> {
    const res = await this.api.raw(this.artifactUrl(artifactUri, relPath), { responseType: "stream" });
    const out = createWriteStream(dest);
    try {
      const reader = (res.body as ReadableStream<Uint8Array>).getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        if (!out.write(value)) await new Promise((r) => out.once("drain", r));
      }
    } finally {
      await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
    }
  }

  /** The bytes of a run artifact (small files). */
  async readArtifact(artifactUri: string, relPath: string): Promise<Uint8Array> {
    const res = await this.api.raw(this.artifactUrl(artifactUri, relPath), { responseType: "arrayBuffer" });
    return new Uint8Array(res._data as ArrayBuffer);
  }

  async uploadArtifact(artifactUri: string, relPath: string, body: Uint8Array): Promise<void> {
    await this.api(this.artifactUrl(artifactUri, relPath), { method: "PUT", body, retry: 0 });
  }
}

export function errorCode(err: unknown): string | undefined {
  const data = (err as { data?: { error_code?: string } }).data;
  return data?.error_code;
}
