/**
 * W&B's own TensorBoard capture (sync_tensorboard / wandb.tensorboard.patch(root_logdir=)),
 * judged from what W&B recorded (wandb 0.31.0, its Go core): a `tbrecord` names each log dir
 * and the root; the core reads the event files into history rows whose keys are
 * "<namespace>/<tag>" (namespace = log dir relative to the root), with the event's step in
 * `global_step` and its wall time in `_timestamp`, values as float32 (shortest repr); and it
 * links every event file into files/<namespace>/<file> with a `files` record (policy END).
 *
 * By URL the same rows come from GraphQL history and the files from the run's files; the log
 * dir's namespace is the one the adapter wrote into the manifest (tensorboardNamespace).
 *
 * Two checks per run, named apart from the direct parse of the event files
 * (src/verify/tensorboard-check.ts, "tensorboard.<key>"):
 * - tensorboard.wandb-capture:<tag>: W&B's captured history against the event files, point for
 *   point at float32; events of one tag at one step count once (the last), as the capture keeps
 *   one row per step;
 * - tensorboard.wandb-capture:event-files: each event file byte for byte (sha256) among the
 *   files W&B recorded and holds.
 *
 * Offline, the event files are read before the `.wandb` log (readWandbRunEvents): the capture of each
 * tag is then held against them as it is decoded (history.ts), so points that repeat the event
 * files (at float32) cost nothing of their own, and both checks use that one read (the direct
 * parse too: eventFilesRead -> Verification.eventFiles).
 */
import { existsSync } from "node:fs";
import { basename, relative } from "node:path";
import type { Manifest, ManifestRun } from "../../verify/manifest.ts";
import type { ObservedPoint, ObservedRun } from "../../verify/observed.ts";
import { check, skip, type Check } from "../../verify/check.ts";
import { compareMetric } from "../../verify/compare.ts";
import { eventDirOf, findEventFiles, readEventSeries, readRunEvents, type EventsRead } from "../../verify/tensorboard.ts";
import type { WandbTbRecord } from "./records.ts";
import { concatSeries, groupBySteps, SeriesBuilder, seriesOfManifest, type Series } from "../../verify/series.ts";
import { formatError } from "../../util/errors.ts";
import { hashFile } from "../../util/fs.ts";

export type Row = { values: Map<string, unknown>; step?: number };

/** namespace -> tag -> the points W&B captured; `dirs` = the tbrecords' log dirs. */
export interface TbCapture {
  dirs: { logDir: string; namespace: string }[];
  points: Record<string, Record<string, ObservedPoint[] | Series>>;
}

export const namespaceOf = (r: WandbTbRecord) => (r.rootDir ? relative(r.rootDir, r.logDir).split("\\").join("/") : "");

/**
 * Splits W&B history rows into the run's own rows and the rows W&B's TensorBoard capture wrote
 * (a `global_step` item and keys under a captured namespace).
 */
export function splitCapturedRows(rows: Row[], tb: WandbTbRecord[]): { own: Row[]; capture: TbCapture } {
  return splitByNamespace(rows, tb.map((r) => ({ logDir: r.logDir, namespace: namespaceOf(r) })));
}

/** The same split, for log dirs known otherwise (by URL: the manifest's tensorboardNamespace). */
export function splitByNamespace(rows: Row[], dirs: TbCapture["dirs"]): { own: Row[]; capture: TbCapture } {
  const spaces = [...new Set(dirs.map((d) => d.namespace).filter((n) => n !== "" && !n.startsWith("..")))];
  const points: Record<string, Record<string, ObservedPoint[]>> = {};
  const capture: TbCapture = { dirs, points };
  if (!spaces.length) return { own: rows, capture };
  const own: Row[] = [];
  for (const row of rows) {
    const keys = [...row.values.keys()].filter((k) => !k.startsWith("_") && k !== "global_step");
    const step = row.values.get("global_step");
    const ns = (k: string) => spaces.find((s) => k.startsWith(`${s}/`));
    if (typeof step !== "number" || !keys.some(ns)) {
      own.push(row);
      continue;
    }
    // Other keys in a captured row are step metrics W&B copies in by define_metric's step_sync
    // (WandbLogger's "trainer/global_step"), not points of the capture or of the run.
    const ts = row.values.get("_timestamp");
    for (const k of keys.filter(ns)) {
      const space = ns(k)!;
      const v = row.values.get(k);
      const point: ObservedPoint = { step, value: typeof v === "number" ? v : String(v) };
      if (typeof ts === "number") point.timestamp = ts * 1000;
      ((points[space] ??= {})[k.slice(space.length + 1)] ??= []).push(point);
    }
  }
  return { own, capture };
}

/** Merges the captures of a resumed run's folders (points in folder order). */
export function mergeCaptures(parts: (TbCapture | undefined)[]): TbCapture {
  const out: TbCapture = { dirs: [], points: {} };
  for (const p of parts) {
    if (!p) continue;
    out.dirs.push(...p.dirs);
    for (const [ns, tags] of Object.entries(p.points))
      for (const [tag, pts] of Object.entries(tags)) (out.points[ns] ??= {})[tag] = concatSeries([out.points[ns]![tag] ?? [], pts]);
  }
  return out;
}

/**
 * The run's event files, read before its `.wandb` log; a tag's points that repeat the manifest's
 * key of that name (the adapter's mirror) at float32 are held once (readEventSeries' like).
 */
