/**
 * TEST DOUBLE of a W&B server (not W&B): a Bun.serve on 127.0.0.1 that answers the GraphQL
 * operations e2e sends with responses shaped as wandb 0.31's public API expects them (RunFragment
 * fields, HistoryPage rows as JSON strings, RunFiles edges/pageInfo, createRunFiles upload URLs,
 * serverInfo.cliVersionInfo), plus a second listener playing the object store behind signed URLs.
 * No W&B server can run where e2e is built; this double is what the W&B-by-URL client is tested
 * against. Faithful where it matters to exactness: history(minStep, maxStep, samples) thins rows
 * when samples < rows in range, like the real sampled read; the store refuses an Authorization
 * header on a signed URL, like S3; files uploaded by signed URL appear only after
 * markRunFilesUploaded, like self-hosted W&B. Artifacts a run logged answer RunOutputArtifacts
 * and ArtifactMembershipFiles (collection + alias "v<index>"), files served by signed URL with
 * the md5 W&B lists, and FetchArtifactManifest (the version's wandb_manifest.json by signed URL:
 * ArtifactManifestV1 contents, files with their md5 and size, references with their URI). Artifacts a run used answer RunInputArtifacts (Run.used_artifacts()), each
 * with its source sequence, that sequence's project and the version's digest. The project's runs answer Runs (Api.runs) with its MongoDB-style filters
 * ($or, $and, equality on group / display_name / name / state; another key is an error).
 * For `e2e bench --url`: history rows through `POST /files/{entity}/{project}/{run}/file_stream`
 * (`{"files": {"wandb-history.jsonl": {"offset", "content": [row JSON]}}}`, the core's request),
 * UpsertBucket with config and the bucket's project id, DeleteRun, and DeleteModel (a project's
 * deletion, as Registry.delete sends it) removing the project and its runs. Every answer carries
 * the header `x-e2e-test-double: wandb`, so a bench against it says whose figures they are.
 */
import { createHash } from "node:crypto";

export interface DoubleRun {
  entity: string;
  project: string;
  id: string;
  displayName?: string;
  state?: string;
  group?: string;
  tags?: string[];
  commit?: string;
  config: Record<string, unknown>;
  /** History rows, each with `_step`. */
  rows: Record<string, unknown>[];
  files: Record<string, Uint8Array>;
  storageId?: string;
  /** summaryMetrics (default: the last history row). */
  summary?: Record<string, unknown>;
  /** Artifact versions this run logged (log_artifact). */
  artifacts?: DoubleArtifact[];
  /** Artifact versions this run used (use_artifact), as RunInputArtifacts lists them. */
  used?: DoubleUsedArtifact[];
}

export interface DoubleUsedArtifact {
  /** Source collection (sequence) name. */
  name: string;
  type: string;
  versionIndex: number;
  digest: string;
  /** The sequence's project and entity (default: the run's). */
  project?: string;
  entity?: string;
}

export interface DoubleArtifact {
  /** Collection (sequence) name. */
  name: string;
  type: string;
  versionIndex: number;
  files: Record<string, Uint8Array>;
  /** add_reference entries: path -> URI (in the manifest only, no bytes stored). */
  refs?: Record<string, string>;
}

export interface WandbDoubleOptions {
  apiKey: string;
  entity?: string;
  runs?: DoubleRun[];
  /** Bodies above this many bytes get nginx's 413 page (a proxy in front). */
  bodyLimit?: number;
  cliVersionInfo?: Record<string, string>;
  serverVersion?: string;
}

export interface WandbDouble {
  url: string;
  storeUrl: string;
  runs: DoubleRun[];
  /** Projects by "entity/name" -> id, made by UpsertBucket, removed by DeleteModel. */
  projects: Map<string, string>;
  /** file_stream POSTs received. */
  streamed: number;
  /** Operation names in the order received. */
  ops: string[];
  /** Every run UpsertBucket made (not updated), as "entity/project/name", kept after its deletion. */
  inserted: string[];
  stop(): void;
}

