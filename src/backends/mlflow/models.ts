/**
 * MLflow 3 LoggedModels and dataset inputs, read back over REST and judged against what the
 * script's process handed the SDK: the model entry (`logged-models/{id}`), its link to the run
 * (source_run_id and the run's `outputs.model_outputs`), its params, its metrics, and every file
 * of the model folder by sha256 of the bytes the server returns; the run's dataset inputs
 * (`runs/get` `inputs.dataset_inputs`).
 */
import type { ManifestDataset, ManifestModel, ManifestRun } from "../../verify/manifest.ts";
import type { ObservedRun } from "../../verify/observed.ts";
import { check, type Check } from "../../verify/check.ts";
import { compareMetric } from "../../verify/compare.ts";
import { formatError } from "../../util/errors.ts";
import type { MlflowClient, MlflowLoggedModel, MlflowRun } from "./client.ts";

export interface ObservedModel {
  model?: MlflowLoggedModel;
  files: Record<string, { size: number; sha256: string }>;
  /** Files the server lists but could not serve, with why. */
  unreadable: Record<string, string>;
  error?: string;
}

export interface MlflowExtra {
  models: Record<string, ObservedModel>;
  /** Model ids `logged-models/search` finds with this run as their source, or why it could not search. */
  searched: string[] | { error: string };
  modelOutputs: { model_id: string; step: number }[];
  datasets: (ManifestDataset & { tags: Record<string, string> })[];
}

export async function readModelsAndInputs(client: MlflowClient, exp: ManifestRun, run: MlflowRun): Promise<MlflowExtra> {
  const models: MlflowExtra["models"] = {};
  for (const m of exp.models ?? []) {
    const o: ObservedModel = { files: {}, unreadable: {} };
    models[m.modelId] = o;
    try {
      o.model = await client.getLoggedModel(m.modelId);
      for (const f of await client.listLoggedModelArtifacts(m.modelId)) {
        try {
          o.files[f.path] = await client.downloadLoggedModelArtifact(o.model, f.path);
        } catch (err) {
          o.unreadable[f.path] = formatError(err);
        }
      }
    } catch (err) {
      o.error = formatError(err);
    }
  }
  let searched: MlflowExtra["searched"] = [];
  if (exp.models?.length)
    try {
      searched = (await client.searchLoggedModels([run.info.experiment_id], `source_run_id = '${exp.runId}'`)).map((m) => m.info.model_id);
    } catch (err) {
      searched = { error: formatError(err) };
    }
  return {
    models,
    searched,
    modelOutputs: (run.outputs?.model_outputs ?? []).map((x) => ({ model_id: x.model_id, step: Number(x.step ?? 0) })),
    datasets: (run.inputs?.dataset_inputs ?? []).map(({ dataset: d, tags }) => {
      const t = Object.fromEntries((tags ?? []).map((x) => [x.key, x.value]));
      return { name: d.name, digest: d.digest, sourceType: d.source_type, source: d.source, schema: d.schema, profile: d.profile, context: t["mlflow.data.context"], tags: t };
    }),
  };
}

/**
 * How MLflow's server names an SDK LoggedModelStatus (mlflow/entities/logged_model_status.py
 * to_proto, without the LOGGED_MODEL_ prefix): FAILED is LOGGED_MODEL_UPLOAD_FAILED.
 */
export function storedStatus(sdk: string): string {
  return sdk === "FAILED" ? "UPLOAD_FAILED" : sdk === "UNSPECIFIED" ? "STATUS_UNSPECIFIED" : sdk;
}

const label = (m: ManifestModel, all: ManifestModel[]) =>
  all.filter((x) => (x.name ?? x.modelId) === (m.name ?? m.modelId)).length > 1 ? `${m.name}@${m.modelId}` : (m.name ?? m.modelId);

