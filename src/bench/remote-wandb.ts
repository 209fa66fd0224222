/**
 * `e2e bench --url URL --backend wandb`: a W&B server, through the calls a training job's SDK
 * makes (wandb 0.31; the Go core's requests read from its strings and the public API's sources):
 * - GraphQL `UpsertBucket` (Api.create_run's mutation: a run made or updated by
 *   entity/project/name; wandb.init and every config change send one);
 * - `CreateRunFiles` (a run file's upload URL), the PUT of the bytes to that URL, and
 *   `MarkRunFilesUploaded`; the download through the file's directUrl;
 * - history through `POST {base}/files/{entity}/{project}/{run}/file_stream` with
 *   `{"files": {"wandb-history.jsonl": {"offset": N, "content": ["<row JSON>"]}}}`, one row per
 *   training step (`_step`, `_runtime`, `_timestamp` and the K metrics), as the core streams it.
 * The key comes from WANDB_API_KEY or the --api-key-file (as `e2e run --url`), registered for
 * redaction. Everything lives in a throwaway project; afterwards each run is deleted (deleteRun,
 * as Run.delete sends it) and then the project (deleteModel, the mutation Registry.delete sends
 * for a project); where the server refuses the latter, the report says the empty project stays.
 */
import { randomBytes } from "node:crypto";
import { wandbApiKey } from "../backends/deployment/credentials.ts";
import { explainHttpFailure } from "../backends/deployment/http.ts";
import { GraphqlError, WANDB_CREDENTIALS_HINT } from "../backends/wandb/graphql.ts";
import { backendError, formatError, usageError } from "../util/errors.ts";
import { redact } from "../util/log.ts";
import type { CleanupReport } from "./remote.ts";
import { creating, eachLimited, latencyFigure, loggingFigures, send, TEST_DOUBLE_HEADER, transferFigures, type RemoteBench } from "./remote-bench.ts";
import { fleetFigures, type SuiteContext } from "./http-suite.ts";
import { retrying } from "./faults.ts";

const UPSERT = `mutation UpsertBucket($project: String, $entity: String, $name: String!, $state: String, $config: JSONString) {
  upsertBucket(input: {modelName: $project, entityName: $entity, name: $name, state: $state, config: $config}) {
    bucket { project { id name entity { name } } id name }
    inserted
  }
}`;
const CREATE_FILES = `mutation CreateRunFiles($entity: String!, $project: String!, $run: String!, $files: [String!]!) {
  createRunFiles(input: {entityName: $entity, projectName: $project, runName: $run, files: $files}) { runID uploadHeaders files { name uploadUrl } }
}`;
const MARK_UPLOADED = `mutation MarkRunFilesUploaded($entity: String!, $project: String!, $run: String!, $files: [String!]!) {
  markRunFilesUploaded(input: {entityName: $entity, projectName: $project, runName: $run, files: $files}) { success }
}`;
const FILE_URL = `query RunFiles($project: String!, $entity: String!, $name: String!, $fileNames: [String]) {
  project(name: $project, entityName: $entity) { run(name: $name) { files(names: $fileNames, first: 1) { edges { node { name url(upload: false) directUrl } } } } }
}`;
const DELETE_RUN = "mutation DeleteRun($id: ID!) { deleteRun(input: {id: $id}) { clientMutationId } }";
const DELETE_PROJECT = "mutation DeleteModel($id: String!) { deleteModel(input: {id: $id}) { success } }";

