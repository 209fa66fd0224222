/**
 * W&B by URL: deployment checks as `wandb verify` makes them (sdk/verify/verify.py of wandb
 * 0.31): login, the CLI version range the server states (serverInfo.cliVersionInfo), a 10^7
 * character GraphQL request through the proxy, and a file up and down through the server's
 * object store with signed URLs (createRunFiles -> PUT -> markRunFilesUploaded -> files ->
 * download) in a throwaway run that is deleted afterwards.
 */
import { ofetch } from "ofetch";
import type { Check } from "../../verify/check.ts";
import { fail, pass } from "../../verify/check.ts";
import { formatError } from "../../util/errors.ts";
import { GraphqlError, type WandbGraphql } from "../wandb/graphql.ts";
import { GROUP, LARGE_BYTES, largeRequestCheck, roundTripCheck, transportCheck, versionCheck } from "./checks.ts";
import { compareVersions } from "./sdk.ts";

const LARGE_QUERY = `query Project($entity: String!, $name: String!, $runName: String!, $desc: String!) {
  project(entityName: $entity, name: $name) { run(name: $runName, desc: $desc) { name summaryMetrics } }
}`;

export async function wandbDeployment(gql: WandbGraphql, url: string, sdkVersion: string | undefined, entity: string, opts: { largeBytes?: number } = {}): Promise<Check[]> {
  const checks: Check[] = [transportCheck(url), pass(GROUP, "login", `API key accepted (entity ${entity})`)];
  try {
    const info = await gql.serverInfo();
    const cli = info.cliVersionInfo ?? {};
    const server = info.latestLocalVersionInfo?.versionOnThisInstanceString;
    const min = cli.min_cli_version ?? "0.0.1", max = cli.max_cli_version;
    checks.push(versionCheck("W&B", sdkVersion, server ?? max ?? min, (c) => {
      if (compareVersions(c, min) < 0) return { ok: false, message: `wandb ${c} is older than the server's minimum ${min} (fix: pip install --upgrade "wandb==${max ?? min}")` };
      if (max && compareVersions(c, max) > 0) return { ok: true, warn: `wandb ${c} is newer than the server's maximum ${max}: it may use what this server lacks (fix: pip install "wandb==${max}")`, message: "" };
      return { ok: true, message: `wandb ${c} within the server's range ${min} .. ${max ?? "any"}${server ? ` (server ${server})` : ""}` };
    }));
  } catch (err) {
    checks.push(fail(GROUP, "versions", `serverInfo failed: ${formatError(err)}`));
  }
  const desc = "a".repeat(opts.largeBytes ?? LARGE_BYTES);
  checks.push(await largeRequestCheck("GraphQL request", desc.length,
    () => gql.query(LARGE_QUERY, { entity, name: "e2e-deployment", runName: "", desc }, { mutation: true, timeoutMs: 120_000 }),
    (err) => err instanceof GraphqlError));
  checks.push(await fileRoundTrip(gql, entity));
  return checks;
}

async function fileRoundTrip(gql: WandbGraphql, entity: string): Promise<Check> {
  const project = "e2e-deployment";
  const runName = `e2e-deploy-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  const file = "e2e-probe.bin";
  let storageId: string | undefined;
  try {
    const up = await gql.query<{ upsertBucket: { bucket: { id: string; name: string } } }>(
      `mutation UpsertBucket($project: String, $entity: String, $name: String!, $state: String) {
        upsertBucket(input: {modelName: $project, entityName: $entity, name: $name, state: $state}) { bucket { id name } inserted }
      }`, { project, entity, name: runName, state: "running" }, { mutation: true });
    storageId = up.upsertBucket.bucket.id;
  } catch (err) {
    return fail(GROUP, "file-round-trip", `cannot create a throwaway run ${entity}/${project}/${runName}: ${formatError(err)}`);
  }
  return roundTripCheck("file-round-trip", "run file through the server's object store", 65_536,
    async (data) => {
      const r = await gql.query<{ createRunFiles: { runID?: string; uploadHeaders?: string[]; files: { name: string; uploadUrl: string }[] } }>(
        `mutation CreateRunFiles($entity: String!, $project: String!, $run: String!, $files: [String!]!) {
          createRunFiles(input: {entityName: $entity, projectName: $project, runName: $run, files: $files}) { runID uploadHeaders files { name uploadUrl } }
        }`, { entity, project, run: runName, files: [file] }, { mutation: true });
      const target = r.createRunFiles.files[0];
      if (!target?.uploadUrl) throw new Error("createRunFiles returned no upload URL");
      const headers = Object.fromEntries((r.createRunFiles.uploadHeaders ?? []).map((h) => h.split(/:(.*)/s).slice(0, 2).map((x) => x.trim()) as [string, string]));
      const uploadUrl = new URL(target.uploadUrl, `${gql.baseUrl}/`).toString();
      const sameHost = new URL(uploadUrl).origin === new URL(gql.baseUrl).origin;
      // A signed URL on the object store takes no API key (it would be refused); the server's own does.
      await ofetch(uploadUrl, { method: "PUT", body: data, headers: { ...headers, ...(sameHost ? { authorization: gql.authHeader() } : {}) }, retry: 0 });
      await gql.query(`mutation MarkRunFilesUploaded($entity: String!, $project: String!, $run: String!, $files: [String!]!) {
          markRunFilesUploaded(input: {entityName: $entity, projectName: $project, runName: $run, files: $files}) { success }
        }`, { entity, project, run: runName, files: [file] }, { mutation: true }).catch(() => {}); // older servers lack it
    },
    async () => {
      const files = await gql.files(entity, project, runName);
      const f = files.find((x) => x.name === file);
      if (!f) throw new Error(`the uploaded ${file} is not listed on the run`);
      return (await gql.download(f)).bytes;
    },
    async () => {
      if (storageId) await gql.query(`mutation DeleteRun($id: ID!) { deleteRun(input: {id: $id}) { clientMutationId } }`, { id: storageId }, { mutation: true });
    });
}

