/**
 * TEST DOUBLE of a ClearML server (not ClearML): two Bun.serve listeners on 127.0.0.1, the API
 * server and the fileserver, answering the endpoints e2e calls with the shapes of clearml-server's
 * apiserver: {meta, data} envelopes, auth.login (Basic -> JWT-shaped token carrying
 * server_version/api_version), Bearer on every other call, tasks.get_by_id, tasks.get_all (project,
 * name pattern, page/page_size, only_fields), projects.get_by_id,
 * events.get_scalar_metrics_and_variants, events.scalar_metrics_iter_raw with its scroll (next
 * page = events with iter above the last one returned, as services/events.py pages),
 * events.get_task_events (full events with their timestamps, scrolled in pages; scalar, log and
 * debug-image events), models.get_by_id, server.info,
 * debug.ping; the fileserver takes multipart POSTs (field name = target path) and serves GET/DELETE.
 * No ClearML server can run where e2e is built; this double is what the ClearML-by-URL client is
 * tested against. For `e2e bench --url`: projects.create/delete (force), tasks.create/delete
 * (force), projects.get_all (name pattern, the look-up before a set-up retry), events.add_batch (json-lines, one event per line, as the SDK's batched request sends
 * them; scalar events land in the task's scalars). Every answer carries the header
 * `x-e2e-test-double: clearml`, so a bench against it says whose figures they are.
 */
export interface DoubleTask {
  id: string;
  name: string;
  project: { id: string; name: string };
  status?: string;
  parent?: string;
  tags?: string[];
  hyperparams?: Record<string, Record<string, { section: string; name: string; value: string; type?: string }>>;
  script?: Record<string, string>;
  /** metric -> variant -> [iter, value, timestamp ms?][] */
  scalars: Record<string, Record<string, [number, number | string, number?][]>>;
  /** artifact key -> file name and bytes (stored on the fileserver). */
  artifacts: Record<string, { file: string; bytes: Uint8Array }>;
  /** connect_configuration: name -> {name, type, value}, as tasks.get_by_id returns it. */
  configuration?: Record<string, { name: string; type: string; value: string }>;
  /** Console log messages (events of type "log"). */
  logs?: string[];
  /** Debug images: events of type "training_debug_image" whose url is the file on the fileserver. */
  images?: { metric: string; variant: string; iter: number; file: string; bytes: Uint8Array }[];
  /** Output models (tasks.get_by_id models.output, models.get_by_id), weights on the fileserver. */
  models?: { id: string; name: string; framework: string; file: string; bytes: Uint8Array }[];
}

export interface ClearmlDoubleOptions {
  accessKey: string;
  secretKey: string;
  tasks?: DoubleTask[];
  /** Bodies above this many bytes get nginx's 413 page on the fileserver (a proxy in front). */
  bodyLimit?: number;
  /** The fileserver wants the token (newer servers with auth enabled). */
  fileAuth?: boolean;
  serverVersion?: string;
  apiVersion?: string;
  /** Cap on batch_size, as services.events.events_retrieval.max_raw_scalars_size. */
  maxBatch?: number;
  /** Answer events.get_task_events as an unknown endpoint (a server without it). */
  noTaskEvents?: boolean;
}

export interface ClearmlDouble {
  api: string;
  files: string;
  calls: string[];
  fileStore: Map<string, Uint8Array>;
  /** Projects made by projects.create (id -> name), removed by projects.delete. */
  projects: Map<string, string>;
  /** The server's tasks: a test may plant one (files of tasks added later are not served). */
  tasks: DoubleTask[];
  /** Every object made, in order, kept after its deletion: "projects.create NAME", "tasks.create NAME". */
  created: string[];
  stop(): void;
}

const b64url = (s: string) => Buffer.from(s).toString("base64url");

