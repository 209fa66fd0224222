/**
 * W&B by URL (`--backend wandb --url https://wandb.example.com`): the workflow logs with
 * `wandb.init(mode="online")` (WANDB_BASE_URL and WANDB_API_KEY by env), and the verifier reads
 * the run back over GraphQL (graphql.ts), never through the SDK under test.
 *
 * Mapping to ObservedRun (the same as the offline reader, so one comparator judges both):
 * - runId = run.name (W&B's run id), name = displayName, group, tags ("k=v" -> k: v).
 * - params: run.config (JSON of {key: {value, desc}}), `_wandb`/`wandb_version` dropped, nested
 *   dicts flattened as "a.b".
 * - metrics: every history row (historyKeys.lastStep bounds the `_step` pages); the metric step
 *   is the row's stepKey item (default "step"), else `_step`; `_`-keys and the step key are not
 *   metrics; nested dicts flattened with "."; media and other non-numeric values skipped.
 * - artifacts: every run file except W&B's own (requirements.txt, wandb-metadata.json, ...),
 *   downloaded and hashed; the server's md5 is kept as evidence. Then every file of every
 *   artifact version the run logged (RunOutputArtifacts, then ArtifactMembershipFiles of
 *   <collection>:v<index>), downloaded; it counts only when its bytes have the md5 the server
 *   lists for it (W&B's own digest); a run file of the same name wins. The artifact versions
 *   the run used (RunInputArtifacts), when the script used any. A version with add_reference
 *   entries expected: its manifest file (FetchArtifactManifest), for each reference's URI.
 * - git: run.commit. status: finished -> FINISHED, failed/crashed -> FAILED, running -> RUNNING.
 */
import type { ManifestRun } from "../../verify/manifest.ts";
import type { ObservedRun } from "../../verify/observed.ts";
import { backendError } from "../../util/errors.ts";
import { flattenParams, historyToMetrics, isSdkFile, parseJson } from "./reader.ts";
import type { WandbGraphql } from "./graphql.ts";
import type { StoredArtifact } from "./stored.ts";
import { splitByNamespace } from "./tensorboard-capture.ts";

const STATE: Record<string, string> = { finished: "FINISHED", failed: "FAILED", crashed: "FAILED", killed: "KILLED", running: "RUNNING", pending: "RUNNING" };
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const jsonField = (v: unknown): unknown => (typeof v === "string" ? parseJson(v) : v);

export interface WandbOnlineTarget {
  entity: string;
  project: string;
  /** History rows per page (W&B's own scan uses 1000). */
  pageSize?: number;
}

