/**
 * Reads a ClearML offline session zip (`<cache>/offline/offline-<hex>.zip`, written by
 * `task.close()` in offline mode) into an ObservedRun, without the SDK. Checked against
 * clearml 2.1.12, which zips the session folder with these entries:
 *   task.json      the task as a dict + project_name, offline_folder, offline_output_models
 *   metrics.jsonl  one JSON array of events per line (training_stats_scalar: metric=title,
 *                  variant=series, iter, value, timestamp ms)
 *   log.jsonl      console log events
 *   data/<project>/<task name>.<task id>/artifacts/<name>/<file>   upload_artifact copies
 *
 * Mapping:
 * - params: hyperparams[section][name].value as "Section/name", and as bare "name" when no other
 *   section already took that name. The "properties" section (task.set_user_properties) goes
 *   to tags instead, as do the task's tags (value "").
 * - metrics: key = title when series == title, else "title/series"; points in file order, each
 *   with ClearML's own event timestamp (integer ms since the epoch). The raw title/series pairs
 *   are kept too (extra.scalarSeries), for the TensorBoard-capture check.
 *   ClearML itself reports NaN as 0.0 (Logger.set_reporting_nan_value), so NaN never reaches
 *   the file; bare NaN/Infinity tokens are still accepted and kept as strings.
 * - artifacts: every file under data/, keyed by the artifact name from task.json
 *   execution.artifacts[].uri when one points at it, else by its path under data/.
 * - git: script.repository -> remote, branch, version_num -> commit, diff; dirty = diff non-empty.
 * Entries whose path escapes the session folder (absolute, "..", drive letters) are refused, and
 * every entry read is checked against the zip's CRC-32.
 */
import { createHash } from "node:crypto";
import { posix } from "node:path";
import unzipper from "unzipper";
import type { ObservedPoint, ObservedRun } from "../../verify/observed.ts";
import { SeriesBuilder, toNumber, type Series, type SeriesBuilderOptions } from "../../verify/series.ts";
import { crc32 } from "../../util/crc32.ts";
import { gcPacer } from "../../util/gc-pace.ts";
import { FormatError } from "../../util/protobuf.ts";
import { parseNonFinite } from "../wandb/reader.ts";

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : undefined);

