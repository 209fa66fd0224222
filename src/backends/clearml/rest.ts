/**
 * A small ClearML server REST client over ofetch, independent of the clearml SDK. Endpoint and
 * field names are those of clearml-server's apiserver (services/events.py, tasks, auth, server)
 * and of the SDK's backend_api v2.23 schemas:
 * - POST {api}/auth.login with Basic access:secret -> data.token (a JWT whose payload carries
 *   server_version and api_version); every other call sends `Authorization: Bearer <token>`.
 * - Every answer is {meta: {result_code, result_msg, ...}, data: {...}}.
 * - Exact scalars: events.scalar_metrics_iter_raw {task, metric: {metric, variants}, key: "iter",
 *   batch_size, scroll_id} -> data.variants[variant] = {iter: [...], y: [...]}, `returned`,
 *   scroll_id; called again with the scroll_id until it returns 0 (the histogram endpoints
 *   sample and average, and are never used).
 * - Artifact bytes: the artifact's uri on the fileserver, with the same Bearer token (newer
 *   fileservers check it; older ones ignore it), as the SDK's _HttpDriver does.
 */
import { ofetch, type $Fetch } from "ofetch";
import { createHash } from "node:crypto";
import { backendError } from "../../util/errors.ts";
import { explainHttpFailure, httpFailure } from "../deployment/http.ts";
import type { ClearmlKeys } from "../deployment/credentials.ts";

export const CLEARML_CREDENTIALS_HINT =
  "check CLEARML_API_ACCESS_KEY and CLEARML_API_SECRET_KEY (or --api-key-file): they must be credentials made on THIS server (web UI: Settings > Workspace > Create new credentials)";

export interface ClearmlHosts {
  api: string;
  web: string;
  files: string;
}

/** Web and files hosts from the API URL the way the SDK guesses them (api. -> app./files., :8008 -> :8080/:8081), unless set by env. */
export function clearmlHosts(apiUrl: string, env: NodeJS.ProcessEnv = process.env): ClearmlHosts {
  const api = apiUrl.replace(/\/$/, "");
  const guess = (sub: string, port: string) => {
    const u = new URL(api);
    if (u.port === "8008") u.port = port;
    else if (u.hostname.startsWith("api.")) u.hostname = `${sub}.${u.hostname.slice(4)}`;
    return u.toString().replace(/\/$/, "");
  };
  return {
    api,
    web: (env.CLEARML_WEB_HOST ?? guess("app", "8080")).replace(/\/$/, ""),
    files: (env.CLEARML_FILES_HOST ?? guess("files", "8081")).replace(/\/$/, ""),
  };
}

export interface ClearmlTask {
  id: string;
  name?: string;
  status?: string;
  project?: string;
  parent?: string;
  tags?: string[];
  system_tags?: string[];
  hyperparams?: Record<string, Record<string, { value?: unknown }>>;
  script?: { repository?: string; branch?: string; version_num?: string; diff?: string; entry_point?: string; working_dir?: string };
  execution?: { artifacts?: { key?: string; uri?: string; hash?: string; content_size?: number; type?: string; mode?: string }[] };
  /** Input and output models (API >= 2.13): name and model id. */
  models?: { input?: { name?: string; model?: string }[]; output?: { name?: string; model?: string }[] };
  /** connect_configuration: name -> {name, type, value (the stored text)}. */
  configuration?: Record<string, { name?: string; type?: string; value?: string }>;
  last_iteration?: number;
}

export interface ScalarPoint {
  metric: string;
  variant: string;
  iter: number;
  value: number | string;
}

export class ClearmlRest {
  readonly api: $Fetch;
  token?: string;
  /** From the login token: the server's version and API level. */
  serverVersion?: string;
  apiVersion?: string;

  constructor(readonly hosts: ClearmlHosts, private readonly keys: ClearmlKeys, opts: { timeoutMs?: number; retries?: number } = {}) {
    this.api = ofetch.create({
      baseURL: hosts.api,
      timeout: opts.timeoutMs ?? 60_000,
      retry: opts.retries ?? 2,
      retryDelay: 500,
      retryStatusCodes: [408, 429, 500, 502, 503, 504],
    });
  }

  private fail(err: unknown, doing: string) {
    const f = httpFailure(err);
    const meta = (() => {
      try {
        return (JSON.parse(f.body) as { meta?: { result_msg?: string } }).meta?.result_msg;
      } catch {
        return undefined;
      }
    })();
    const e = explainHttpFailure(err, { backend: "ClearML", url: this.hosts.api, credentialsHint: CLEARML_CREDENTIALS_HINT, doing });
    return meta && !e.message.includes(meta) ? backendError(`${e.message}: ${meta}`, e.hint, e.detail) : e;
  }