export async function openWandbBench(url: string, keyFile?: string): Promise<RemoteBench> {
  const key = wandbApiKey(keyFile);
  const auth = `Basic ${btoa(`api:${key}`)}`;
  redact(auth.slice(6));
  const headers = { authorization: auth, "content-type": "application/json" };
  const gql = async <T>(query: string, variables: Record<string, unknown>): Promise<T> => {
    const { text } = await send(`${url}/graphql`, { method: "POST", headers, body: JSON.stringify({ query, variables }) });
    const r = JSON.parse(text) as { data?: T; errors?: { message: string }[] };
    if (r.errors?.length || !r.data) throw new GraphqlError(r.errors?.length ? r.errors : [{ message: "response has no data" }]);
    return r.data;
  };
  const ctxErr = { backend: "W&B", url, credentialsHint: WANDB_CREDENTIALS_HINT };

  // Reach it and prove the key: the viewer, as `wandb login` asks.
  let viewer: { entity?: string } | null;
  let testDouble = false;
  try {
    const { text, headers: h } = await send(`${url}/graphql`, { method: "POST", headers, body: JSON.stringify({ query: "query Viewer { viewer { id entity username } }", variables: {} }) });
    testDouble = h.has(TEST_DOUBLE_HEADER);
    viewer = (JSON.parse(text) as { data?: { viewer: { entity?: string } | null } }).data?.viewer ?? null;
  } catch (err) {
    // One line: the status and the fix; the server's answer says no more than "not logged in".
    const e = explainHttpFailure(err, { ...ctxErr, doing: "login (the viewer query)" });
    throw backendError(e.message, e.hint);
  }
  if (!viewer) throw backendError(`W&B at ${url} knows no user for this API key`, WANDB_CREDENTIALS_HINT);
  const entity = process.env.WANDB_ENTITY || viewer.entity;
  if (!entity) throw usageError(`W&B at ${url} names no default entity for this API key`, "set WANDB_ENTITY to your user or team name");
  type Info = { serverInfo?: { latestLocalVersionInfo?: { versionOnThisInstanceString?: string } | null } | null };
  const version = await gql<Info>("query ServerInfo { serverInfo { latestLocalVersionInfo { versionOnThisInstanceString } } }", {})
    .then((d) => d.serverInfo?.latestLocalVersionInfo?.versionOnThisInstanceString ?? undefined, () => undefined);

  const project = `e2e-bench-${randomBytes(3).toString("hex")}`;
  const runs = new Map<string, string>(); // run name -> storage id
  let projectId: string | undefined;
  const upsert = async (name: string, config?: Record<string, unknown>) => {
    const d = await gql<{ upsertBucket: { bucket: { id: string; project?: { id?: string } } } }>(UPSERT, { project, entity, name, state: "running", ...(config ? { config: JSON.stringify(config) } : {}) });
    runs.set(name, d.upsertBucket.bucket.id);
    projectId ??= d.upsertBucket.bucket.project?.id;
  };
  // Set-up retries before run() has its context are kept and reported when it starts.
  let retried: NonNullable<SuiteContext["retried"]> | undefined;
  const early: [string, number, unknown][] = [];
  /**
   * A set-up upsert (a run the bench then uses), sent again on a transient failure (faults.ts).
   * UpsertBucket makes or updates the run by entity/project/name, so a failed attempt that took
   * effect anyway is updated, not duplicated: no look-up is needed before the retry. The timed
   * upserts of api.upsert_bucket.latency are not retried (a failure counts in the figure).
   */
  const setUp = (name: string) => retrying(() => upsert(name), {
    retried: (n, err) => (retried ? retried(`UpsertBucket ${name}`, n, err) : early.push([`UpsertBucket ${name}`, n, err])),
  });
  // Proves writes before any load: a read-only key stops here.
  try {
    await setUp("probe");
  } catch (err) {
    const doing = `the creation of a throwaway run in project ${entity}/${project} (the bench writes there)`;
    if (err instanceof GraphqlError) throw backendError(`W&B at ${url} refused ${doing}: ${err.message}`, `${WANDB_CREDENTIALS_HINT}; the key's user must be allowed to create projects and runs in entity ${entity} (or set WANDB_ENTITY)`);
    throw explainHttpFailure(err, { ...ctxErr, doing });
  }

  const stream = (run: string) => `${url}/files/${encodeURIComponent(entity)}/${encodeURIComponent(project)}/${encodeURIComponent(run)}/file_stream`;
  const started = Date.now();
  /** One training step's history row, as the core streams it. */
  const historyPost = (run: string, keys: number, step: number) => {
    const now = Date.now();
    const row: Record<string, number> = { _step: step, _runtime: (now - started) / 1000, _timestamp: now / 1000 };
    for (let i = 0; i < keys; i++) row[`m${i}`] = (step % 1000) / 1000 + i;
    return send(stream(run), { method: "POST", headers, body: JSON.stringify({ files: { "wandb-history.jsonl": { offset: step, content: [JSON.stringify(row)] } } }) });
  };
  const uploadFile = async (run: string, name: string, body: Uint8Array) => {
    const d = await gql<{ createRunFiles: { uploadHeaders?: string[]; files: { name: string; uploadUrl: string }[] } }>(CREATE_FILES, { entity, project, run, files: [name] });
    const target = d.createRunFiles.files[0];
    if (!target?.uploadUrl) throw backendError(`W&B at ${url}: createRunFiles returned no upload URL`, "check the server's object store settings");
    const h = Object.fromEntries((d.createRunFiles.uploadHeaders ?? []).map((x) => x.split(/:(.*)/s).slice(0, 2).map((s) => s.trim()) as [string, string]));
    const put = new URL(d.createRunFiles.files[0]!.uploadUrl, `${url}/`).toString();
    // A signed URL on the object store takes no API key (it would be refused); the server's own does.
    await send(put, { method: "PUT", body, headers: { ...h, ...(new URL(put).origin === new URL(url).origin ? { authorization: auth } : {}) } });
    await gql(MARK_UPLOADED, { entity, project, run, files: [name] }).catch(() => {}); // older servers lack it
  };

  const info = {
    target: "wandb-url", ...(version ? { version } : {}), workersVisible: false,
    store: testDouble ? "e2e's W&B test double (tests/doubles/wandb-server-double.ts), not a W&B server: these figures measure the double" : "W&B server (its stores are not visible over its API)",
    ...(testDouble ? { testDouble: true } : {}),
  };

  return {
    title: "W&B",
    target: "wandb-url",
    info,
    run: async (ctx: SuiteContext) => {
      const stage = async (name: string, fn: () => Promise<void>) => fn().catch((err) => ctx.error(name, err));
      retried = (what, n, err) => ctx.retried?.(what, n, err);
      for (const [what, n, err] of early.splice(0)) retried(what, n, err);
      await stage("upsertBucket", async () => {
        await setUp("config");
        let i = 0;
        await latencyFigure(ctx, "api.upsert_bucket.latency", ctx.plan.api, () => upsert("config", { lr: 0.001, update: i++ }),
          "GraphQL UpsertBucket of one run (a config update, as wandb.init and each config change send it)");
      });
      await loggingFigures(ctx, "http.file_stream", "one history row of K metrics per file_stream POST (wandb-history.jsonl), as the SDK's core streams it", async (keys) => {
        const run = `log-${keys}`;
        await setUp(run);
        return (step) => historyPost(run, keys, step);
      });
      await stage("createRunFiles", async () => {
        await setUp("files");
        await latencyFigure(ctx, "api.create_run_files.latency", creating(ctx.plan.api), () => gql(CREATE_FILES, { entity, project, run: "files", files: ["bench/url.bin"] }),
          "GraphQL CreateRunFiles: one run file's upload URL");
      });
      await stage("artifacts", async () => {
        await setUp("artifacts");
        await transferFigures(ctx, "run files: createRunFiles + PUT to the upload URL + markRunFilesUploaded up; the file's directUrl down; sha256 checked after the clock stopped",
          (path, body) => uploadFile("artifacts", path, body),
          async (path) => {
            const d = await gql<{ project: { run: { files: { edges: { node: { url?: string; directUrl?: string } }[] } } | null } | null }>(FILE_URL, { entity, project, name: "artifacts", fileNames: [path] });
            const f = d.project?.run?.files.edges[0]?.node;
            const from = f?.directUrl ?? f?.url;
            if (!from) throw backendError(`W&B at ${url}: ${path} is not listed on the run after its upload`, "check the server's object store settings");
            const abs = new URL(from, `${url}/`).toString();
            const res = await fetch(abs, { headers: new URL(abs).origin === new URL(url).origin ? { authorization: auth } : {} });
            if (!res.ok) throw new Error(`HTTP ${res.status} downloading ${path}`);
            return new Uint8Array(await res.arrayBuffer());
          });
      });
      await stage("fleet", () => fleetFigures(ctx, async (i) => {
        const run = `job-${i}`;
        await setUp(run);
        const body = ctx.plan.fleet.artifactEvery ? randomBytes(ctx.plan.fleet.artifactBytes) : undefined;
        // A job's rows go on across load steps (each step counts from 0): offsets and _step never repeat.
        let row = 0;
        return {
          log: () => historyPost(run, ctx.plan.fleet.keys, row++).then(() => {}),
          ...(body ? { artifact: (step: number) => uploadFile(run, `fleet/ckpt-${step}.bin`, body) } : {}),
        };
      }));
    },
    clean: async (): Promise<CleanupReport> => {
      const failures: string[] = [];
      const ids = [...runs.entries()];
      runs.clear();
      const deleted = await eachLimited(ids, 16, ([, id]) => gql(DELETE_RUN, { id }).then(() => {}), ([name], err) => failures.push(`run ${name}: ${formatError(err).slice(0, 160)}`));
      let projects = 0;
      let remains = `runs deleted with deleteRun (their history and files go with them); the project ${entity}/${project} was deleted (deleteModel)`;
      if (projectId) {
        const id = projectId;
        projectId = undefined;
        try {
          await gql(DELETE_PROJECT, { id });
          projects = 1;
        } catch (err) {
          remains = `runs deleted with deleteRun (their history and files go with them); the empty project ${entity}/${project} stays: the server refused deleteModel (${formatError(err).slice(0, 120)}); delete it in the web UI (project > Settings > Delete project)`;
        }
      } else if (!ids.length) remains = "nothing was created";
      return { experiments: projects, runs: deleted, artifacts: 0, failures, remains };
    },
  };
}
