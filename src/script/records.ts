/**
 * The records written by python/e2e_record (one `record-<pid>.json` per process that logged)
 * and their merge into a Manifest: the expectation for a user's script.
 *
 * Merge rules: runs are keyed by (SDK, run id) across processes (two ranks logging into one
 * MLflow run are one run); metric points are concatenated and ordered by timestamp; params,
 * tags and artifacts are unioned (a later write wins); W&B rows still pending in a process (W&B
 * writes them when the run ends) count as logged. A run's status is FINISHED only when some
 * process ended it so.
 */
import { readdir, readFile } from "node:fs/promises";
import { check, type Check } from "../verify/check.ts";
import { join } from "node:path";
import { collapseIdentical } from "../backends/mlflow/identical-points.ts";
import type { BackendName, Manifest, ManifestArtifact, ManifestDataset, ManifestModel, ManifestRun, MetricPoint } from "../verify/manifest.ts";
import { emptyExpectations, mergeExpectations, type ClearmlExpectations } from "../backends/clearml/expect.ts";
import { emptyWandbExpectations, mergeWandbExpectations, type WandbExpectations } from "../backends/wandb/expect.ts";

export interface RecordedRun {
  sdk: BackendName;
  runId: string;
  name?: string;
  project?: string;
  group?: string;
  experiment?: string;
  trackingUri?: string;
  offlinePath?: string;
  params: Record<string, string>;
  tags: Record<string, string>;
  metrics: Record<string, MetricPoint[]>;
  /** W&B: points of a row not yet committed when the record was written. */
  pending?: Record<string, MetricPoint[]>;
  artifacts: ManifestArtifact[];
  status: ManifestRun["status"];
  /** MLflow: models this run names as outputs (log_outputs). */
  outputs?: { modelId: string; step: number }[];
  /** MLflow: dataset inputs (log_input). */
  inputs?: (ManifestDataset & { tags?: Record<string, string> })[];
  /** ClearML: single values, texts, configurations, images, objects and models. */
  clearml?: Partial<ClearmlExpectations>;
  /** W&B: artifacts, media and the summary. */
  wandb?: Partial<WandbExpectations>;
}

/** An MLflow 3 LoggedModel as one process saw it; metric points carry the run they were logged with. */
export interface RecordedModel {
  sdk: BackendName;
  modelId: string;
  name?: string;
  experimentId?: string;
  sourceRunId?: string | null;
  status?: string | null;
  params: Record<string, string>;
  tags: Record<string, string>;
  metrics: Record<string, [number, MetricPoint[1], number, string | null][]>;
  files: { path: string; size: number; sha256: string }[];
}

export interface ProcessRecord {
  schema: 1;
  pid: number;
  ppid: number;
  argv: string[];
  rank: string | null;
  exit: { kind: "exit" | "exception" | "signal"; error?: string; signal?: string } | null;
  sdks: Partial<Record<BackendName, string>>;
  calls: Record<string, number>;
  runs: RecordedRun[];
  models?: RecordedModel[];
  unverified: { sdk: BackendName; call: string; what: string; count: number }[];
  errors: { where: string; error: string }[];
}

export interface MergedRecords {
  processes: ProcessRecord[];
  /** Every run, whichever SDK. */
  /** (A script's runs hold their points inline: the records are JSON.) */
  runs: (Omit<ManifestRun, "metrics"> & { metrics: Record<string, MetricPoint[]>; sdk: BackendName; trackingUri?: string; outputs?: RecordedRun["outputs"] })[];
  /** MLflow 3 LoggedModels, merged across processes. */
  models: RecordedModel[];
  unverified: ProcessRecord["unverified"];
  errors: { pid: number; where: string; error: string }[];
  /** Records that could not be read (a process killed mid-write leaves none, not half a file). */
  unreadable: string[];
  /** SDK -> calls seen, summed over processes. */
  calls: Partial<Record<BackendName, Record<string, number>>>;
}

export async function readRecords(dir: string): Promise<{ records: ProcessRecord[]; unreadable: string[] }> {
  const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => /^record-\d+\.json$/.test(n)).sort();
  const records: ProcessRecord[] = [];
  const unreadable: string[] = [];
  for (const n of names) {
    try {
      records.push(JSON.parse(await readFile(join(dir, n), "utf8")) as ProcessRecord);
    } catch (err) {
      unreadable.push(`${n}: ${(err as Error).message}`);
    }
  }
  return { records, unreadable };
}