type Filter = Record<string, unknown>;
/** Run fields a filter may name, by their server paths (display_name as in Api.runs' docstring). */
const FIELDS: Record<string, (r: DoubleRun) => unknown> = {
  group: (r) => r.group ?? null, display_name: (r) => r.displayName ?? r.id, displayName: (r) => r.displayName ?? r.id, name: (r) => r.id, state: (r) => r.state ?? "finished",
};
/** The subset of W&B's MongoDB-style run filters e2e sends: $and, $or and equality on run fields. */
function matches(r: DoubleRun, f: Filter): boolean {
  return Object.entries(f).every(([k, want]) => {
    if (k === "$or") return (want as Filter[]).some((x) => matches(r, x));
    if (k === "$and") return (want as Filter[]).every((x) => matches(r, x));
    const field = FIELDS[k];
    if (!field) throw new Error(`invalid filter key ${k}`);
    return field(r) === want;
  });
}

const NGINX_413 = "<html>\r\n<head><title>413 Request Entity Too Large</title></head>\r\n<body>\r\n<center><h1>413 Request Entity Too Large</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";

export function startWandbDouble(o: WandbDoubleOptions): WandbDouble {
  const runs = o.runs ?? [];
  const ops: string[] = [];
  const inserted: string[] = [];
  const pending = new Map<string, { run: DoubleRun; name: string; bytes?: Uint8Array }>();
  const signed = new Map<string, Uint8Array>();
  const entity = o.entity ?? "e2e-user";
  const auth = `Basic ${btoa(`api:${o.apiKey}`)}`;
  const find = (e: string, p: string, id: string) => runs.find((r) => r.entity === e && r.project === p && r.id === id);
  const projects = new Map<string, string>();
  for (const r of runs) if (!projects.has(`${r.entity}/${r.project}`)) projects.set(`${r.entity}/${r.project}`, `project-${projects.size + 1}`);
  const mark = (res: Response) => (res.headers.set("x-e2e-test-double", "wandb"), res);
  let streamed = 0;

  const store = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch: async (req) => mark(await storeFetch(req)),
  });
  async function storeFetch(req: Request): Promise<Response> {
    {
      const u = new URL(req.url);
      // A signed URL carries its own authorization: S3 refuses a second one with 400.
      if (req.headers.get("authorization")) return new Response("<Error><Code>InvalidArgument</Code><Message>Only one auth mechanism allowed</Message></Error>", { status: 400 });
      const token = u.pathname.split("/").pop()!;
      if (req.method === "PUT" && u.pathname.startsWith("/upload/")) {
        const p = pending.get(token);
        if (!p) return new Response("no such upload", { status: 403 });
        p.bytes = new Uint8Array(await req.arrayBuffer());
        return new Response("");
      }
      if (req.method === "GET" && u.pathname.startsWith("/signed/")) {
        const b = signed.get(token);
        return b ? new Response(b) : new Response("<Error><Code>NoSuchKey</Code></Error>", { status: 404 });
      }
      return new Response("not found", { status: 404 });
    }
  }
  const storeUrl = `http://127.0.0.1:${store.port}`;

  const fileNode = (base: string, r: DoubleRun, name: string) => {
    const bytes = r.files[name]!;
    const token = createHash("sha1").update(`${r.id}/${name}`).digest("hex");
    signed.set(token, bytes);
    return {
      id: `file-${token.slice(0, 8)}`, name, sizeBytes: bytes.length,
      url: `${base}/files/${r.entity}/${r.project}/${r.id}/${name}`,
      directUrl: `${storeUrl}/signed/${token}`,
      md5: createHash("md5").update(bytes).digest("base64"),
    };
  };

  const artifactFileNode = (a: DoubleArtifact, name: string) => {
    const bytes = a.files[name]!;
    const token = createHash("sha1").update(`artifact/${a.name}/${a.versionIndex}/${name}`).digest("hex");
    signed.set(token, bytes);
    const md5 = createHash("md5").update(bytes).digest("base64");
    return { id: `afile-${token.slice(0, 8)}`, name, url: `${storeUrl}/signed/${token}`, directUrl: `${storeUrl}/signed/${token}`, sizeBytes: bytes.length, md5, digest: md5 };
  };
  const page = <T>(items: T[], cursor: string | undefined, first: number | undefined) => {
    const start = cursor ? Number(cursor) + 1 : 0;
    const slice = items.slice(start, start + (first ?? 50));
    return {
      edges: slice.map((node, i) => ({ node, cursor: String(start + i) })),
      pageInfo: { endCursor: slice.length ? String(start + slice.length - 1) : null, hasNextPage: start + slice.length < items.length },
    };
  };

  const graphql = (base: string, query: string, v: Record<string, any>): unknown => {
    const op = /(?:query|mutation)\s+(\w+)/.exec(query)?.[1] ?? "anonymous";
    ops.push(op);
    switch (op) {
      case "Viewer":
        return { viewer: { id: "VXNlcjox", entity, username: entity } };
      case "ServerInfo": {
        const cli = o.cliVersionInfo ?? { min_cli_version: "0.10.0", max_cli_version: "0.40.0" };
        return { serverInfo: query.includes("latestLocalVersionInfo")
          ? { cliVersionInfo: cli, latestLocalVersionInfo: { outOfDate: false, latestVersionString: o.serverVersion ?? "0.70.0", versionOnThisInstanceString: o.serverVersion ?? "0.70.0" } }
          : { cliVersionInfo: cli } };
      }
      case "Run": {
        const r = find(v.entity, v.project, v.name);
        if (!r) return { project: { run: null } };
        const last = r.rows.reduce((m, row) => Math.max(m, Number(row._step)), -1);
        const keys: Record<string, unknown> = {};
        for (const row of r.rows) for (const k of Object.keys(row)) keys[k] = { typeCounts: [{ type: typeof row[k] === "number" ? "number" : "string", count: 1 }] };
        return { project: { run: {
          id: r.storageId ?? `storage-${r.id}`, name: r.id, displayName: r.displayName ?? r.id, state: r.state ?? "finished",
          config: JSON.stringify(Object.fromEntries(Object.entries(r.config).map(([k, x]) => [k, { value: x, desc: null }]))),
          group: r.group ?? null, jobType: null, commit: r.commit ?? null, tags: r.tags ?? [], createdAt: "2026-01-01T00:00:00",
          summaryMetrics: JSON.stringify(r.summary ?? r.rows.at(-1) ?? {}), historyLineCount: r.rows.length, historyKeys: { keys, lastStep: last },
        } } };
      }
      case "HistoryPage": {
        const r = find(v.entity, v.project, v.run);
        if (!r) return { project: { run: null } };
        let rows = r.rows.filter((row) => Number(row._step) >= v.minStep && Number(row._step) < v.maxStep);
        if (rows.length > v.pageSize) {
          // Too few samples for the range: the server thins the rows (what a sampled read does).
          const k = rows.length / v.pageSize;
          rows = Array.from({ length: v.pageSize }, (_, i) => rows[Math.floor(i * k)]!);
        }
        return { project: { run: { history: rows.map((row) => JSON.stringify(row)) } } };
      }
      case "RunFiles": {
        const r = find(v.entity, v.project, v.name);
        if (!r) return { project: { internalId: "p1", run: null } };
        const names = Object.keys(r.files).filter((n) => !v.fileNames?.length || v.fileNames.includes(n)).sort();
        const start = v.fileCursor ? Number(v.fileCursor) + 1 : 0;
        const page = names.slice(start, start + (v.fileLimit ?? 50));
        return { project: { internalId: "p1", run: { fileCount: names.length, files: {
          edges: page.map((n, i) => ({ node: fileNode(base, r, n), cursor: String(start + i) })),
          pageInfo: { endCursor: page.length ? String(start + page.length - 1) : null, hasNextPage: start + page.length < names.length },
        } } } };
      }
      case "RunOutputArtifacts": {
        const r = find(v.entity, v.project, v.run);
        if (!r) return { project: { run: null } };
        const nodes = (r.artifacts ?? []).map((a) => ({
          id: `art-${a.name}-${a.versionIndex}`, versionIndex: a.versionIndex, state: "COMMITTED", digest: "d",
          artifactType: { name: a.type }, artifactSequence: { name: a.name },
        }));
        return { project: { run: { artifacts: page(nodes, v.cursor, v.perPage) } } };
      }
      case "RunInputArtifacts": {
        const r = find(v.entity, v.project, v.run);
        if (!r) return { project: { run: null } };
        const nodes = (r.used ?? []).map((a) => ({
          id: `art-${a.name}-${a.versionIndex}`, versionIndex: a.versionIndex, state: "COMMITTED", digest: a.digest, artifactType: { name: a.type },
          artifactSequence: { name: a.name, project: { name: a.project ?? r.project, entity: { name: a.entity ?? r.entity } } },
        }));
        return { project: { run: { artifacts: page(nodes, v.cursor, v.perPage) } } };
      }
      case "FetchArtifactManifest": {
        const a = runs.flatMap((r) => r.artifacts ?? []).find((x) => `art-${x.name}-${x.versionIndex}` === v.id);
        if (!a) return { artifact: null };
        const contents: Record<string, unknown> = {};
        for (const [n, b] of Object.entries(a.files)) contents[n] = { digest: createHash("md5").update(b).digest("base64"), size: b.length };
        for (const [n, ref] of Object.entries(a.refs ?? {})) contents[n] = { digest: ref, ref };
        const token = createHash("sha1").update(`manifest/${v.id}`).digest("hex");
        signed.set(token, new TextEncoder().encode(JSON.stringify({ version: 1, storagePolicy: "wandb-storage-policy-v1", storagePolicyConfig: {}, contents })));
        return { artifact: { currentManifest: { file: { directUrl: `${storeUrl}/signed/${token}` } } } };
      }
      case "ArtifactMembershipFiles": {
        const a = runs.filter((r) => r.entity === v.entity && r.project === v.project).flatMap((r) => r.artifacts ?? [])
          .find((x) => x.name === v.collection && `v${x.versionIndex}` === v.alias);
        if (!a) return { project: { artifactCollection: null } };
        const files = Object.keys(a.files).sort().map((n) => artifactFileNode(a, n));
        return { project: { artifactCollection: { artifactMembership: { files: page(files, v.cursor, v.perPage) } } } };
      }
      case "Runs": {
        // Api.runs: the project's runs that match MongoDB-style `filters` (JSON text), paged.
        const filters = v.filters ? (JSON.parse(v.filters) as Filter) : {};
        const nodes = runs.filter((r) => r.entity === v.entity && r.project === v.project && matches(r, filters)).map((r) => ({
          id: r.storageId ?? `storage-${r.id}`, name: r.id, displayName: r.displayName ?? r.id, group: r.group ?? null, state: r.state ?? "finished",
        }));
        return { project: { runCount: nodes.length, runs: page(nodes, v.cursor, v.perPage) } };
      }
      case "Project":
        return { project: null };
      case "UpsertBucket": {
        const e = v.entity ?? entity;
        let r = find(e, v.project, v.name);
        const isNew = !r;
        if (!r) runs.push((r = { entity: e, project: v.project, id: v.name, config: {}, rows: [], files: {}, state: v.state, storageId: `storage-${e}-${v.project}-${v.name}` }));
        if (isNew) inserted.push(`${e}/${v.project}/${v.name}`);
        if (typeof v.config === "string") Object.assign(r.config, JSON.parse(v.config));
        const key = `${e}/${v.project}`;
        if (!projects.has(key)) projects.set(key, `project-${projects.size + 1}-${v.project}`);
        return { upsertBucket: { bucket: { id: r.storageId ?? `storage-${r.id}`, name: r.id, project: { id: projects.get(key), name: r.project, entity: { name: r.entity } } }, inserted: isNew } };
      }
      case "DeleteModel": {
        const key = [...projects].find(([, id]) => id === v.id)?.[0];
        if (!key) throw new Error(`project ${v.id} not found`);
        projects.delete(key);
        for (let i = runs.length - 1; i >= 0; i--) if (`${runs[i]!.entity}/${runs[i]!.project}` === key) runs.splice(i, 1);
        return { deleteModel: { success: true } };
      }
      case "CreateRunFiles": {
        const r = find(v.entity, v.project, v.run);
        if (!r) return { createRunFiles: { runID: null, uploadHeaders: [], files: [] } };
        return { createRunFiles: { runID: r.storageId, uploadHeaders: ["Content-Type:application/octet-stream"], files: (v.files as string[]).map((name) => {
          const token = createHash("sha1").update(`${r.id}/${name}/${Math.random()}`).digest("hex");
          pending.set(token, { run: r, name });
          return { name, uploadUrl: `${storeUrl}/upload/${token}` };
        }) } };
      }
      case "MarkRunFilesUploaded": {
        for (const [t, p] of pending) if (p.run.id === v.run && (v.files as string[]).includes(p.name) && p.bytes) {
          p.run.files[p.name] = p.bytes;
          pending.delete(t);
        }
        return { markRunFilesUploaded: { success: true } };
      }
      case "DeleteRun": {
        const i = runs.findIndex((r) => (r.storageId ?? `storage-${r.id}`) === v.id);
        if (i >= 0) runs.splice(i, 1);
        return { deleteRun: { clientMutationId: null } };
      }
      default:
        throw new Error(`Cannot query field in operation ${op}`);
    }
  };

  const server: ReturnType<typeof Bun.serve> = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    maxRequestBodySize: 1 << 30,
    fetch: async (req) => mark(await apiFetch(req)),
  });
  async function apiFetch(req: Request): Promise<Response> {
    {
      const u = new URL(req.url);
      const base: string = `http://127.0.0.1:${server.port}`;
      if (o.bodyLimit !== undefined && Number(req.headers.get("content-length") ?? 0) > o.bodyLimit)
        return new Response(NGINX_413, { status: 413, headers: { "content-type": "text/html" } });
      if (req.headers.get("authorization") !== auth)
        return Response.json({ errors: [{ message: "user is not logged in" }] }, { status: 401 });
      if (req.method === "GET" && u.pathname.startsWith("/files/")) {
        const [, , e, p, id, ...rest] = u.pathname.split("/");
        const b = find(e!, p!, id!)?.files[decodeURIComponent(rest.join("/"))];
        return b ? new Response(b) : new Response("not found", { status: 404 });
      }
      if (req.method === "POST" && u.pathname.endsWith("/file_stream")) {
        // The core's history stream: rows at `offset` onwards (a resent offset replaces those rows).
        const [, , e, p, id] = u.pathname.split("/");
        const r = find(decodeURIComponent(e!), decodeURIComponent(p!), decodeURIComponent(id!));
        if (!r) return new Response(JSON.stringify({ error: "run not found" }), { status: 404 });
        const body = (await req.json()) as { files?: Record<string, { offset: number; content: string[] }> };
        const h = body.files?.["wandb-history.jsonl"];
        if (h) r.rows.splice(h.offset, h.content.length, ...h.content.map((line) => JSON.parse(line) as Record<string, unknown>));
        streamed++;
        return Response.json({ exitcode: null, limits: {} });
      }
      if (req.method !== "POST" || u.pathname !== "/graphql") return new Response("not found", { status: 404 });
      const { query, variables } = (await req.json()) as { query: string; variables?: Record<string, unknown> };
      try {
        return Response.json({ data: graphql(base, query, variables ?? {}) });
      } catch (err) {
        return Response.json({ errors: [{ message: (err as Error).message }], data: null });
      }
    }
  }
  return {
    url: `http://127.0.0.1:${server.port}`, storeUrl, runs, projects, ops, inserted,
    get streamed() {
      return streamed;
    },
    stop: () => { server.stop(true); store.stop(true); },
  };
}
