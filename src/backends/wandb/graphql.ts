/**
 * A small W&B GraphQL client over ofetch, independent of the wandb SDK: POST {base}/graphql with
 * Basic auth `api:<key>`. The query shapes are those of wandb 0.31's public API
 * (wandb/apis/public/runs.py RunFragment, files.py RunFilesFragment, the HistoryPage query of
 * the history scan, sdk/verify/verify.py's ServerInfo and large-payload queries, and
 * sdk/artifacts/_generated/operations.py's RunOutputArtifacts and ArtifactMembershipFiles, how
 * the SDK itself lists a run's logged artifacts and an artifact version's files, and
 * RunInputArtifacts, what Run.used_artifacts() sends for the artifacts a run used; runs.py's Runs
 * query with its MongoDB-style filters, how Api.runs lists a project's runs).
 */
import { ofetch, type $Fetch } from "ofetch";
import { createHash } from "node:crypto";
import { backendError } from "../../util/errors.ts";
import { explainHttpFailure, httpFailure } from "../deployment/http.ts";
import { quoteNonFinite } from "./reader.ts";

export const WANDB_CREDENTIALS_HINT =
  "check WANDB_API_KEY (or --api-key-file): it must be a key of a user of THIS server (its web UI: User settings > API keys)";

export interface WandbRunAttrs {
  id: string;
  /** The run id (W&B calls it name); displayName is the human name. */
  name: string;
  displayName?: string;
  state?: string;
  config?: string;
  group?: string;
  jobType?: string;
  commit?: string;
  tags?: string[];
  summaryMetrics?: string;
  historyLineCount?: number;
  /** JSON: {"keys": {...}, "lastStep": N}. */
  historyKeys?: { keys?: Record<string, unknown>; lastStep?: number } | string;
  createdAt?: string;
}

export interface WandbFile {
  name: string;
  url?: string;
  directUrl?: string;
  sizeBytes?: number;
  md5?: string;
}

const RUN_QUERY = `query Run($project: String!, $entity: String!, $name: String!) {
  project(name: $project, entityName: $entity) {
    run(name: $name) {
      id name displayName state config group jobType commit tags createdAt
      summaryMetrics historyLineCount historyKeys
    }
  }
}`;

const HISTORY_QUERY = `query HistoryPage($entity: String!, $project: String!, $run: String!, $minStep: Int64!, $maxStep: Int64!, $pageSize: Int!) {
  project(name: $project, entityName: $entity) {
    run(name: $run) { history(minStep: $minStep, maxStep: $maxStep, samples: $pageSize) }
  }
}`;

const FILES_QUERY = `query RunFiles($project: String!, $entity: String!, $name: String!, $fileCursor: String, $fileLimit: Int = 50, $fileNames: [String] = []) {
  project(name: $project, entityName: $entity) {
    run(name: $name) {
      fileCount
      files(names: $fileNames, after: $fileCursor, first: $fileLimit) {
        edges { node { id name url(upload: false) directUrl sizeBytes md5 } cursor }
        pageInfo { endCursor hasNextPage }
      }
    }
  }
}`;

const OUTPUT_ARTIFACTS_QUERY = `query RunOutputArtifacts($entity: String!, $project: String!, $run: String!, $cursor: String, $perPage: Int) {
  project(entityName: $entity, name: $project) {
    run(name: $run) {
      artifacts: outputArtifacts(after: $cursor, first: $perPage) {
        pageInfo { endCursor hasNextPage }
        edges { node { id versionIndex digest state artifactType { name } artifactSequence { name } } }
      }
    }
  }
}`;

// Run.used_artifacts() (wandb/apis/public/runs.py -> RunArtifacts mode "used"): the run's
// inputArtifacts, each with its source sequence and that sequence's project.
const INPUT_ARTIFACTS_QUERY = `query RunInputArtifacts($entity: String!, $project: String!, $run: String!, $cursor: String, $perPage: Int) {
  project(entityName: $entity, name: $project) {
    run(name: $run) {
      artifacts: inputArtifacts(after: $cursor, first: $perPage) {
        pageInfo { endCursor hasNextPage }
        edges { node { id versionIndex digest state artifactType { name } artifactSequence { name project { name entity { name } } } } }
      }
    }
  }
}`;

// Artifact._fetch_manifest: the version's manifest file (wandb_manifest.json) by its directUrl.
const MANIFEST_QUERY = `query FetchArtifactManifest($id: ID!) {
  artifact(id: $id) { currentManifest { file { directUrl } } }
}`;

