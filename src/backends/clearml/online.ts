/**
 * ClearML by URL (`--backend clearml --url https://api.clearml.example.com`): the workflow logs
 * with `Task.init` against the server (CLEARML_API_HOST/WEB_HOST/FILES_HOST and the keys by env),
 * and the verifier reads the task back over REST (rest.ts), never through the SDK under test.
 *
 * Mapping to ObservedRun (the same as the offline session reader):
 * - params: hyperparams[section][name].value as "Section/name" and bare "name"; the "properties"
 *   section (user properties) and the task's tags go to tags.
 * - metrics: every scalar event of every metric/variant (events.scalar_metrics_iter_raw, one
 *   variant at a time, scrolled to the end); key = title when series == title, else
 *   "title/series"; each point's timestamp (ms) from events.get_task_events.
 * - artifacts: execution.artifacts[] by key, bytes downloaded from their uri (fileserver).
 * - git: script.repository/branch/version_num/diff; dirty = diff non-empty.
 * - status: completed/published/closed -> FINISHED, failed -> FAILED, stopped -> KILLED,
 *   in_progress/queued/created -> RUNNING.
 */
import type { ManifestRun } from "../../verify/manifest.ts";
import type { ObservedPoint, ObservedRun } from "../../verify/observed.ts";
import type { ClearmlRest } from "./rest.ts";

const STATUS: Record<string, string> = {
  completed: "FINISHED", published: "FINISHED", closed: "FINISHED", publishing: "FINISHED",
  failed: "FAILED", stopped: "KILLED", in_progress: "RUNNING", queued: "RUNNING", created: "RUNNING",
};
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : undefined);

export async function readClearmlTask(rest: ClearmlRest, exp: ManifestRun): Promise<ObservedRun> {
  const task = await rest.task(exp.runId);

  const params: Record<string, string> = {};
  const bare: Record<string, string> = {};
  const tags: Record<string, string> = {};
  for (const [section, items] of Object.entries(task.hyperparams ?? {})) {
    if (!isObject(items)) continue;
    for (const [name, p] of Object.entries(items)) {
      const value = isObject(p) ? p.value : p;
      const v = value === undefined || value === null ? "" : String(value);
      if (section === "properties") tags[name] = v;
      else {
        params[`${section}/${name}`] = v;
        if (!(name in bare)) bare[name] = v;
      }
    }
  }
  for (const [k, v] of Object.entries(bare)) if (!(k in params)) params[k] = v;
  for (const t of task.tags ?? []) tags[t] = "";

  const metrics: Record<string, ObservedPoint[]> = {};
  let events = 0;
  const scalarSeries: { title: string; series: string; points: ObservedPoint[] }[] = [];
  for (const [metric, variants] of Object.entries(await rest.scalarMetrics(exp.runId))) {
    for (const variant of variants) {
      const key = variant === metric || variant === "" ? metric : `${metric}/${variant}`;
      const s = { title: metric, series: variant, points: [] as ObservedPoint[] };
      scalarSeries.push(s);
      for (const p of await rest.scalarsRaw(exp.runId, metric, [variant])) {
        const point = { step: Number(p.iter), value: p.value };
        (metrics[key] ??= []).push(point);
        s.points.push(point);
        events++;
      }
    }
  }

  // Timestamps: scalar_metrics_iter_raw has none; events.get_task_events has each event's own
  // (ms), paired by title, series, iteration and order. A server without it: said, not guessed.
  let timestampsUnavailable: string | undefined;
  try {
    const stamps = new Map<string, number[]>();
    for (const e of await rest.taskEvents(exp.runId, "training_stats_scalar"))
      if (typeof e.timestamp === "number") {
        const k = `${e.metric}\0${e.variant}\0${e.iter}`;
        stamps.set(k, [...(stamps.get(k) ?? []), e.timestamp]);
      }
    for (const s of scalarSeries)
      for (const p of s.points) {
        const ts = stamps.get(`${s.title}\0${s.series}\0${p.step}`)?.shift();
        if (ts !== undefined) p.timestamp = ts;
      }
  } catch (err) {
    timestampsUnavailable = `events.get_task_events failed (${(err as Error).message}); the exact scalar read (events.scalar_metrics_iter_raw) returns no timestamps`;
  }

  const artifacts: ObservedRun["artifacts"] = {};
  const declared = task.execution?.artifacts ?? [];
  const hashMismatch: string[] = [];
  const unreadable: Record<string, string> = {};
  for (const a of declared) {
    if (!a.key || !a.uri) continue;
    try {
      const got = await rest.download(a.uri);
      artifacts[a.key] = { size: got.size, sha256: got.sha256 };
      // ClearML records "sha256 of the file" in hash for file artifacts.
      if (a.hash && a.hash.length === 64 && a.hash !== got.sha256) hashMismatch.push(a.key);
    } catch (err) {
      unreadable[a.key] = (err as Error).message;
    }
  }

  const s = task.script ?? {};
  const diff = typeof s.diff === "string" ? s.diff : undefined;
  const git: ObservedRun["git"] = str(s.repository) || str(s.version_num) || str(s.branch) || diff
    ? { commit: str(s.version_num), branch: str(s.branch), remote: str(s.repository), diff, dirty: diff !== undefined ? diff.length > 0 : undefined }
    : undefined;

  const project = task.project ? await rest.projectName(task.project) : undefined;
  return {
    runId: task.id,
    name: task.name,
    status: task.status ? (STATUS[task.status] ?? task.status.toUpperCase()) : undefined,
    parentId: str(task.parent),
    group: project,
    params,
    tags,
    metrics,
    artifacts,
    git,
    extra: {
      format: "clearml-rest",
      project,
      projectId: task.project,
      clearmlStatus: task.status,
      scalarEvents: events,
      scalarSeries,
      timestampsUnavailable,
      lastIteration: task.last_iteration,
      artifactsDeclared: declared.map((a) => ({ key: a.key, uri: a.uri, size: a.content_size, hash: a.hash, type: a.type })),
      configuration: task.configuration,
      hashMismatch,
      unreadable,
      entryPoint: s.entry_point,
    },
  };
}