/** Normalises a zip entry name; throws when it could land outside the extraction folder. */
export function safeEntryPath(name: string, zipPath: string, offset: number): string {
  const p = name.replace(/\\/g, "/");
  if (p.includes("\0") || p.startsWith("/") || /^[A-Za-z]:/.test(p) || p.split("/").includes("..")) {
    throw new FormatError(`zip entry ${JSON.stringify(name)} escapes the session folder`, offset, zipPath);
  }
  return posix.normalize(p).replace(/^\.\//, "");
}

export interface Session {
  /** Entry paths (normalised, files only). */
  entries: Map<string, unzipper.File>;
  /** An entry's bytes, checked against its size and CRC-32. */
  read(p: string): Promise<Uint8Array>;
  readText(p: string): Promise<string>;
}

/** Opens a session zip: every entry path checked, every read checked against the zip's CRC-32. */
export async function openSession(zipPath: string): Promise<Session> {
  let dir: unzipper.CentralDirectory;
  try {
    dir = await unzipper.Open.file(zipPath);
  } catch (e) {
    throw new FormatError(`not a readable zip (${(e as Error).message})`, 0, zipPath);
  }
  return sessionOf(dir, zipPath);
}

/** The same over a zip already in memory (an npz or a folder archive ClearML stored). */
export async function openZipBuffer(buf: Uint8Array, name: string): Promise<Session> {
  let dir: unzipper.CentralDirectory;
  try {
    dir = await unzipper.Open.buffer(Buffer.from(buf));
  } catch (e) {
    throw new FormatError(`not a readable zip (${(e as Error).message})`, 0, name);
  }
  return sessionOf(dir, name);
}

function sessionOf(dir: unzipper.CentralDirectory, zipPath: string): Session {
  if (!Array.isArray(dir?.files)) throw new FormatError("zip has no central directory", 0, zipPath);
  const entries = new Map<string, unzipper.File>();
  for (const f of dir.files) {
    const p = safeEntryPath(f.path, zipPath, f.offsetToLocalFileHeader);
    if (f.type === "Directory" || p.endsWith("/")) continue;
    if (entries.has(p)) throw new FormatError(`duplicate zip entry ${JSON.stringify(p)}`, f.offsetToLocalFileHeader, zipPath);
    entries.set(p, f);
  }
  const read = async (p: string): Promise<Uint8Array> => {
    const f = entries.get(p);
    if (!f) throw new FormatError(`no entry ${p}`, 0, zipPath);
    let data: Uint8Array;
    try {
      data = await f.buffer();
    } catch (e) {
      throw new FormatError(`cannot read zip entry ${p} (${(e as Error).message})`, f.offsetToLocalFileHeader, zipPath);
    }
    if (data.length !== f.uncompressedSize || crc32(data) !== f.crc32 >>> 0) {
      throw new FormatError(`zip entry ${p} is corrupt (size or CRC-32 mismatch)`, f.offsetToLocalFileHeader, zipPath);
    }
    return data;
  };
  return { entries, read, readText: async (p) => new TextDecoder().decode(await read(p)) };
}

export interface SessionReadOptions {
  /** Whether a title/series's event times are kept (default: all); see readWithCapture. */
  timestamps?: (title: string, series: string) => boolean;
  /**
   * How many points a title/series is likely to hold (the manifest's count, the event files'):
   * its columns are made that size at once instead of doubling through garbage. Only a hint.
   */
  expected?: (title: string, series: string) => number | undefined;
  /** The points a title/series is expected to repeat (SeriesBuilderOptions.like). */
  like?: (title: string, series: string) => SeriesBuilderOptions["like"];
}

export async function readClearmlSession(zipPath: string, o: SessionReadOptions = {}): Promise<ObservedRun> {
  const { entries, read, readText } = await openSession(zipPath);

  if (!entries.has("task.json")) throw new FormatError("session has no task.json", 0, zipPath);
  let task: unknown;
  try {
    task = parseNonFinite(await readText("task.json"));
  } catch (e) {
    if (e instanceof FormatError) throw e;
    throw new FormatError(`task.json is not JSON (${(e as Error).message})`, entries.get("task.json")!.offsetToLocalFileHeader, zipPath);
  }
  if (!isObject(task)) throw new FormatError("task.json is not an object", 0, zipPath);

  // params
  const params: Record<string, string> = {};
  const bare: Record<string, string> = {};
  const hyper = isObject(task.hyperparams) ? task.hyperparams : {};
  const tags: Record<string, string> = {};
  for (const [section, items] of Object.entries(hyper)) {
    if (!isObject(items)) continue;
    if (section === "properties") {
      // task.set_user_properties(k=v) lands here: key/value tags, not hyperparameters.
      for (const [name, p] of Object.entries(items)) {
        const value = isObject(p) ? p.value : p;
        tags[name] = value === undefined || value === null ? "" : String(value);
      }
      continue;
    }
    for (const [name, p] of Object.entries(items)) {
      const value = isObject(p) ? p.value : p;
      const v = value === undefined || value === null ? "" : String(value);
      params[`${section}/${name}`] = v;
      if (!(name in bare)) bare[name] = v;
    }
  }
  for (const [k, v] of Object.entries(bare)) if (!(k in params)) params[k] = v;

  // tags: the task's tag list (value "") and user properties (above)
  for (const t of Array.isArray(task.tags) ? task.tags : []) if (typeof t === "string") tags[t] = "";

  // metrics: metrics.jsonl unzipped as a stream, each line's events into columns as parsed. Each
  // point is kept once, under its title/series; a metric key is that title/series's columns, or,
  // where two title/series map to one key ("a/b"+"c" and "a"+"b/c"), columns of its own in file
  // order, begun when the second one appears (the first's points so far all come before).
  const series = new Map<string, { title: string; series: string; points: SeriesBuilder; merged?: SeriesBuilder }>();
  const ownerOf = new Map<string, string>(); // key -> the first title/series id with it
  const merged = new Map<string, SeriesBuilder>(); // key -> its own columns, for shared keys only
  const otherEvents: Record<string, number> = {};
  const otherEventList: Json[] = [];
  if (entries.has("metrics.jsonl")) try {
    let i = 0;
    for await (const line of lines(entries.get("metrics.jsonl")!, zipPath, "metrics.jsonl")) {
      i++;
      if (line.trim() === "") continue;
      let events: unknown;
      try {
        events = parseNonFinite(line);
      } catch (e) {
        throw new FormatError(`metrics.jsonl line ${i} is not JSON (${(e as Error).message})`, 0, `${zipPath}!metrics.jsonl`);
      }
      for (const ev of Array.isArray(events) ? events : [events]) {
        if (!isObject(ev)) throw new FormatError(`metrics.jsonl line ${i} holds a non-object event`, 0, `${zipPath}!metrics.jsonl`);
        const type = String(ev.type);
        if (type !== "training_stats_scalar") {
          otherEvents[type] = (otherEvents[type] ?? 0) + 1;
          otherEventList.push(ev);
          continue;
        }
        const title = String(ev.metric ?? "");
        const variant = String(ev.variant ?? "");
        const key = scalarKey(title, variant);
        const value = ev.value;
        if (typeof value !== "number" && value !== "NaN" && value !== "Infinity" && value !== "-Infinity") {
          throw new FormatError(`metrics.jsonl line ${i}: scalar ${key} has value ${JSON.stringify(value)}`, 0, `${zipPath}!metrics.jsonl`);
        }
        const step = Number(ev.iter ?? 0), v = toNumber(value), ts = typeof ev.timestamp === "number" ? ev.timestamp : Number.NaN;
        const id = `${title}\0${variant}`;
        let sr = series.get(id);
        if (!sr) {
          const hint = o.expected?.(title, variant);
          const capacity = hint && hint > 0 && hint < 2 ** 28 ? hint : 1024;
          series.set(id, (sr = { title, series: variant, points: new SeriesBuilder(capacity, { timestamps: o.timestamps?.(title, variant) ?? true, like: o.like?.(title, variant) }) }));
          const owner = ownerOf.get(key);
          if (owner === undefined) ownerOf.set(key, id);
          else {
            let b = merged.get(key);
            if (!b) {
              const first = series.get(owner)!;
              const pts = first.points.finish();
              b = new SeriesBuilder(Math.max(1024, pts.length * 2));
              for (let j = 0; j < pts.length; j++) b.push(pts.steps[j]!, pts.values[j]!, pts.timestamps[j]!);
              merged.set(key, (first.merged = b));
            }
            sr.merged = b;
          }
        }
        sr.points.push(step, v, ts);
        sr.merged?.push(step, v, ts);
      }
    }
  } catch (err) {
    // Bytes that are not what the zip recorded say so first, as when the entry was read whole.
    if (err instanceof FormatError) for await (const _ of lines(entries.get("metrics.jsonl")!, zipPath, "metrics.jsonl"));
    throw err;
  }
  const finished = new Map([...series].map(([id, x]) => [id, x.points.finish()]));
  const metrics: Record<string, Series> = {};
  for (const [key, owner] of ownerOf) metrics[key] = merged.get(key)?.finish() ?? finished.get(owner)!;

  // artifacts
  const execution = isObject(task.execution) ? task.execution : {};
  const offlineFolder = str(task.offline_folder);
  const declared = (Array.isArray(execution.artifacts) ? execution.artifacts : []).filter(isObject);
  const nameOfFile = new Map<string, string>();
  for (const a of declared) {
    const uri = str(a.uri);
    const key = str(a.key);
    if (!uri || !key) continue;
    const rel = dataRelative(uri, offlineFolder);
    if (rel) nameOfFile.set(rel, key);
  }
  const artifacts: ObservedRun["artifacts"] = {};
  const artifactFiles: Record<string, string> = {};
  for (const p of [...entries.keys()].sort()) {
    if (!p.startsWith("data/")) continue;
    const rel = p.slice("data/".length);
    const data = await read(p);
    const key = nameOfFile.get(rel) ?? rel;
    if (key in artifacts) throw new FormatError(`two files map to artifact ${key}`, entries.get(p)!.offsetToLocalFileHeader, zipPath);
    artifacts[key] = { size: data.length, sha256: createHash("sha256").update(data).digest("hex") };
    artifactFiles[key] = rel;
  }

  // git
  const script = isObject(task.script) ? task.script : {};
  const diff = typeof script.diff === "string" ? script.diff : undefined;
  let git: ObservedRun["git"];
  if (str(script.repository) || str(script.version_num) || str(script.branch) || diff) {
    git = {
      commit: str(script.version_num),
      branch: str(script.branch),
      remote: str(script.repository),
      diff,
      dirty: diff !== undefined ? diff.length > 0 : undefined,
    };
  }

  return {
    runId: String(task.id ?? ""),
    name: str(task.name),
    status: str(task.status),
    parentId: str(task.parent),
    group: str(task.project_name),
    params,
    tags,
    metrics,
    artifacts,
    git,
    extra: {
      format: "clearml-offline",
      project: str(task.project_name),
      type: str(task.type),
      entryPoint: str(script.entry_point),
      workingDir: str(script.working_dir),
      configuration: task.configuration,
      artifactsDeclared: declared.map((a) => ({
        key: a.key, uri: a.uri, size: a.content_size, sha256: a.hash, type: a.type, mode: a.mode,
      })),
      artifactFiles,
      otherEvents,
      scalarSeries: [...series].map(([id, x]): ScalarSeries => ({ title: x.title, series: x.series, points: finished.get(id)! })),
      offlineOutputModels: task.offline_output_models,
      entries: [...entries.keys()].sort(),
    },
  };
}

/** One title/series as ClearML keeps it (two pairs may share a metric key: "a/b"+"c" and "a"+"b/c"). */
export interface ScalarSeries {
  title: string;
  series: string;
  points: ObservedPoint[] | Series;
}

/**
 * The lines of a zip entry, unzipped as a stream (memory: a piece and a line), its size and
 * CRC-32 checked at the end as Session.read checks them.
 */
async function* lines(f: unzipper.File, zipPath: string, name: string): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  const pace = gcPacer();
  let crc = 0, size = 0, rest = "";
  try {
    for await (const chunk of f.stream() as AsyncIterable<Buffer>) {
      const bytes = new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      pace(bytes.length);
      crc = crc32(bytes, crc);
      size += bytes.length;
      const text = rest + decoder.decode(bytes, { stream: true });
      const parts = text.split("\n");
      rest = parts.pop()!;
      yield* parts;
    }
  } catch (e) {
    if (e instanceof FormatError) throw e;
    throw new FormatError(`cannot read zip entry ${name} (${(e as Error).message})`, f.offsetToLocalFileHeader, zipPath);
  }
  if (size !== f.uncompressedSize || crc >>> 0 !== f.crc32 >>> 0) {
    throw new FormatError(`zip entry ${name} is corrupt (size or CRC-32 mismatch)`, f.offsetToLocalFileHeader, zipPath);
  }
  rest += decoder.decode();
  yield rest;
}

/** The metric key e2e reads a scalar as: title, or "title/series" when they differ. */
export const scalarKey = (title: string, series: string) => (series === title || series === "" ? title : `${title}/${series}`);

/** Path of an artifact uri under the session's data/ folder, or undefined. */
function dataRelative(uri: string, offlineFolder: string | undefined): string | undefined {
  const u = uri.replace(/\\/g, "/").replace(/^file:\/\//, "");
  if (offlineFolder) {
    const prefix = `${offlineFolder.replace(/\\/g, "/").replace(/\/$/, "")}/data/`;
    if (u.startsWith(prefix)) return u.slice(prefix.length);
  }
  const i = u.indexOf("/data/");
  return i >= 0 ? u.slice(i + "/data/".length) : undefined;
}
