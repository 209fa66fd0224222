/**
 * ClearML's own TensorBoard capture (Task.init's auto_connect_frameworks "tensorboard" binding,
 * clearml/binding/frameworks/tensorflow_bind.py), judged from the session ClearML wrote against
 * the event files the run wrote: the backend's copy of TensorBoard, not TensorBoard parsed alone
 * (that is the separate "tensorboard.<key>" check of src/verify/tensorboard-check.ts).
 *
 * How the binding names a scalar (EventTrainsWriter._add_scalar -> tag_splitter, clearml 2.1.12):
 * the tag is split on "/"; series = the last part, title = the other parts joined with "_"; a tag
 * without "/" gets title = the tag itself, or "Scalars" when Logger.tensorboard_auto_group_scalars
 * is on. It then calls Logger.report_scalar(title, series, value, iteration=step), so in the
 * session the captured points are ordinary training_stats_scalar events: they are told apart from
 * the script's own report_scalar calls by that naming alone. The adapter reports its own copy as
 * title = series = key and, in the same run, turns the grouping on, so the two never share a
 * title/series (the manifest's tensorboardCapture.bareTagTitle says which naming was used); a
 * Lightning run reports nothing itself, so there the captured series ARE its metrics.
 *
 * Values: TensorBoard stores float32; the binding reads that float32 back out of the event and
 * reports it as a double, so the points are compared at float32. NaN and infinities reach
 * ClearML as 0.0 (Logger.set_reporting_nan_value), as for any report_scalar.
 * Steps: the binding adds an offset when a tag's step falls below 90% of its last step
 * (_fix_step_counter, "wrap-around"); a run whose steps go back would show that as changed steps.
 */
import type { Manifest, ManifestRun, MetricPoint } from "../../verify/manifest.ts";
import type { ObservedPoint, ObservedRun } from "../../verify/observed.ts";
import { check, skip, type Check } from "../../verify/check.ts";
import { compareMetric } from "../../verify/compare.ts";
import { concatSeries, seriesOfManifest, type Series, type SeriesBuilderOptions } from "../../verify/series.ts";
import { readRunEvents, type EventsRead } from "../../verify/tensorboard.ts";
import { scalarKey, type ScalarSeries, type SessionReadOptions } from "./reader.ts";

/** ClearML's title/series for a TensorBoard scalar tag (tag_splitter with num_split_parts=1). */
export function captureName(tag: string, bareTagTitle: string | null | undefined): { title: string; series: string } {
  const parts = tag.split("/");
  const series = parts.at(-1)!;
  const title = parts.slice(0, -1).join("_") || (bareTagTitle ?? tag);
  return { title, series };
}

interface Captured {
  /** tag -> ClearML's name for it and the points the session holds under that name. */
  tags: Record<string, { title: string; series: string; points: ObservedPoint[] | Series }>;
  /** The event folder (absolute) and its scalars, as read once for this and the event-file check. */
  dir?: string;
  events?: Record<string, Series>;
  error?: string;
}

/** The run's event files, when the binding was on and they exist. */
const readEvents = async (run: ManifestRun, workDir: string): Promise<EventsRead | undefined> =>
  run.tensorboardCapture ? readRunEvents(run, workDir) : undefined;

/**
 * Reads the event files first, then the run with `read`, then separates the capture: knowing the
 * tags before the run is read tells the reader which title/series are the binding's copy in a
 * run that reports its own (bareTagTitle set). Those are compared on steps and values only and
 * never become metrics, so the reader keeps them without a time column.
 */
export async function readWithCapture(run: ManifestRun, workDir: string, read: (o: SessionReadOptions) => Promise<ObservedRun>): Promise<ObservedRun> {
  const ev = await readEvents(run, workDir);
  const bare = run.tensorboardCapture?.bareTagTitle;
  // Sizes to expect (hints): the manifest's count for a key, the event files' for a capture.
  // What each title/series should repeat: the adapter reports a key as title = series = key
  // (exact doubles); the binding's capture repeats the event files (float32). Points that do
  // are held once (SeriesBuilderOptions.like); the comparison judges them all the same.
  const like = new Map<string, NonNullable<SeriesBuilderOptions["like"]>>();
  for (const [key, pts] of Object.entries(run.metrics)) like.set(`${key}\0${key}`, { series: seriesOfManifest(pts) });
  const captured = new Set<string>();
  for (const [tag, pts] of Object.entries(ev?.events ?? {})) {
    const n = captureName(tag, bare);
    captured.add(`${n.title}\0${n.series}`);
    // Only where the capture never becomes a metric (bareTagTitle set): a metric is compared
    // exactly, so it must never take float32-equal values from the event files.
    if (bare) like.set(`${n.title}\0${n.series}`, { series: pts, float32: true });
  }
  return separateCapture(run, await read({
    timestamps: bare && captured.size ? (title, series) => !captured.has(`${title}\0${series}`) : undefined,
    expected: (title, series) => like.get(`${title}\0${series}`)?.series.length,
    like: (title, series) => like.get(`${title}\0${series}`),
  }), workDir, ev);
}