export function mergeRecords(records: ProcessRecord[], unreadable: string[] = []): MergedRecords {
  const byKey = new Map<string, MergedRecords["runs"][number]>();
  const models = new Map<string, RecordedModel>();
  const unverified = new Map<string, ProcessRecord["unverified"][number]>();
  const calls: MergedRecords["calls"] = {};
  const errors: MergedRecords["errors"] = [];
  for (const rec of [...records].sort((a, b) => a.pid - b.pid)) {
    for (const [name, n] of Object.entries(rec.calls ?? {})) {
      const [sdk, call] = splitOnce(name, ":");
      const c = (calls[sdk as BackendName] ??= {});
      c[call] = (c[call] ?? 0) + n;
    }
    for (const u of rec.unverified ?? []) {
      const k = `${u.sdk}\0${u.call}\0${u.what}`;
      const prev = unverified.get(k);
      unverified.set(k, prev ? { ...prev, count: prev.count + u.count } : { ...u });
    }
    for (const e of rec.errors ?? []) errors.push({ pid: rec.pid, ...e });
    for (const md of rec.models ?? []) {
      const k = `${md.sdk}\0${md.modelId}`;
      const m = models.get(k) ?? { ...md, params: {}, tags: {}, metrics: {}, files: [] };
      models.set(k, m);
      for (const f of ["name", "experimentId", "sourceRunId", "status"] as const) if (md[f]) m[f] = md[f] as never;
      Object.assign(m.params, md.params);
      Object.assign(m.tags, md.tags);
      for (const [key, pts] of Object.entries(md.metrics)) (m.metrics[key] ??= []).push(...pts);
      for (const f of md.files) m.files = [...m.files.filter((x) => x.path !== f.path), f];
    }
    for (const r of rec.runs ?? []) {
      const k = `${r.sdk}\0${r.runId}`;
      let m = byKey.get(k);
      if (!m) {
        m = { key: "", sdk: r.sdk, runId: r.runId, name: r.name ?? r.runId, params: {}, tags: {}, metrics: {}, artifacts: [], status: "RUNNING" };
        byKey.set(k, m);
      }
      if (r.name) m.name = r.name;
      for (const f of ["project", "group", "experiment", "offlinePath", "trackingUri"] as const) if (r[f]) m[f] = r[f];
      Object.assign(m.params, r.params);
      Object.assign(m.tags, r.tags);
      for (const src of [r.metrics, r.pending ?? {}])
        for (const [key, pts] of Object.entries(src)) (m.metrics[key] ??= []).push(...pts);
      for (const a of r.artifacts) m.artifacts = [...m.artifacts.filter((x) => x.path !== a.path), a];
      for (const o of r.outputs ?? []) if (!(m.outputs ??= []).some((x) => x.modelId === o.modelId)) m.outputs.push(o);
      for (const d of r.inputs ?? []) {
        const { tags: _t, ...ds } = d;
        const same = (x: ManifestDataset) => x.name === ds.name && x.digest === ds.digest && x.context === ds.context;
        if (!(m.datasets ??= []).some(same)) m.datasets.push(ds);
      }
      if (r.status === "FINISHED" || m.status === "RUNNING") m.status = r.status;
      if (r.clearml) m.clearml = mergeExpectations(m.clearml ?? emptyExpectations(), r.clearml);
      if (r.wandb) m.wandb = mergeWandbExpectations(m.wandb ?? emptyWandbExpectations(), r.wandb);
    }
  }
  const runs = [...byKey.values()];
  for (const r of runs) for (const pts of Object.values(r.metrics)) pts.sort((a, b) => a[2] - b[2]);
  // Check labels: the run's name, made unique with its id when two runs share one.
  const names = runs.map((r) => r.name);
  for (const r of runs) r.key = names.filter((n) => n === r.name).length > 1 ? `${r.name}@${r.runId.slice(0, 8)}` : r.name;
  // A LoggedModel no run created or named as an output (log_model outside a run) has no run to
  // be verified with: say so rather than drop it.
  const orphans = [...models.values()].filter((m) => !runs.some((r) => r.sdk === m.sdk && (r.runId === m.sourceRunId || r.outputs?.some((o) => o.modelId === m.modelId))));
  for (const m of orphans) {
    const u = { sdk: m.sdk, call: "log_model", what: "a logged model outside any run (no source run, no run output): only models a run created are verified" };
    const k = `${u.sdk}\0${u.call}\0${u.what}`;
    const prev = unverified.get(k);
    unverified.set(k, { ...u, count: (prev?.count ?? 0) + 1 });
  }
  return { processes: records, runs, models: [...models.values()], unverified: [...unverified.values()], errors, unreadable, calls };
}


/** A run's MLflow expectation: identical points once, its LoggedModels, its dataset inputs. */
function mlflowRun(run: MergedRecords["runs"][number], models: RecordedModel[]): ManifestRun {
  const { sdk: _sdk, trackingUri: _uri, outputs, ...r } = run;
  const metrics: ManifestRun["metrics"] = {};
  const collapsed: Record<string, number> = {};
  for (const [key, pts] of Object.entries(r.metrics)) {
    const c = collapseIdentical(pts);
    metrics[key] = c.points;
    if (c.collapsed) collapsed[key] = c.collapsed;
  }
  const mine = models.filter((m) => m.sourceRunId === r.runId || outputs?.some((o) => o.modelId === m.modelId));
  const out: ManifestRun = { ...r, metrics };
  if (Object.keys(collapsed).length) out.collapsed = collapsed;
  if (mine.length)
    out.models = mine.map((m): ManifestModel => ({
      modelId: m.modelId,
      name: m.name,
      sourceRunId: m.sourceRunId ?? undefined,
      outputStep: outputs?.find((o) => o.modelId === m.modelId)?.step,
      status: m.status ?? undefined,
      params: m.params,
      tags: m.tags,
      metrics: Object.fromEntries(Object.entries(m.metrics).map(([k, pts]) => [k, collapseIdentical(pts.map(([s, v, t]) => [s, v, t] as MetricPoint)).points])),
      files: m.files,
    }));
  return out;
}