export async function readWandbOnlineRun(gql: WandbGraphql, exp: ManifestRun, t: WandbOnlineTarget): Promise<ObservedRun> {
  const project = exp.project ?? exp.experiment ?? t.project;
  const run = await gql.run(t.entity, project, exp.runId);
  if (!run) throw backendError(`W&B has no run ${t.entity}/${project}/${exp.runId}`, "check the entity (WANDB_ENTITY) and that the workflow logged to this server");
  const stepKey = exp.stepKey ?? "step";

  // params
  const rawConfig = jsonField(run.config);
  const config: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(isObject(rawConfig) ? rawConfig : {})) {
    if (k === "_wandb" || k === "wandb_version") continue;
    config[k] = isObject(v) && "value" in v ? v.value : v;
  }
  const params: Record<string, string> = {};
  flattenParams(config, "", params);

  const tags: Record<string, string> = {};
  for (const tag of run.tags ?? []) {
    const eq = tag.indexOf("=");
    if (eq > 0) tags[tag.slice(0, eq)] = tag.slice(eq + 1);
    else tags[tag] = "";
  }

  // metrics: every row, exactly
  const hk = jsonField(run.historyKeys);
  const lastStep = isObject(hk) && typeof hk.lastStep === "number" ? hk.lastStep : -1;
  const rows = lastStep >= 0 ? await gql.history(t.entity, project, exp.runId, lastStep, t.pageSize) : [];
  const flat = rows.map((row) => {
    const values = new Map<string, unknown>();
    flattenRow(row, "", values);
    return { values };
  });
  // Rows W&B's TensorBoard capture wrote ("<namespace>/<tag>", global_step) are kept apart.
  const ns = exp.tensorboardNamespace;
  const { own, capture } = splitByNamespace(flat, ns && exp.tensorboardDir ? [{ logDir: exp.tensorboardDir, namespace: ns }] : []);
  const { metrics, nonNumeric, rowsWithoutStepKey } = historyToMetrics(own, stepKey);
  // W&B media values (whole objects with `_type`), by row, as the offline reader lists them
  const media: { key: string; step: number | undefined; value: Record<string, unknown> }[] = [];
  for (const { values } of own)
    for (const [key, value] of values)
      if (isObject(value) && typeof value._type === "string") {
        const st = values.get("_step");
        media.push({ key, step: typeof st === "number" ? st : undefined, value });
      }

  // artifacts: the run's files, downloaded through whatever store the server uses
  const artifacts: ObservedRun["artifacts"] = {};
  const sdkFiles: string[] = [];
  const md5Mismatch: string[] = [];
  let diff: string | undefined;
  for (const f of await gql.files(t.entity, project, exp.runId)) {
    if (isSdkFile(f.name)) {
      if (f.name === "diff.patch") diff = new TextDecoder().decode((await gql.download(f)).bytes);
      sdkFiles.push(f.name);
      continue;
    }
    const got = await gql.download(f);
    artifacts[f.name] = { size: got.size, sha256: got.sha256 };
    if (f.md5 && f.md5 !== got.md5) md5Mismatch.push(f.name);
  }

  // W&B Artifacts the run logged (checkpoints): each file by bytes, md5 against W&B's listing
  const unreadable: Record<string, string> = {};
  const artifactSource: Record<string, string> = Object.fromEntries(Object.keys(artifacts).map((p) => [p, "run files"]));
  const wandbArtifacts: StoredArtifact[] = [];
  for (const a of await gql.outputArtifacts(t.entity, project, exp.runId)) {
    const collection = a.artifactSequence?.name;
    if (!collection || a.versionIndex === undefined) continue;
    const version = `v${a.versionIndex}`;
    const files = await gql.artifactFiles(t.entity, project, collection, version);
    const stored: StoredArtifact = { name: collection, type: a.artifactType?.name ?? "", aliases: [version], digest: a.digest ?? "", entries: [] };
    wandbArtifacts.push(stored);
    // add_reference entries: their URI is only in the version's manifest file, read when the script added any.
    const refs = exp.wandb?.artifacts.some((x) => x.name === collection && x.entries.some((e) => "ref" in e)) ? await gql.artifactManifest(a.id) : undefined;
    for (const f of files) {
      if (refs?.[f.name]?.ref) continue; // a reference: W&B holds only its URI (from the manifest, below), its bytes are not fetched
      let got: Awaited<ReturnType<WandbGraphql["download"]>>;
      try {
        got = await gql.download(f);
      } catch (err) {
        // A reference entry has no bytes on the server; anything else is the store failing.
        stored.entries.push({ path: f.name, digest: f.md5 ?? "", problem: `artifact ${collection}:${version} file ${f.name} cannot be downloaded: ${(err as Error).message}` });
        if (artifactSource[f.name] !== "run files") unreadable[f.name] = stored.entries.at(-1)!.problem!;
        continue;
      }
      const problem = f.md5 && f.md5 !== got.md5 ? `artifact ${collection}:${version} file ${f.name}: downloaded bytes have md5 ${got.md5}, the server lists ${f.md5}` : undefined;
      stored.entries.push({ path: f.name, size: got.size, digest: f.md5 ?? "", sha256: got.sha256, problem });
      if (artifactSource[f.name] === "run files") continue;
      artifactSource[f.name] = `W&B Artifact ${collection}:${version}`;
      if (f.md5 && f.md5 !== got.md5) {
        delete artifacts[f.name];
        unreadable[f.name] = `artifact ${collection}:${version} file ${f.name}: downloaded bytes have md5 ${got.md5}, the server lists ${f.md5}`;
      } else {
        artifacts[f.name] = { size: got.size, sha256: got.sha256 };
        delete unreadable[f.name];
      }
    }
    if (refs) {
      stored.manifestRead = true;
      for (const [path, e] of Object.entries(refs)) {
        if (!e.ref) continue;
        const entry = stored.entries.find((x) => x.path === path);
        if (entry) entry.ref = e.ref;
        else stored.entries.push({ path, digest: e.digest ?? "", ref: e.ref });
      }
    }
  }

  // Artifacts the run used (use_artifact), as Run.used_artifacts() lists them: read when the script used any.
  const usedArtifacts = exp.wandb?.used?.length ? await gql.inputArtifacts(t.entity, project, exp.runId) : [];

  const git: ObservedRun["git"] = run.commit || diff !== undefined ? { commit: run.commit || undefined, ...(diff !== undefined ? { diff, dirty: diff.length > 0 } : {}) } : undefined;
  return {
    runId: run.name,
    name: run.displayName,
    status: run.state ? (STATE[run.state] ?? run.state.toUpperCase()) : undefined,
    parentId: run.group || undefined,
    group: run.group || undefined,
    params,
    tags,
    metrics,
    artifacts,
    git,
    extra: {
      format: "wandb-graphql",
      entity: t.entity,
      project,
      state: run.state,
      config,
      summary: jsonField(run.summaryMetrics),
      historyLineCount: run.historyLineCount,
      historyRows: rows.length,
      lastStep,
      rowsWithoutStepKey,
      stepKey,
      nonNumericKeys: [...nonNumeric].sort(),
      sdkFiles: sdkFiles.sort(),
      md5Mismatch,
      unreadable,
      artifactSource,
      wandbArtifacts,
      usedArtifacts,
      media,
      tensorboardCapture: capture,
    },
  };
}

/** Nested dicts of a history row as "a.b"; W&B media objects (with `_type`) stay whole. */
function flattenRow(obj: Record<string, unknown>, prefix: string, out: Map<string, unknown>) {
  for (const [k, v] of Object.entries(obj)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (isObject(v) && !("_type" in v)) flattenRow(v, key, out);
    else out.set(key, v);
  }
}