const ARTIFACT_FILES_QUERY = `query ArtifactMembershipFiles($entity: String!, $project: String!, $collection: String!, $alias: String!, $cursor: String, $perPage: Int = 50) {
  project(name: $project, entityName: $entity) {
    artifactCollection(name: $collection) {
      artifactMembership(aliasName: $alias) {
        files(after: $cursor, first: $perPage) {
          pageInfo { endCursor hasNextPage }
          edges { node { id name: displayName url directUrl sizeBytes md5 digest } }
        }
      }
    }
  }
}`;

// The public API's Runs query (wandb/apis/public/runs.py), with only the fields a census needs;
// `filters` is MongoDB-style JSON, as Api.runs(path, filters=...) sends it.
const RUNS_QUERY = `query Runs($project: String!, $entity: String!, $cursor: String, $perPage: Int = 50, $filters: JSONString) {
  project(name: $project, entityName: $entity) {
    runCount(filters: $filters)
    runs(filters: $filters, after: $cursor, first: $perPage) {
      edges { node { id name displayName group state } cursor }
      pageInfo { endCursor hasNextPage }
    }
  }
}`;

/** A run's logged artifact version, as RunOutputArtifacts lists it. */
export interface WandbArtifactVersion {
  id: string;
  versionIndex?: number;
  digest?: string;
  state?: string;
  artifactType?: { name: string };
  artifactSequence?: { name: string; project?: { name: string; entity?: { name: string } } | null };
}

type Paged<T> = { pageInfo: { endCursor?: string | null; hasNextPage: boolean }; edges: { node: T }[] };

export class GraphqlError extends Error {
  constructor(readonly errors: { message: string }[]) {
    super(errors.map((e) => e.message).join("; "));
  }
}

export class WandbGraphql {
  readonly api: $Fetch;
  readonly baseUrl: string;

  constructor(baseUrl: string, private readonly apiKey: string, opts: { timeoutMs?: number; retries?: number } = {}) {
    this.baseUrl = baseUrl.replace(/\/$/, "");
    this.api = ofetch.create({
      baseURL: this.baseUrl,
      headers: { authorization: `Basic ${btoa(`api:${apiKey}`)}`, "content-type": "application/json" },
      timeout: opts.timeoutMs ?? 60_000,
      retry: opts.retries ?? 2,
      retryDelay: 500,
      retryStatusCodes: [408, 429, 500, 502, 503, 504],
    });
  }

  /** The Authorization header for this server's own URLs. */
  authHeader(): string {
    return `Basic ${btoa(`api:${this.apiKey}`)}`;
  }

  /** One GraphQL call; HTTP failures and GraphQL `errors` both throw. Reads are retried, mutations not. */
  async query<T>(query: string, variables: Record<string, unknown> = {}, opts: { mutation?: boolean; timeoutMs?: number } = {}): Promise<T> {
    const r = await this.api<{ data?: T; errors?: { message: string }[] }>("/graphql", {
      method: "POST",
      body: { query, variables },
      retry: opts.mutation ? 0 : undefined,
      timeout: opts.timeoutMs,
    });
    if (r.errors?.length) throw new GraphqlError(r.errors);
    if (!r.data) throw new GraphqlError([{ message: "response has no data" }]);
    return r.data;
  }

  /** Same as query, with failures turned into errors that name the fix. */
  async call<T>(query: string, variables: Record<string, unknown> = {}, doing?: string): Promise<T> {
    try {
      return await this.query<T>(query, variables);
    } catch (err) {
      if (err instanceof GraphqlError) throw backendError(`W&B at ${this.baseUrl}: ${doing ?? "query"} failed: ${err.message}`, "check the entity, project and run id, and that the server is a W&B server");
      throw explainHttpFailure(err, { backend: "W&B", url: this.baseUrl, credentialsHint: WANDB_CREDENTIALS_HINT, doing });
    }
  }

  async viewer(): Promise<{ entity?: string; username?: string }> {
    const d = await this.call<{ viewer: { entity?: string; username?: string } | null }>("query Viewer { viewer { id entity username } }", {}, "login");
    if (!d.viewer) throw backendError(`W&B at ${this.baseUrl} knows no user for this API key`, WANDB_CREDENTIALS_HINT);
    return d.viewer;
  }