export const readWandbRunEvents = (run: ManifestRun, workDir: string): Promise<EventsRead | undefined> =>
  readRunEvents(run, workDir, (tag) => (Object.hasOwn(run.metrics, tag) ? seriesOfManifest(run.metrics[tag]!) : undefined));

/**
 * What W&B's capture of a tag should repeat (HistoryColumns' capturedLike): the event files'
 * points, one per step, the last (lastPerStep), under the run's own namespace (the manifest's
 * tensorboardNamespace; any, for a manifest without it). Only a memory saving: a capture that
 * differs is held as read from its first differing point on, and judged the same.
 */
export function captureReference(run: ManifestRun, read: EventsRead | undefined): ((namespace: string, tag: string) => Series | undefined) | undefined {
  const events = read?.events;
  if (!events) return undefined;
  const refs = new Map<string, Series>();
  return (namespace, tag) => {
    if (run.tensorboardNamespace !== undefined && namespace !== run.tensorboardNamespace) return undefined;
    const pts = events[tag];
    if (!pts) return undefined;
    let ref = refs.get(tag);
    if (!ref) refs.set(tag, (ref = lastPerStep(pts)));
    return ref;
  };
}

export async function wandbTensorboardChecks(manifest: Manifest, observed: Record<string, ObservedRun>, workDir: string): Promise<Check[]> {
  const checks: Check[] = [];
  for (const run of manifest.runs) {
    if (!run.tensorboardDir) continue;
    const label = manifest.runs.length > 1 ? `${run.key}:` : "";
    const name = (n: string) => `wandb-capture:${label}${n}`;
    const obs = observed[run.key];
    if (!obs) continue; // the run check already failed
    const dir = eventDirOf(run, workDir)!;
    const capture = obs.extra?.tensorboardCapture as TbCapture | undefined;
    // Offline the tbrecord names the absolute log dir; by URL the reader names the manifest's.
    const attached = capture?.dirs.find((d) => d.logDir === dir || d.logDir === run.tensorboardDir);
    if (!attached) {
      checks.push(skip("tensorboard", name("history"), `W&B's TensorBoard capture was not attached to ${dir} in this run's .wandb log (no tbrecord; Lightning's TensorBoardLogger runs are not captured)`));
      continue;
    }
    const ns = attached.namespace;
    const got = capture!.points[ns] ?? {};
    if (!existsSync(dir)) continue; // the direct parse reports the missing files
    // Read with the run (offline), else here (by URL).
    const read = obs.extra?.tensorboardEvents as EventsRead | undefined;
    const pre = read?.dir === dir ? read : undefined;
    let events: Record<string, Series>;
    try {
      if (pre?.error !== undefined) throw new Error(pre.error);
      events = pre?.events ?? (await readEventSeries(dir, { wallTimes: false }));
    } catch (err) {
      checks.push(check("tensorboard", name("history"), false, `event files unreadable: ${formatError(err)}`, "valid records", null));
      continue;
    }
    for (const [tag, pts] of Object.entries(events)) {
      // W&B's capture writes one history row per step: a tag's events at one step (Lightning's
      // epoch at an epoch's last step, logged by training and validation) become one point, the last.
      const last = lastPerStep(pts);
      const merged = pts.length - last.length;
      const r = compareMetric(tag, last, got[tag], "float32");
      const rule = merged ? ` (${merged} event(s) sharing a step with another of the tag counted once: W&B's capture keeps one value per tag and step, the last)` : "";
      checks.push(check("tensorboard", name(tag), r.ok, `W&B's captured history vs the event files (float32): ${r.message}${rule}`, r.expected, r.actual));
    }
    // The event files themselves, among what W&B recorded and holds (files/<namespace>/<file>).
    const missing: string[] = [];
    const files = await findEventFiles(dir);
    for (const f of files) {
      const rel = `${ns}/${relative(dir, f).split("\\").join("/")}`;
      const { sha256: sha } = await hashFile(f);
      if (obs.artifacts[rel]?.sha256 !== sha) missing.push(basename(f));
    }
    checks.push(check("tensorboard", name("event-files"), files.length > 0 && !missing.length,
      missing.length ? `not stored by W&B byte for byte (files record + files/${ns}/): ${missing.join(", ")}` : `${files.length} event file(s) stored by W&B byte for byte`,
      files.length, files.length - missing.length));
  }
  return checks;
}

/**
 * A tag's events with one per step, the last, in the order steps first appear (what W&B's capture
 * keeps: one history row per step).
 */
export function lastPerStep(s: Series): Series {
  const g = groupBySteps(s);
  const first = new Uint32Array(g.groups), last = new Uint32Array(g.groups);
  let ordered = true;
  for (let i = 0; i < g.groups; i++) {
    first[i] = g.order[g.starts[i]!]!;
    last[i] = g.order[g.starts[i + 1]! - 1]!;
    if (i && first[i]! < first[i - 1]!) ordered = false;
  }
  if (ordered && g.groups === s.length) return s; // one event per step, in step order: as it is
  const seq = ordered ? null : Array.from({ length: g.groups }, (_, i) => i).sort((a, b) => first[a]! - first[b]!);
  const b = new SeriesBuilder(Math.max(1, g.groups));
  for (let j = 0; j < g.groups; j++) {
    const i = last[seq ? seq[j]! : j]!;
    b.push(s.steps[i]!, s.values[i]!, s.timestamps[i]!);
  }
  return b.finish();
}