export function modelChecks(exp: ManifestRun, obs: ObservedRun, prefix: string): Check[] {
  const extra = obs.extra?.mlflow as MlflowExtra | undefined;
  const checks: Check[] = [];
  for (const m of exp.models ?? []) {
    const n = `${prefix}${label(m, exp.models!)}`;
    const o = extra?.models[m.modelId];
    if (!o?.model) {
      checks.push(check("models", `${n}:exists`, false, `logged model ${m.modelId} cannot be read: ${o?.error ?? "not read"}`, m.modelId, null));
      continue;
    }
    const info = o.model.info;
    const status = info.status?.replace(/^LOGGED_MODEL_/, "");
    const statusOk = !m.status || status === storedStatus(m.status);
    // The SDK's FAILED (a log_model that raised in the script) is stored as UPLOAD_FAILED: the backend
    // holds what it was sent, and the failure is the SDK's (script.exit names it), not the server's.
    const sdkFailed = statusOk && m.status === "FAILED";
    checks.push(check("models", `${n}:exists`, info.model_id === m.modelId && statusOk,
      !statusOk ? `logged model ${m.modelId} is ${status}, the SDK finalized it ${m.status} (stored as ${storedStatus(m.status!)})`
        : sdkFailed ? `logged model ${m.modelId} (${info.name}) is ${status}, as the SDK finalized it (FAILED: the SDK's own failure while logging it, not the server's)`
        : `logged model ${m.modelId} (${info.name}) is ${status}`,
      { modelId: m.modelId, status: m.status }, { modelId: info.model_id, status }));
    // Found by search too (the experiment's model listing, filtered by its source run).
    if (m.sourceRunId === exp.runId) {
      const s = extra!.searched;
      const found = Array.isArray(s) && s.includes(m.modelId);
      checks.push(check("models", `${n}:search`, found,
        found ? `logged-models/search finds it among run ${exp.runId}'s models` : Array.isArray(s) ? `logged-models/search with source_run_id = '${exp.runId}' does not return it` : `logged-models/search failed: ${s.error}`,
        m.modelId, Array.isArray(s) ? s : null));
    }
    // The link: the model names its source run, and the run lists the model among its outputs.
    const linkProblems: string[] = [];
    if (m.sourceRunId && info.source_run_id !== m.sourceRunId) linkProblems.push(`source_run_id ${info.source_run_id ?? "absent"}, expected ${m.sourceRunId}`);
    if (m.outputStep !== undefined) {
      const out = extra!.modelOutputs.find((x) => x.model_id === m.modelId);
      if (!out) linkProblems.push(`run ${exp.runId} does not list it in outputs.model_outputs`);
      else if (out.step !== m.outputStep) linkProblems.push(`output step ${out.step}, expected ${m.outputStep}`);
    }
    checks.push(check("models", `${n}:run-link`, !linkProblems.length,
      linkProblems.length ? linkProblems.join("; ") : `linked to run ${exp.runId}${m.outputStep !== undefined ? ` as an output at step ${m.outputStep}` : ""}`,
      { sourceRunId: m.sourceRunId, outputStep: m.outputStep }, { sourceRunId: info.source_run_id, outputs: extra!.modelOutputs }));
    const params = Object.fromEntries((o.model.data?.params ?? []).map((x) => [x.key, x.value]));
    for (const [k, v] of Object.entries(m.params))
      checks.push(check("models", `${n}:param:${k}`, params[k] === v, params[k] === undefined ? `model param ${k} is missing` : params[k] === v ? "matches" : `model param ${k} differs`, v, params[k]));
    const tags = Object.fromEntries((info.tags ?? []).map((x) => [x.key, x.value]));
    for (const [k, v] of Object.entries(m.tags))
      checks.push(check("models", `${n}:tag:${k}`, tags[k] === v, tags[k] === undefined ? `model tag ${k} is missing` : tags[k] === v ? "matches" : `model tag ${k} differs`, v, tags[k]));
    const metrics: Record<string, { step: number; value: number | string; timestamp: number }[]> = {};
    for (const p of o.model.data?.metrics ?? []) (metrics[p.key] ??= []).push({ step: Number(p.step), value: p.value, timestamp: Number(p.timestamp) });
    for (const [k, pts] of Object.entries(m.metrics)) {
      const r = compareMetric(k, pts, metrics[k]);
      checks.push(check("models", `${n}:metric:${k}`, r.ok, `${r.message} (linked to the model)`, r.expected, r.actual));
    }
    for (const f of m.files) {
      const got = o.files[f.path];
      const ok = !!got && got.size === f.size && got.sha256 === f.sha256;
      const why = o.unreadable[f.path];
      const msg = !got ? `model file ${f.path} is missing${why ? `: ${why}` : ""}` : ok ? `${f.size} bytes, sha256 matches` : got.size !== f.size ? `size ${got.size} != ${f.size}` : "sha256 differs";
      checks.push(check("models", `${n}:file:${f.path}`, ok, msg, { size: f.size, sha256: f.sha256 }, got ?? null));
    }
  }
  for (const d of exp.datasets ?? []) {
    const n = `${prefix}${d.name}${d.context ? `:${d.context}` : ""}`;
    const got = extra?.datasets.find((x) => x.name === d.name && x.digest === d.digest && (x.context ?? undefined) === (d.context ?? undefined));
    const fields = ["sourceType", "source", "schema", "profile"] as const;
    const differ = got ? fields.filter((f) => (d[f] ?? "") !== (got[f] ?? "")) : [];
    checks.push(check("inputs", n, !!got && !differ.length,
      !got ? `dataset ${d.name} (digest ${d.digest}${d.context ? `, context ${d.context}` : ""}) is not among the run's inputs` : differ.length ? `dataset ${d.name}: ${differ.join(", ")} differ` : `dataset input ${d.name} (digest ${d.digest}) recorded`,
      d, got ?? null));
  }
  return checks;
}
