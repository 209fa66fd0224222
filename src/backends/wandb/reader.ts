/**
 * Reads an offline W&B run folder (`offline-run-<time>-<id>/`) into an ObservedRun, without the
 * SDK: the `.wandb` log (records.ts) for run facts, config, history and exit, and `files/` for the
 * bytes of files the run saved.
 *
 * Mapping (wandb 0.31.0):
 * - runId/name/group/project/tags/git from the run record (git = RunRecord.git, else the
 *   environment record's git). W&B records no branch and no dirty flag offline; a
 *   `files/diff.patch`, when present, gives the diff (and dirty = non-empty).
 * - params: config (run record, then config records in order, removals applied); `_wandb` skipped.
 *   Nested dicts are flattened as "a.b". Values stringified the way Python's str() prints the
 *   JSON value: numbers keep W&B's JSON text, true/false -> "True"/"False", null -> "None",
 *   strings as is, lists/objects as their JSON text (also kept under extra.config).
 * - metrics: every history row; the metric step is the row's `stepKey` item (default "step", the
 *   adapter's convention), else W&B's `_step`. Keys starting with "_" and the step key are not
 *   metrics; nested keys are joined with "."; non-numeric values (media, strings) are skipped
 *   and listed in extra.nonNumericKeys. timestamp = the row's `_timestamp` (seconds as a double,
 *   taken by the SDK inside run.log, sub-millisecond) times 1000, NOT rounded: milliseconds with
 *   W&B's full precision, for the generic timestamp comparison.
 * - artifacts: what W&B's own records say it stored (stored.ts): run files with a `files` record
 *   and bytes in files/, and W&B Artifact manifest entries with their staged copy (md5 checked).
 *   extra.artifactSource says which for each path; extra.unreadable why a recorded one has no
 *   bytes; extra.unrecordedFiles lists files in files/ that W&B would not upload.
 * - status: FINISHED with an exit record of code 0, FAILED with another code, RUNNING without one.
 */
import { readdir, readFile } from "node:fs/promises";
import { basename, join } from "node:path";
import type { ObservedPoint, ObservedRun } from "../../verify/observed.ts";
import type { Series } from "../../verify/series.ts";
import { FormatError } from "../../util/protobuf.ts";
import { readWandbRecords, type WandbItem } from "./records.ts";
import { storedFiles } from "./stored.ts";
import { namespaceOf, type TbCapture } from "./tensorboard-capture.ts";
import { HistoryColumns, usableSpaces } from "./history.ts";

export { isSdkFile } from "./stored.ts";

export interface WandbReadOptions {
  /** History key holding the metric step (default "step"); W&B's `_step` when a row lacks it. */
  stepKey?: string;
  /** The points a metric key should hold (the manifest's): matching points are held once (history.ts). */
  expected?: (key: string) => Series | undefined;
  /** The points W&B's TensorBoard capture of a tag should hold (the event files'): held once where they match (history.ts). */
  captured?: (namespace: string, tag: string) => Series | undefined;
}