/**
 * Called on each run as it is read: finds the captured series by the binding's naming, keeps them
 * in obs.extra.tensorboardCapture and, where the adapter reported the same keys itself, takes
 * them out of obs.metrics (else a tag "a/b" and the adapter's key "a/b" would read as one metric).
 */
export async function separateCapture(run: ManifestRun, obs: ObservedRun, workDir: string, read?: EventsRead): Promise<ObservedRun> {
  const all = (obs.extra?.scalarSeries ?? []) as ScalarSeries[];
  const ev = read ?? (await readEvents(run, workDir));
  if (!ev || !run.tensorboardCapture) return obs;
  const captured: Captured = { tags: {}, ...ev };
  const bare = run.tensorboardCapture.bareTagTitle;
  const taken = new Set<string>();
  for (const tag of Object.keys(captured.events ?? {})) {
    const name = captureName(tag, bare);
    const found = all.find((s) => s.title === name.title && s.series === name.series);
    captured.tags[tag] = { ...name, points: found?.points ?? [] };
    if (found) taken.add(`${found.title}\0${found.series}`);
  }
  obs.extra = { ...obs.extra, tensorboardCapture: captured };
  if (bare && taken.size) {
    const metrics: ObservedRun["metrics"] = {};
    for (const s of all) {
      if (taken.has(`${s.title}\0${s.series}`)) continue;
      const key = scalarKey(s.title, s.series), before = metrics[key];
      // The session's own columns where one title/series makes the key (no copy of its points).
      metrics[key] = before ? concatSeries([before, s.points]) : s.points;
    }
    obs.metrics = metrics;
  }
  return obs;
}

/** tensorboard.clearml-capture:<tag>, one per tag of the event files, for every run. */
export function captureChecks(manifest: Manifest, observed: Record<string, ObservedRun>): Check[] {
  const checks: Check[] = [];
  for (const run of manifest.runs) {
    if (!run.tensorboardDir) continue;
    const label = manifest.runs.length > 1 ? `${run.key}:` : "";
    const name = (what: string) => `${label}clearml-capture:${what}`;
    if (!run.tensorboardCapture) {
      checks.push(skip("tensorboard", name("binding"), "the run did not turn ClearML's TensorBoard binding on: nothing captured to compare"));
      continue;
    }
    const obs = observed[run.key];
    if (!obs) continue; // the run itself could not be read: run.* already says why
    const cap = obs.extra?.tensorboardCapture as Captured | undefined;
    if (!cap || cap.error || !cap.events) {
      checks.push(skip("tensorboard", name("files"), cap?.error ? `event files unreadable (${cap.error}): see the tensorboard file check` : "no event files to compare ClearML's capture with"));
      continue;
    }
    for (const [tag, pts] of Object.entries(cap.events)) {
      const got = cap.tags[tag]!;
      // Steps and values only (compareMetric does not pair timestamps): the event columns as read.
      const r = compareMetric(tag, pts, got.points.length ? got.points : undefined, "float32");
      const where = `title "${got.title}", series "${got.series}"`;
      const nonFinite = pts.values.some((v) => !Number.isFinite(v)) ? "; NaN and infinities reach ClearML as 0.0 (Logger.set_reporting_nan_value)" : "";
      const message = r.ok
        ? `ClearML's TensorBoard binding captured all ${pts.length} points of the event files (${where}), equal at float32: TensorBoard stores float32 and the binding reports that float32`
        : got.points.length
          ? `ClearML's capture (${where}) differs from the event files: ${r.message}${nonFinite}`
          : `ClearML holds no series ${where}, where its TensorBoard binding files tag ${tag}`;
      checks.push(check("tensorboard", name(tag), r.ok, message, r.expected, r.actual));
    }
  }
  return checks;
}