  /** debug.ping needs no credentials: does anything ClearML answer at this URL? */
  async ping(): Promise<unknown> {
    try {
      return (await this.api<{ data?: unknown }>("/debug.ping", { method: "POST", body: {} })).data;
    } catch (err) {
      throw this.fail(err, "debug.ping");
    }
  }

  async login(): Promise<string> {
    let r: { data?: { token?: string } };
    try {
      r = await this.api("/auth.login", { method: "POST", body: {}, headers: { authorization: `Basic ${btoa(`${this.keys.accessKey}:${this.keys.secretKey}`)}` }, retry: 0 });
    } catch (err) {
      throw this.fail(err, "auth.login");
    }
    const token = r.data?.token;
    if (!token) throw backendError(`ClearML at ${this.hosts.api}: auth.login returned no token`, "check that --url is the API server (port 8008), not the web UI");
    this.token = token;
    const claims = decodeJwt(token);
    this.serverVersion = typeof claims.server_version === "string" ? claims.server_version : undefined;
    this.apiVersion = typeof claims.api_version === "string" ? claims.api_version : undefined;
    return token;
  }

  /** POST {api}/<endpoint> with the token; returns `data`. */
  async call<T>(endpoint: string, body: Record<string, unknown>, doing = endpoint, opts: { retry?: number } = {}): Promise<T> {
    if (!this.token) await this.login();
    try {
      const r = await this.api<{ data: T }>(`/${endpoint}`, { method: "POST", body, headers: { authorization: `Bearer ${this.token}` }, retry: opts.retry });
      return r.data;
    } catch (err) {
      throw this.fail(err, doing);
    }
  }

  async serverInfo(): Promise<{ version?: string; build?: string; commit?: string; api_version?: string }> {
    return this.call("server.info", {}, "server.info");
  }

  async task(id: string): Promise<ClearmlTask> {
    const d = await this.call<{ task: ClearmlTask }>("tasks.get_by_id", { task: id }, `reading task ${id}`);
    return d.task;
  }

  /**
   * Every task of a project with exactly this name: tasks.get_all with the name as an anchored,
   * escaped pattern (the server matches `name` as a regex; the SDK's exact_match_regex), paged as
   * Task._query_tasks pages (page, page_size; a short page is the last).
   */
  async tasksNamed(project: string, name: string, pageSize = 500): Promise<{ id: string; name?: string }[]> {
    const out: { id: string; name?: string }[] = [];
    const pattern = exactMatchRegex(name);
    for (let page = 0; ; page++) {
      const d = await this.call<{ tasks?: { id: string; name?: string }[] }>("tasks.get_all",
        { project: [project], name: pattern, only_fields: ["id", "name"], page, page_size: pageSize }, `tasks named ${name} in project ${project}`);
      const tasks = d.tasks ?? [];
      out.push(...tasks);
      if (tasks.length < pageSize) return out;
    }
  }

  async projectName(id: string): Promise<string | undefined> {
    const d = await this.call<{ project?: { name?: string } }>("projects.get_by_id", { project: id }, `reading project ${id}`).catch(() => undefined);
    return d?.project?.name;
  }

  /** metric -> variant names of a task's scalars. */
  async scalarMetrics(task: string): Promise<Record<string, string[]>> {
    const d = await this.call<{ metrics?: Record<string, Record<string, unknown>> }>("events.get_scalar_metrics_and_variants", { task }, `scalar names of ${task}`);
    return Object.fromEntries(Object.entries(d.metrics ?? {}).map(([m, vs]) => [m, Object.keys(vs ?? {})]));
  }

  /** Every scalar event of one metric, exactly, scrolling until the server returns none. */
  async scalarsRaw(task: string, metric: string, variants: string[], batchSize = 100_000): Promise<ScalarPoint[]> {
    const out: ScalarPoint[] = [];
    let scroll_id: string | undefined;
    for (let page = 0; ; page++) {
      const d = await this.call<{ variants?: Record<string, { iter?: number[]; y?: (number | string)[] }>; returned?: number; scroll_id?: string }>(
        "events.scalar_metrics_iter_raw",
        { task, metric: { metric, variants }, key: "iter", batch_size: batchSize, count_total: page === 0, ...(scroll_id ? { scroll_id } : {}) },
        `scalars ${metric} of ${task}`);
      let n = 0;
      for (const [variant, v] of Object.entries(d.variants ?? {})) {
        const iters = v.iter ?? [];
        const ys = v.y ?? [];
        if (iters.length !== ys.length) throw backendError(`ClearML returned ${iters.length} iterations but ${ys.length} values for ${metric}/${variant}`, "report this server version");
        iters.forEach((it, i) => out.push({ metric, variant, iter: it, value: ys[i]! }));
        n += iters.length;
      }
      if (!(d.returned ?? n) || !d.scroll_id) break;
      scroll_id = d.scroll_id;
    }
    return out;
  }