export async function readWandbRun(runDir: string, options: WandbReadOptions = {}): Promise<ObservedRun> {
  const stepKey = options.stepKey ?? "step";
  const logs = (await readdir(runDir)).filter((f) => /^run-.+\.wandb$/.test(f));
  if (logs.length !== 1) {
    throw new FormatError(`expected one run-<id>.wandb in ${runDir}, found ${logs.length ? logs.join(", ") : "none"}`, 0, runDir);
  }
  const logPath = join(runDir, logs[0]!);
  // History rows are turned into columns as they are decoded (history.ts), never kept; summary
  // updates (one per row) are applied as they come (top-level values parsed when they last).
  const readHistory = async (fixed?: string[]) => {
    const summary: Record<string, unknown> = {};
    // W&B writes a summary update after every history row. A top-level key's value is kept as
    // text until something could see it (a nested path under it, a removal, the end): a value
    // set again before that is never parsed. The final summary is what applying every update
    // in turn gives (records-stream.test.ts).
    const later = new Map<string, string>();
    const settle = (k: string) => {
      const text = later.get(k);
      if (text === undefined) return;
      later.delete(k);
      summary[k] = parseJson(text);
    };
    const settleAll = () => {
      for (const k of [...later.keys()]) settle(k);
    };
    const cols = new HistoryColumns(stepKey, options.expected, options.captured);
    const media: { key: string; step: number | undefined; value: Record<string, unknown> }[] = [];
    let known = -1, spaces: string[] = fixed ?? [];
    const rec = await readWandbRecords(logPath, {
      onHistory: (h, sofar) => {
        if (!fixed && sofar.tensorboard.length !== known) {
          known = sofar.tensorboard.length;
          spaces = usableSpaces(sofar.tensorboard.map(namespaceOf));
        }
        const row = { values: new Map(h.items.map((it) => [it.path.join("."), parseJson(it.valueJson)])), step: h.step };
        if (cols.add(row, spaces) === "own") mediaOf(row, media);
      },
      onSummary: (s) => {
        for (const it of s.update) {
          if (it.path.length === 1) later.set(it.path[0]!, it.valueJson);
          else if (it.path.length) {
            settle(it.path[0]!);
            setPath(summary, it.path, parseJson(it.valueJson));
          }
        }
        for (const it of s.remove) {
          if (it.path.length) settle(it.path[0]!);
          deletePath(summary, it.path);
        }
      },
    });
    settleAll();
    return { rec, cols, media, summary };
  };
  let { rec, cols, media, summary } = await readHistory();
  const allSpaces = usableSpaces(rec.tensorboard.map(namespaceOf));
  // A tbrecord after rows it captured (W&B writes it first): read again knowing every namespace.
  if (cols.lateNamespace(allSpaces)) ({ rec, cols, media, summary } = await readHistory(allSpaces));
  const run = rec.run;
  const runId = run?.runId || logs[0]!.slice(4, -6);

  // params from config
  const config: Record<string, unknown> = {};
  /** JSON text of top-level values: numbers keep Python's spelling (1e-05, 2.0). */
  const rawTop = new Map<string, string>();
  const applyConfig = (update: WandbItem[], remove: WandbItem[]) => {
    for (const it of update) {
      setPath(config, it.path, parseJson(it.valueJson));
      if (it.path.length === 1) rawTop.set(it.path[0]!, it.valueJson.trim());
      else rawTop.delete(it.path[0]!);
    }
    for (const it of remove) {
      deletePath(config, it.path);
      rawTop.delete(it.path[0]!);
    }
  };
  if (run) applyConfig(run.config, []);
  for (const c of rec.configs) applyConfig(c.update, c.remove);
  delete config._wandb;
  const params: Record<string, string> = {};
  flattenParams(config, "", params, rawTop);

  // tags: W&B tags are a list; "k=v" or "k:v"-free tags map to "".
  const tags: Record<string, string> = {};
  for (const t of run?.tags ?? []) {
    const eq = t.indexOf("=");
    if (eq > 0) tags[t.slice(0, eq)] = t.slice(eq + 1);
    else tags[t] = "";
  }

  // metrics from history (rows W&B's TensorBoard capture wrote kept apart: tensorboard-capture.ts)
  const { metrics, capture: capturedPoints } = cols.result();
  const { nonNumeric, rowsWithoutStepKey } = cols;
  const capture: TbCapture = { dirs: rec.tensorboard.map((r) => ({ logDir: r.logDir, namespace: namespaceOf(r) })), points: capturedPoints };


  // files and artifacts: what W&B recorded and the bytes it holds for them (stored.ts)
  const stored = await storedFiles(runDir, rec);
  const artifacts: ObservedRun["artifacts"] = { ...stored.files };
  const unreadable: Record<string, string> = { ...stored.unreadable };
  const artifactSource: Record<string, string> = Object.fromEntries(Object.keys(stored.files).map((p) => [p, "files record + files/"]));
  for (const a of stored.artifacts) {
    for (const e of a.entries) {
      if (artifactSource[e.path] === "files record + files/") continue; // a run file of that name wins
      // An entry whose staged bytes do not match it is not stored, whatever its sha256.
      if (e.sha256 && !e.problem) artifacts[e.path] = { size: e.size ?? 0, sha256: e.sha256 };
      else delete artifacts[e.path];
      if (e.problem) unreadable[e.path] = e.problem;
      else delete unreadable[e.path];
      artifactSource[e.path] = `W&B Artifact ${a.name} (${a.type}) manifest entry + staged copy`;
    }
  }
  const filesDir = join(runDir, "files");

  // git
  const g = run?.git ?? rec.environment.find((e) => e.git)?.git;
  let git: ObservedRun["git"];
  if (g && (g.commit || g.remoteUrl)) git = { commit: g.commit, remote: g.remoteUrl };
  const diff = await readFile(join(filesDir, "diff.patch"), "utf8").catch(() => undefined);
  if (diff !== undefined) git = { ...git, diff, dirty: diff.length > 0 };

  const status = rec.exit ? (rec.exit.exitCode === 0 ? "FINISHED" : "FAILED") : "RUNNING";
  const out: ObservedRun = {
    runId,
    name: run?.displayName,
    status,
    parentId: run?.group,
    group: run?.group,
    params,
    tags,
    metrics,
    artifacts,
    git,
    extra: {
      format: "wandb-offline",
      file: basename(logPath),
      sdkVersion: rec.header?.producer,
      project: run?.project,
      entity: run?.entity,
      jobType: run?.jobType,
      notes: run?.notes,
      host: run?.host,
      startTime: run?.startTime,
      wandbTags: run?.tags ?? [],
      config,
      summary,
      exitCode: rec.exit?.exitCode,
      runtime: rec.exit?.runtime,
      historyRows: cols.rows,
      rowsWithoutStepKey,
      stepKey,
      timestampPrecision: "W&B _timestamp: seconds as a double set by the SDK in run.log (sub-ms); points carry it in ms, unrounded",
      nonNumericKeys: [...nonNumeric].sort(),
      savedFiles: rec.files,
      sdkFiles: stored.sdkFiles,
      unrecordedFiles: stored.unrecorded,
      unreadable,
      artifactSource,
      wandbArtifacts: stored.artifacts,
      useArtifacts: rec.useArtifacts,
      tensorboardCapture: capture,
      media,
      recordCounts: rec.counts,
    },
  };
  if (!run) (out.extra as Record<string, unknown>).missingRunRecord = true;
  return out;
}