  /** serverInfo as `wandb verify` reads it; older servers lack latestLocalVersionInfo. */
  async serverInfo(): Promise<{ cliVersionInfo?: Record<string, string>; latestLocalVersionInfo?: { versionOnThisInstanceString?: string; latestVersionString?: string; outOfDate?: boolean } }> {
    type Info = { serverInfo: { cliVersionInfo?: Record<string, string> | string; latestLocalVersionInfo?: { versionOnThisInstanceString?: string } } | null };
    let d: Info;
    try {
      d = await this.query<Info>("query ServerInfo { serverInfo { cliVersionInfo latestLocalVersionInfo { outOfDate latestVersionString versionOnThisInstanceString } } }");
    } catch (err) {
      if (!(err instanceof GraphqlError)) throw explainHttpFailure(err, { backend: "W&B", url: this.baseUrl, credentialsHint: WANDB_CREDENTIALS_HINT, doing: "server info" });
      d = await this.call<Info>("query ServerInfo { serverInfo { cliVersionInfo } }", {}, "server info");
    }
    const info = d.serverInfo ?? {};
    const cli = typeof info.cliVersionInfo === "string" ? (JSON.parse(info.cliVersionInfo) as Record<string, string>) : info.cliVersionInfo;
    return { ...info, cliVersionInfo: cli } as Awaited<ReturnType<WandbGraphql["serverInfo"]>>;
  }

  async run(entity: string, project: string, id: string): Promise<WandbRunAttrs | undefined> {
    const d = await this.call<{ project: { run: WandbRunAttrs | null } | null }>(RUN_QUERY, { entity, project, name: id }, `reading run ${entity}/${project}/${id}`);
    return d.project?.run ?? undefined;
  }

  /**
   * Every history row, exactly: pages of `_step` in [minStep, minStep + pageSize) up to lastStep,
   * as the SDK's HistoryScan does (history(minStep:, maxStep:, samples:) returns every row in the
   * range when samples >= the rows in it; the sampled forms thin rows out and are never used).
   */
  async history(entity: string, project: string, id: string, lastStep: number, pageSize = 1000): Promise<Record<string, unknown>[]> {
    const rows: Record<string, unknown>[] = [];
    for (let min = 0; min <= lastStep; min += pageSize) {
      const d = await this.call<{ project: { run: { history: (string | Record<string, unknown>)[] } | null } | null }>(
        HISTORY_QUERY, { entity, project, run: id, minStep: min, maxStep: min + pageSize, pageSize }, `history of ${id}, steps ${min}..${min + pageSize - 1}`);
      for (const line of d.project?.run?.history ?? []) rows.push(typeof line === "string" ? (parseRow(line) as Record<string, unknown>) : line);
    }
    return rows;
  }

  async files(entity: string, project: string, id: string, pageSize = 50): Promise<WandbFile[]> {
    const out: WandbFile[] = [];
    let cursor: string | undefined;
    for (;;) {
      type Page = { project: { run: { files: { edges: { node: WandbFile }[]; pageInfo: { endCursor?: string; hasNextPage: boolean } } } | null } | null };
      const d = await this.call<Page>(FILES_QUERY, { entity, project, name: id, fileCursor: cursor, fileLimit: pageSize }, `files of ${id}`);
      const files = d.project?.run?.files;
      if (!files) break;
      out.push(...files.edges.map((e) => e.node));
      if (!files.pageInfo.hasNextPage || !files.pageInfo.endCursor) break;
      cursor = files.pageInfo.endCursor;
    }
    return out;
  }

  /** Every run of a project that matches `filters` (MongoDB-style, as Api.runs takes them), every page. */
  async runs(entity: string, project: string, filters: Record<string, unknown>, perPage = 50): Promise<Pick<WandbRunAttrs, "id" | "name" | "displayName" | "group" | "state">[]> {
    type Node = Pick<WandbRunAttrs, "id" | "name" | "displayName" | "group" | "state">;
    return this.pages<Node>(RUNS_QUERY, { entity, project, perPage, filters: JSON.stringify(filters) },
      (d) => (d as { project: { runs: Paged<Node> } | null }).project?.runs, `runs of ${entity}/${project}`);
  }

  /** The artifact versions a run logged (log_artifact), every page. */
  async outputArtifacts(entity: string, project: string, id: string, perPage = 50): Promise<WandbArtifactVersion[]> {
    return this.pages<WandbArtifactVersion>(OUTPUT_ARTIFACTS_QUERY, { entity, project, run: id, perPage },
      (d) => (d as { project: { run: { artifacts: Paged<WandbArtifactVersion> } | null } | null }).project?.run?.artifacts, `artifacts of ${id}`);
  }