  /**
   * Every event of one type of a task, with its timestamp (events.get_task_events, scrolled to the
   * end in ascending order). Used for what scalar_metrics_iter_raw leaves out: the timestamps.
   */
  async taskEvents(task: string, eventType: string, batchSize = 10_000): Promise<Record<string, unknown>[]> {
    const out: Record<string, unknown>[] = [];
    let scroll_id: string | undefined;
    for (;;) {
      const d = await this.call<{ events?: Record<string, unknown>[]; returned?: number; total?: number; scroll_id?: string }>(
        "events.get_task_events", { task, event_type: eventType, batch_size: batchSize, order: "asc", ...(scroll_id ? { scroll_id } : {}) },
        `${eventType} events of ${task}`);
      const evs = d.events ?? [];
      out.push(...evs);
      if (!evs.length || !d.scroll_id || (typeof d.total === "number" && out.length >= d.total)) break;
      scroll_id = d.scroll_id;
    }
    return out;
  }

  /** The task's output models (tasks.get_by_id models.output, then models.get_by_id each). */
  async outputModels(task: string): Promise<{ id: string; name?: string; framework?: string; uri?: string }[]> {
    const t = await this.task(task);
    const out: { id: string; name?: string; framework?: string; uri?: string }[] = [];
    for (const ref of t.models?.output ?? []) {
      if (!ref.model) continue;
      const d = await this.call<{ model?: { id: string; name?: string; framework?: string; uri?: string } }>("models.get_by_id", { model: ref.model }, `reading model ${ref.model}`);
      if (d.model) out.push(d.model);
    }
    return out;
  }

  /** Bytes of a file on the fileserver (or another http(s) store), hashed. */
  async download(uri: string): Promise<{ size: number; sha256: string; bytes: Uint8Array }> {
    if (!/^https?:\/\//.test(uri)) throw backendError(`artifact stored at ${uri}: e2e reads artifacts over http(s) only`, "store artifacts on the ClearML fileserver (CLEARML_FILES_HOST / output_uri) to let e2e verify their bytes");
    const own = uri.startsWith(`${this.hosts.files}/`);
    try {
      const buf = await ofetch(uri, { responseType: "arrayBuffer", headers: own && this.token ? { authorization: `Bearer ${this.token}` } : {}, retry: 2, timeout: 300_000 });
      const bytes = new Uint8Array(buf);
      return { size: bytes.length, sha256: createHash("sha256").update(bytes).digest("hex"), bytes };
    } catch (err) {
      throw explainHttpFailure(err, { backend: "ClearML fileserver", url: own ? this.hosts.files : new URL(uri).origin, credentialsHint: CLEARML_CREDENTIALS_HINT, doing: `downloading ${uri}` });
    }
  }

  /** Upload as the SDK does: multipart POST to {files}/<folder>/ with the field named by the file's path. */
  async upload(folder: string, name: string, bytes: Uint8Array): Promise<string> {
    const form = new FormData();
    form.append(`${folder}/${name}`, new Blob([bytes]), `${folder}/${name}`);
    try {
      await ofetch(`${this.hosts.files}/`, { method: "POST", body: form, headers: this.token ? { authorization: `Bearer ${this.token}` } : {}, retry: 0, timeout: 300_000 });
    } catch (err) {
      throw explainHttpFailure(err, { backend: "ClearML fileserver", url: this.hosts.files, credentialsHint: CLEARML_CREDENTIALS_HINT, doing: `uploading ${folder}/${name}` });
    }
    return `${this.hosts.files}/${folder}/${name}`;
  }

  async deleteFile(uri: string): Promise<void> {
    await ofetch(uri, { method: "DELETE", headers: this.token ? { authorization: `Bearer ${this.token}` } : {}, retry: 0 }).catch(() => {});
  }
}

/** The SDK's exact_match_regex: "^<name, regex characters escaped>$". */
export const exactMatchRegex = (name: string) => `^${name.replace(/[.*+?^${}()|[\]\\-]/g, "\\$&")}$`;

/** The payload of a JWT, unverified (read for the server version only). */
export function decodeJwt(token: string): Record<string, unknown> {
  try {
    const part = token.split(".")[1] ?? "";
    return JSON.parse(Buffer.from(part.replace(/-/g, "+").replace(/_/g, "/"), "base64").toString("utf8")) as Record<string, unknown>;
  } catch {
    return {};
  }
}