/** W&B media in a history row (values with a `_type`: image-file, table-file, histogram, ...). */
function mediaOf(row: { values: Map<string, unknown>; step?: number }, out: { key: string; step: number | undefined; value: Record<string, unknown> }[]) {
  // 0.31 writes a media value as nested items ("img._type", "img.path", ...): regroup them.
  for (const [k, type] of row.values) {
    if (!k.endsWith("._type") || typeof type !== "string") continue;
    const key = k.slice(0, -"._type".length);
    const value: Record<string, unknown> = {};
    for (const [k2, v2] of row.values) if (k2.startsWith(`${key}.`) && !k2.slice(key.length + 1).includes(".")) value[k2.slice(key.length + 1)] = v2;
    const st = row.values.get("_step");
    out.push({ key, step: typeof st === "number" ? st : row.step, value });
  }
}

/** JSON.parse that keeps W&B's bare NaN/Infinity/-Infinity as those strings; undecodable -> raw text. */
export function parseJson(text: string): unknown {
  // A JSON number (most history and summary values): Number() gives the same double as JSON.parse.
  if (JSON_NUMBER.test(text)) return Number(text);
  const t = text.trim();
  if (t === "NaN" || t === "Infinity" || t === "-Infinity") return t;
  try {
    return JSON.parse(t);
  } catch {
    // Python's json (allow_nan) may also nest NaN inside objects: quote the bare tokens.
    try {
      return JSON.parse(quoteNonFinite(t));
    } catch {
      return text;
    }
  }
}