export function startClearmlDouble(o: ClearmlDoubleOptions): ClearmlDouble {
  const tasks = o.tasks ?? [];
  const calls: string[] = [];
  const created: string[] = [];
  const fileStore = new Map<string, Uint8Array>();
  const token = `${b64url(JSON.stringify({ alg: "HS256", typ: "JWT" }))}.${b64url(JSON.stringify({ identity: { user: "u1", company: "c1" }, server_version: o.serverVersion ?? "2.0.0", api_version: o.apiVersion ?? "2.31", env: "<unknown>" }))}.c2ln`;
  const envelope = (endpoint: string, code: number, data: unknown, msg = "OK", sub = 0) =>
    Response.json({ meta: { id: crypto.randomUUID(), trx: crypto.randomUUID(), endpoint: { name: endpoint, requested_version: "2.31", actual_version: "1.0" }, result_code: code, result_subcode: sub, result_msg: msg, error_stack: "", error_data: {} }, data }, { status: code });

  const projects = new Map<string, string>();
  const mark = (res: Response) => (res.headers.set("x-e2e-test-double", "clearml"), res);
  const files = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    maxRequestBodySize: 1 << 30,
    fetch: async (req) => mark(await filesFetch(req)),
  });
  async function filesFetch(req: Request): Promise<Response> {
    {
      if (o.bodyLimit !== undefined && Number(req.headers.get("content-length") ?? 0) > o.bodyLimit)
        return new Response("<html><head><title>413 Request Entity Too Large</title></head><body><center><h1>413 Request Entity Too Large</h1></center><hr><center>nginx</center></body></html>", { status: 413 });
      if (o.fileAuth && req.headers.get("authorization") !== `Bearer ${token}`) return new Response("Unauthorized", { status: 401 });
      const path = decodeURIComponent(new URL(req.url).pathname.slice(1));
      if (req.method === "POST") {
        const form = await req.formData();
        for (const [name, value] of form.entries()) if (typeof value !== "string") fileStore.set(name, new Uint8Array(await value.arrayBuffer()));
        return new Response("");
      }
      if (req.method === "GET") {
        if (path === "") return new Response("OK");
        const b = fileStore.get(path);
        return b ? new Response(b) : new Response("File not found", { status: 404 });
      }
      if (req.method === "DELETE") return new Response(fileStore.delete(path) ? "" : "File not found", { status: fileStore.has(path) ? 200 : 200 });
      return new Response("", { status: 405 });
    }
  }
  const filesUrl = `http://127.0.0.1:${files.port}`;
  const uriOf = (t: DoubleTask, key: string) => `${filesUrl}/${t.project.name}/${t.name}.${t.id}/artifacts/${key}/${t.artifacts[key]!.file}`;
  for (const t of tasks) for (const k of Object.keys(t.artifacts)) fileStore.set(decodeURIComponent(new URL(uriOf(t, k)).pathname.slice(1)), t.artifacts[k]!.bytes);
  const imageUri = (t: DoubleTask, i: NonNullable<DoubleTask["images"]>[number]) => `${filesUrl}/${t.project.name}/${t.name}.${t.id}/metrics/${i.metric}/${i.variant}/${i.file}`;
  const modelUri = (t: DoubleTask, m: NonNullable<DoubleTask["models"]>[number]) => `${filesUrl}/${t.project.name}/${t.name}.${t.id}/models/${m.file}`;
  const keyOf = (uri: string) => decodeURIComponent(new URL(uri).pathname.slice(1));
  for (const t of tasks) {
    for (const i of t.images ?? []) fileStore.set(keyOf(imageUri(t, i)), i.bytes);
    for (const m of t.models ?? []) fileStore.set(keyOf(modelUri(t, m)), m.bytes);
  }

  const api = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch: async (req) => mark(await apiFetch(req)),
  });
  async function apiFetch(req: Request): Promise<Response> {
    {
      const endpoint = new URL(req.url).pathname.replace(/^\/(v[\d.]+\/)?/, "");
      calls.push(endpoint);
      const text = await req.text();
      // events.add_batch comes as json-lines (one event per line); everything else as one JSON object.
      const lines = endpoint === "events.add_batch" ? text.split("\n").filter((l) => l.trim()) : [];
      const body = (() => {
        try {
          return (endpoint === "events.add_batch" ? {} : JSON.parse(text || "{}")) as Record<string, any>;
        } catch {
          return {} as Record<string, any>;
        }
      })();
      if (endpoint === "debug.ping") return envelope(endpoint, 200, { msg: "ClearML server" });
      if (endpoint === "auth.login") {
        if (req.headers.get("authorization") !== `Basic ${btoa(`${o.accessKey}:${o.secretKey}`)}`)
          return envelope(endpoint, 401, {}, "Unauthorized (invalid credentials) (failed to locate provided credentials)", 20);
        return envelope(endpoint, 200, { token });
      }
      if (req.headers.get("authorization") !== `Bearer ${token}`) return envelope(endpoint, 401, {}, "Unauthorized (missing authorization header)", 10);
      const task = (id: unknown) => tasks.find((t) => t.id === id);
      switch (endpoint) {
        case "server.info":
          return envelope(endpoint, 200, { version: o.serverVersion ?? "2.0.0", build: "613", commit: "a1b2c3d", api_version: o.apiVersion ?? "2.31", uid: "double" });
        case "tasks.get_by_id": {
          const t = task(body.task);
          if (!t) return envelope(endpoint, 400, {}, `Invalid task id: id=${body.task}`, 101);
          return envelope(endpoint, 200, { task: {
            id: t.id, name: t.name, status: t.status ?? "completed", project: t.project.id, parent: t.parent ?? null, tags: t.tags ?? [], system_tags: [],
            hyperparams: t.hyperparams ?? {}, configuration: t.configuration ?? {}, script: t.script ?? {}, last_iteration: 0, type: "training",
            models: { input: [], output: (t.models ?? []).map((m) => ({ name: m.name, model: m.id })) },
            execution: { artifacts: Object.entries(t.artifacts).map(([key, a]) => ({ key, type: "custom", mode: "output", uri: uriOf(t, key), content_size: a.bytes.length, hash: new Bun.CryptoHasher("sha256").update(a.bytes).digest("hex") })) },
          } });
        }
        case "tasks.get_all": {
          // The project's tasks whose name matches the pattern (a case-insensitive regex, as the
          // apiserver matches `name`), paged by page/page_size, only_fields honoured.
          const pattern = typeof body.name === "string" ? new RegExp(body.name, "i") : undefined;
          const all = tasks.filter((t) => (!body.project?.length || body.project.includes(t.project.id)) && (!pattern || pattern.test(t.name)))
            .map((t) => ({ id: t.id, name: t.name, project: t.project.id, status: t.status ?? "completed", system_tags: [] as string[] }));
          const size = body.page_size ?? 500;
          const slice = all.slice((body.page ?? 0) * size, ((body.page ?? 0) + 1) * size);
          const only: string[] | undefined = body.only_fields;
          return envelope(endpoint, 200, { tasks: only ? slice.map((t) => Object.fromEntries(Object.entries(t).filter(([k]) => k === "id" || only.includes(k)))) : slice });
        }
        case "projects.get_by_id": {
          const t = tasks.find((x) => x.project.id === body.project);
          return t ? envelope(endpoint, 200, { project: { id: t.project.id, name: t.project.name } }) : envelope(endpoint, 400, {}, "Invalid project id", 101);
        }
        case "events.get_scalar_metrics_and_variants": {
          const t = task(body.task);
          if (!t) return envelope(endpoint, 400, {}, "Invalid task id", 101);
          return envelope(endpoint, 200, { metrics: Object.fromEntries(Object.entries(t.scalars).map(([m, vs]) => [m, Object.fromEntries(Object.keys(vs).map((v) => [v, { name: v }]))])) });
        }
        case "events.scalar_metrics_iter_raw": {
          const t = task(body.task);
          if (!t) return envelope(endpoint, 400, {}, "Invalid task id", 101);
          let from: number | null = null;
          let batch = body.batch_size ?? 10_000;
          if (body.scroll_id) {
            const s = JSON.parse(Buffer.from(body.scroll_id, "base64url").toString()) as { from: number | null; batch: number };
            if (s.from === null) return envelope(endpoint, 200, { returned: 0, total: null, scroll_id: body.scroll_id, variants: {} });
            from = s.from;
            batch = body.batch_size ?? s.batch;
          }
          batch = Math.min(batch, o.maxBatch ?? 200_000);
          const metric = t.scalars[body.metric.metric] ?? {};
          const variants: string[] = body.metric.variants?.length ? body.metric.variants : Object.keys(metric);
          const events = variants.flatMap((v) => (metric[v] ?? []).map(([iter, y]) => ({ v, iter, y })))
            .filter((e) => from === null || e.iter > from).sort((a, b) => a.iter - b.iter).slice(0, batch);
          const out: Record<string, { y: unknown[]; iter: number[] }> = {};
          for (const e of events) (out[e.v] ??= { y: [], iter: [] }).y.push(e.y), out[e.v]!.iter.push(e.iter);
          const next = events.length ? events.at(-1)!.iter : null;
          return envelope(endpoint, 200, { returned: events.length, total: body.count_total ? variants.reduce((n, v) => n + (metric[v]?.length ?? 0), 0) : null,
            scroll_id: Buffer.from(JSON.stringify({ from: next, batch })).toString("base64url"), variants: out });
        }
        case "events.get_task_events": {
          const t = task(body.task);
          if (o.noTaskEvents) break;
          if (!t) return envelope(endpoint, 400, {}, "Invalid task id", 101);
          const all = [
            ...Object.entries(t.scalars).flatMap(([metric, vs]) => Object.entries(vs).flatMap(([variant, pts]) =>
              pts.map(([iter, value, timestamp]) => ({ type: "training_stats_scalar", task: t.id, metric, variant, iter, value, ...(timestamp !== undefined ? { timestamp } : {}) })))),
            ...(t.logs ?? []).map((msg, i) => ({ type: "log", task: t.id, level: "info", worker: "double", msg, timestamp: i })),
            ...(t.images ?? []).map((im) => ({ type: "training_debug_image", task: t.id, metric: im.metric, variant: im.variant, iter: im.iter, url: imageUri(t, im) })),
          ].filter((e) => !body.event_type || e.type === body.event_type);
          const from = body.scroll_id ? Number(Buffer.from(body.scroll_id, "base64url").toString()) : 0;
          const page = all.slice(from, from + Math.min(body.batch_size ?? 500, o.maxBatch ?? 200_000));
          return envelope(endpoint, 200, { events: page, returned: page.length, total: all.length, scroll_id: Buffer.from(String(from + page.length)).toString("base64url") });
        }
        case "models.get_by_id": {
          for (const t of tasks)
            for (const m of t.models ?? [])
              if (m.id === body.model) return envelope(endpoint, 200, { model: { id: m.id, name: m.name, framework: m.framework, uri: modelUri(t, m), task: t.id } });
          return envelope(endpoint, 400, {}, `Invalid model id: id=${body.model}`, 401);
        }
        case "projects.create": {
          if (typeof body.name !== "string" || !body.name) return envelope(endpoint, 400, {}, "Validation error (name is required)", 12);
          if ([...projects.values()].includes(body.name)) return envelope(endpoint, 400, {}, "Value combination already exists (unique field) (name exists)", 103);
          const id = crypto.randomUUID().replace(/-/g, "");
          projects.set(id, body.name);
          created.push(`projects.create ${body.name}`);
          return envelope(endpoint, 200, { id });
        }
        case "projects.get_all": {
          // Projects whose name matches the pattern (a regex, as the apiserver matches `name`).
          const pattern = typeof body.name === "string" ? new RegExp(body.name, "i") : undefined;
          return envelope(endpoint, 200, { projects: [...projects].filter(([, n]) => !pattern || pattern.test(n)).map(([id, name]) => ({ id, name })) });
        }
        case "projects.delete": {
          if (!projects.has(body.project)) return envelope(endpoint, 400, {}, `Invalid project id: id=${body.project}`, 101);
          if (!body.force && tasks.some((t) => t.project.id === body.project)) return envelope(endpoint, 400, {}, "Project has associated tasks", 115);
          for (let i = tasks.length - 1; i >= 0; i--) if (tasks[i]!.project.id === body.project) tasks.splice(i, 1);
          projects.delete(body.project);
          return envelope(endpoint, 200, { deleted: 1, disassociated_tasks: 0 });
        }
        case "tasks.create": {
          if (!body.name || !body.type) return envelope(endpoint, 400, {}, "Validation error (name and type are required)", 12);
          const name = projects.get(body.project);
          if (body.project && !name) return envelope(endpoint, 400, {}, `Invalid project id: id=${body.project}`, 101);
          const id = crypto.randomUUID().replace(/-/g, "");
          tasks.push({ id, name: body.name, project: { id: body.project ?? "", name: name ?? "" }, status: "created", scalars: {}, artifacts: {} });
          created.push(`tasks.create ${body.name}`);
          return envelope(endpoint, 200, { id });
        }
        case "tasks.delete": {
          const i = tasks.findIndex((t) => t.id === body.task);
          if (i < 0) return envelope(endpoint, 400, {}, `Invalid task id: id=${body.task}`, 101);
          if (!body.force && tasks[i]!.status === "in_progress") return envelope(endpoint, 400, {}, "Invalid task status (in_progress)", 110);
          tasks.splice(i, 1);
          return envelope(endpoint, 200, { deleted: 1, updated_children: 0, updated_models: 0 });
        }
        case "events.add_batch": {
          let added = 0;
          for (const line of lines) {
            const e = JSON.parse(line) as { type?: string; task?: string; metric?: string; variant?: string; iter?: number; value?: number; timestamp?: number };
            const t = task(e.task);
            if (!t) return envelope(endpoint, 400, {}, `Invalid task id: id=${e.task}`, 101);
            if (e.type === "training_stats_scalar") ((t.scalars[e.metric ?? ""] ??= {})[e.variant ?? ""] ??= []).push([e.iter ?? 0, e.value ?? 0, e.timestamp]);
            added++;
          }
          return envelope(endpoint, 200, { added, errors: 0, errors_info: {} });
        }
        default:
          break;
      }
      return envelope(endpoint, 400, {}, `Invalid endpoint: ${endpoint}`, 2);
    }
  }
  return { api: `http://127.0.0.1:${api.port}`, files: filesUrl, calls, fileStore, projects, tasks, created, stop: () => { api.stop(true); files.stop(true); } };
}