  /** The artifact versions a run used (use_artifact), every page. */
  async inputArtifacts(entity: string, project: string, id: string, perPage = 50): Promise<WandbArtifactVersion[]> {
    return this.pages<WandbArtifactVersion>(INPUT_ARTIFACTS_QUERY, { entity, project, run: id, perPage },
      (d) => (d as { project: { run: { artifacts: Paged<WandbArtifactVersion> } | null } | null }).project?.run?.artifacts, `used artifacts of ${id}`);
  }

  /**
   * The entries of an artifact version's manifest (ArtifactManifestV1 `contents`: path -> digest,
   * size, and ref for add_reference entries), fetched as Artifact._fetch_manifest does.
   */
  async artifactManifest(id: string): Promise<Record<string, { digest?: string; ref?: string; size?: number }>> {
    const d = await this.call<{ artifact: { currentManifest: { file: { directUrl?: string } | null } | null } | null }>(MANIFEST_QUERY, { id }, `manifest of artifact ${id}`);
    const url = d.artifact?.currentManifest?.file?.directUrl;
    if (!url) throw backendError(`W&B lists no manifest file for artifact ${id}`, "check that the artifact version was committed");
    const text = new TextDecoder().decode((await this.download({ name: "wandb_manifest.json", directUrl: url })).bytes);
    const manifest = JSON.parse(text) as { contents?: Record<string, { digest?: string; ref?: string; size?: number }> };
    return manifest.contents ?? {};
  }

  /** The files of one artifact version (collection name, alias "v<versionIndex>"), every page. */
  async artifactFiles(entity: string, project: string, collection: string, alias: string, perPage = 50): Promise<WandbFile[]> {
    type D = { project: { artifactCollection: { artifactMembership: { files: Paged<WandbFile> } | null } | null } | null };
    return this.pages<WandbFile>(ARTIFACT_FILES_QUERY, { entity, project, collection, alias, perPage },
      (d) => (d as D).project?.artifactCollection?.artifactMembership?.files, `files of artifact ${collection}:${alias}`);
  }

  private async pages<T>(query: string, vars: Record<string, unknown>, conn: (d: unknown) => Paged<T> | undefined | null, doing: string): Promise<T[]> {
    const out: T[] = [];
    let cursor: string | undefined;
    for (;;) {
      const page = conn(await this.call<unknown>(query, { ...vars, cursor }, doing));
      if (!page) break;
      out.push(...page.edges.map((e) => e.node));
      if (!page.pageInfo.hasNextPage || !page.pageInfo.endCursor) break;
      cursor = page.pageInfo.endCursor;
    }
    return out;
  }

  /**
   * Bytes of a run file, hashed. A signed directUrl on another host (object store) is fetched
   * without the API key (stores reject a foreign Authorization header); the server's own URLs
   * with it.
   */
  async download(file: WandbFile): Promise<{ size: number; sha256: string; md5: string; bytes: Uint8Array }> {
    const tries = [file.directUrl, file.url].filter((u): u is string => !!u).map((u) => new URL(u, `${this.baseUrl}/`).toString());
    if (!tries.length) throw backendError(`W&B file ${file.name} has no download URL`, "check the server's file storage settings");
    let last: unknown;
    for (const u of tries) {
      const sameHost = new URL(u).origin === new URL(this.baseUrl).origin;
      try {
        const buf = await ofetch(u, { responseType: "arrayBuffer", headers: sameHost ? { authorization: this.authHeader() } : {}, retry: 2, timeout: 300_000 });
        const bytes = new Uint8Array(buf);
        return {
          size: bytes.length,
          sha256: createHash("sha256").update(bytes).digest("hex"),
          md5: createHash("md5").update(bytes).digest("base64"),
          bytes,
        };
      } catch (err) {
        last = err;
      }
    }
    const f = httpFailure(last);
    throw backendError(`cannot download W&B file ${file.name}: ${f.status ? `HTTP ${f.status}` : f.cause}`,
      "the server's object store must be reachable from this machine (check its signed-URL host and CORS/proxy settings)");
  }
}

/** One history row: JSON that may hold bare NaN/Infinity (W&B writes Python's json). */
export function parseRow(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    return JSON.parse(quoteNonFinite(line));
  }
}