const JSON_NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

/** Replaces bare NaN/Infinity/-Infinity tokens outside JSON strings with quoted strings. */
export function quoteNonFinite(text: string): string {
  // A string (to its closing quote, or to the end when unterminated) is kept as it is; a bare
  // token outside one is quoted. One regex pass: this runs over every line of large files.
  return text.replace(NON_FINITE, (m) => (m.charCodeAt(0) === 34 ? m : `"${m}"`));
}
const NON_FINITE = /"(?:[^"\\]|\\[\s\S]?)*"?|-Infinity|Infinity|NaN/g;

/** JSON.parse that accepts Python's bare NaN/Infinity/-Infinity (as strings); valid JSON parses once. */
export function parseNonFinite(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    // Invalid as it stands: perhaps only for bare non-finite tokens (errors come from this parse).
    return JSON.parse(quoteNonFinite(text));
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function setPath(root: Record<string, unknown>, path: string[], value: unknown) {
  if (path.length === 0) return;
  let node = root;
  for (const k of path.slice(0, -1)) {
    if (!isObject(node[k])) node[k] = {};
    node = node[k] as Record<string, unknown>;
  }
  node[path[path.length - 1]!] = value;
}

function deletePath(root: Record<string, unknown>, path: string[]) {
  let node: unknown = root;
  for (const k of path.slice(0, -1)) node = isObject(node) ? node[k] : undefined;
  if (isObject(node) && path.length) delete node[path[path.length - 1]!];
}

/** Python str() of a JSON value. */
function pyStr(v: unknown, raw?: string): string {
  if (v === null) return "None";
  if (v === true) return "True";
  if (v === false) return "False";
  if (typeof v === "string") return v;
  if (typeof v === "number") return raw !== undefined && /^-?\d/.test(raw) ? raw : pyFloatRepr(v);
  return JSON.stringify(v);
}

/**
 * Python's repr of a number that came through JSON without its text (nested config values):
 * same shortest digits as JS, Python's layout (exponent below 1e-4 or from 1e16, two-digit
 * exponent). Integers print as integers (a float 2.0 prints "2": its text is lost).
 */
export function pyFloatRepr(n: number): string {
  if (!Number.isFinite(n)) return Number.isNaN(n) ? "nan" : n > 0 ? "inf" : "-inf";
  if (Number.isInteger(n) && Math.abs(n) < 1e16) return String(n);
  const abs = Math.abs(n);
  if (abs !== 0 && (abs < 1e-4 || abs >= 1e16)) {
    const [mant, exp] = n.toExponential().split("e") as [string, string];
    const e = Number(exp);
    return `${mant}e${e < 0 ? "-" : "+"}${String(Math.abs(e)).padStart(2, "0")}`;
  }
  return String(n);
}

export function flattenParams(obj: Record<string, unknown>, prefix: string, out: Record<string, string>, rawTop?: Map<string, string>) {
  for (const [k, v] of Object.entries(obj)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (isObject(v)) {
      if (!prefix) out[key] = JSON.stringify(v);
      flattenParams(v, key, out);
    } else {
      out[key] = pyStr(v, prefix ? undefined : rawTop?.get(k));
    }
  }
}

/**
 * W&B history rows -> metric points, the same for the .wandb file and GraphQL: each value is
 * paired with the row's step key (the adapter's "step", Lightning's "trainer/global_step"),
 * else W&B's own _step; W&B's underscore keys are not metrics.
 */
export function historyToMetrics(rows: Iterable<{ values: Map<string, unknown>; step?: number }>, stepKey: string) {
  const cols = new HistoryColumns(stepKey);
  for (const row of rows) cols.add(row);
  return { metrics: cols.result().metrics, nonNumeric: cols.nonNumeric, rowsWithoutStepKey: cols.rowsWithoutStepKey };
}