/** The manifest for one backend: the runs logged through that backend's SDK. */
export function manifestFor(merged: MergedRecords, backend: BackendName): Manifest {
  const env: Record<string, string | number | boolean | null> = { processes: merged.processes.length };
  for (const p of merged.processes) for (const [sdk, v] of Object.entries(p.sdks ?? {})) env[sdk] = v ?? null;
  return {
    schema: 1,
    backend,
    workflow: "script",
    environment: env,
    runs: merged.runs
      .filter((r) => r.sdk === backend)
      .map((run) => (backend === "mlflow" ? mlflowRun(run, merged.models) : (({ sdk: _sdk, trackingUri: _uri, outputs: _o, ...r }) => r)(run))),
  };
}

export const pointCount = (runs: ManifestRun[]) => runs.reduce((n, r) => n + Object.values(r.metrics).reduce((m, p) => m + p.length, 0), 0);

function splitOnce(s: string, sep: string): [string, string] {
  const i = s.indexOf(sep);
  return i < 0 ? [s, ""] : [s.slice(0, i), s.slice(i + 1)];
}

/**
 * What `script.arrived` sums up, per kind of thing a script logs: a kind is one row, naming the
 * check groups that verify it (and, for groups shared by two kinds, which of their checks count).
 * A backend adds its kinds' groups to the row (W&B Artifacts, ClearML objects under "artifacts").
 */
export const ARRIVED_KINDS: Record<string, { groups: string[]; only?: (c: Check, manifest: Manifest) => boolean }> = {
  params: { groups: ["params"] },
  metrics: { groups: ["metrics"] },
  tags: { groups: ["tags"] },
  /** Plain files stored with the run. */
  files: { groups: ["artifacts"], only: (c, m) => !isMedia(c, m) },
  /** Models stored apart from runs (MLflow LoggedModels; ClearML OutputModels). */
  models: { groups: ["models"] },
  /** Versioned artifacts with their own records (W&B Artifacts, ClearML object artifacts). */
  artifacts: { groups: ["objects"] },
  /** Images and tables (MLflow log_image/log_table/log_figure; W&B media; ClearML debug images). */
  media: { groups: ["artifacts", "media"], only: (c, m) => c.group !== "artifacts" || isMedia(c, m) },
  /** Run summaries and single values (W&B run.summary, ClearML report_single_value). */
  summaries: { groups: ["summaries"] },
  /** Logged text (ClearML report_text, in the task's console log). */
  text: { groups: ["text"] },
  /** Configuration objects (ClearML connect_configuration). */
  configuration: { groups: ["configuration"] },
  /** Dataset inputs (MLflow log_input). */
  datasets: { groups: ["inputs"] },
};

function isMedia(c: Check, manifest: Manifest): boolean {
  return manifest.runs.some((r) => r.artifacts.some((a) => (a.kind === "image" || a.kind === "table") && (c.name === `artifacts.${a.path}` || c.name.endsWith(`:${a.path}`))));
}

/** Counts per kind of the checks that verify what was logged: "params 3/3, models 9/9". */
export function arrivedByKind(manifest: Manifest, checks: Check[]): { parts: string[]; allOk: boolean; kinds: Record<string, { passed: number; total: number }> } {
  const kinds: Record<string, { passed: number; total: number }> = {};
  const parts: string[] = [];
  let allOk = true;
  for (const [kind, row] of Object.entries(ARRIVED_KINDS)) {
    const cs = checks.filter((c) => row.groups.includes(c.group) && c.status !== "skip" && (!row.only || row.only(c, manifest)));
    if (!cs.length) continue;
    const passed = cs.filter((c) => c.status === "pass").length;
    if (passed !== cs.length) allOk = false;
    kinds[kind] = { passed, total: cs.length };
    parts.push(`${kind} ${passed}/${cs.length}`);
  }
  return { parts, allOk, kinds };
}

/** One line on what arrived of what was logged, most useful when the script crashed mid-way. */
export function arrivedCheck(manifest: Manifest, checks: Check[], crashed?: string): Check {
  const { parts, allOk: kindsOk, kinds } = arrivedByKind(manifest, checks);
  const readFail = checks.some((c) => (c.group === "run" || c.group === "verify") && c.status === "fail");
  const allOk = kindsOk && !readFail;
  const crash = crashed ? `the script stopped early (${crashed}); of what it logged before that, ` : "";
  const msg = `${crash}${allOk ? "everything arrived" : "not everything arrived"}: ${parts.join(", ") || "no data"} intact (${pointCount(manifest.runs)} metric points expected)`;
  return check("script", "arrived", allOk, msg, undefined, kinds);
}
