/**
 * What a ClearML script stored beyond params, scalars and files, judged from the offline session
 * zip ClearML wrote (never through the SDK), against the recorder's notes (expect.ts). Where
 * ClearML 2.1.12 keeps each (read from its sources):
 * - report_single_value(name, v): a scalar event title "Summary", series name, iteration -2^31
 *   (Logger.report_single_value; the UI's summary table). The last one of a name counts.
 * - report_text(msg): a console-log record (Logger._console), in log.jsonl "log" events, whose
 *   msg may hold several records joined by newlines: the text must be there as whole lines.
 * - connect_configuration(obj, name): task.json configuration[name].value (a dict as
 *   config_dict_to_text's HOCON text, a file as its text).
 * - report_image: a training_debug_image event (title, series, iteration, url) and the file
 *   at url under data/. The file name rotates over metrics.file_history_size (5) slots per
 *   title/series, so an image can be replaced by a later one in its slot: then only its event is
 *   checked, and the message says so.
 * - upload_artifact of an object (checks "objects.<name>"): execution.artifacts[] (key, uri) and the file at uri: a dict's
 *   JSON as is; a DataFrame's CSV after gunzip; a numpy array's .npy member of the npz; a
 *   folder's zip, file by file.
 * - OutputModel.update_weights: task.json offline_output_models[] and the weights copied to
 *   models/<file> in the session. clearml 2.1.12 raises before storing it offline; that is
 *   reported as the SDK's failure.
 * By URL the same checks read the task (tasks.get_by_id: configuration, execution.artifacts,
 * models.output), the scalars already read (the "Summary" series), the log and debug-image events
 * (events.get_task_events, event types "log" and "training_debug_image"), each output model
 * (models.get_by_id: name, framework, uri) and every file from its uri. What a server does not
 * answer is skipped with its error, never passed.
 */
import { createHash } from "node:crypto";
import { isAbsolute, join } from "node:path";
import { gunzipSync } from "node:zlib";
import type { Manifest } from "../../verify/manifest.ts";
import { check, type Check } from "../../verify/check.ts";
import { formatError } from "../../util/errors.ts";
import { parseNonFinite } from "../wandb/reader.ts";
import type { ClearmlExpectations, ClearmlObject } from "./expect.ts";
import type { ObservedRun } from "../../verify/observed.ts";
import { openSession, openZipBuffer, type ScalarSeries, type Session } from "./reader.ts";
import type { ClearmlRest } from "./rest.ts";
import { observedPoints } from "../../verify/series.ts";

type Json = Record<string, any>;
const SUMMARY_ITER = -(2 ** 31);
const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
const short = (s: string, n = 50) => (s.length > n ? `${s.slice(0, n)}…` : s);

/** An output model as the backend holds it: its entry and, on demand, its weights. */
interface StoredModel {
  name?: string;
  framework?: string;
  /** Base name of the weights file. */
  file?: string;
  bytes(): Promise<Uint8Array | undefined>;
}

/** Where the checks read from: the offline session, or the server by URL. */
interface Source {
  /** "the session" or "the server", in messages. */
  where: string;
  task: Json;
  /** training_stats_scalar events (only Summary ones are used). */
  scalarEvents: Json[];
  /** training_debug_image events, or why they could not be read. */
  imageEvents: Json[] | { unavailable: string };
  /** Console-log messages, or why they could not be read. */
  logs: string[] | { unavailable: string };
  /** The bytes ClearML stored at an uri it recorded (undefined: not there) and a name for them. */
  file(uri: unknown): Promise<{ bytes: Uint8Array; path: string } | undefined>;
  /** The task's output models, or why they could not be read. */
  models: StoredModel[] | { unavailable: string };
}

/** Every ClearML-only check of a script's runs: offline from the session zip, by URL over REST. */
export async function clearmlScriptChecks(manifest: Manifest, workDir: string, by: { mode: "offline" } | { mode: "url"; rest: ClearmlRest; observed: Record<string, ObservedRun> }): Promise<Check[]> {
  const checks: Check[] = [];
  for (const run of manifest.runs) {
    const exp = run.clearml;
    if (!exp) continue;
    const label = manifest.runs.length > 1 ? `${run.key}:` : "";
    let src: Source;
    try {
      if (by.mode === "url") {
        const obs = by.observed[run.key];
        if (!obs) continue; // the task itself could not be read: run.* says why
        src = urlSource(by.rest, obs, await readByUrl(by.rest, run.runId, exp));
      } else {
        if (!run.offlinePath) continue; // run.offline-files says so
        src = await offlineSource(await openSession(isAbsolute(run.offlinePath) ? run.offlinePath : join(workDir, run.offlinePath)));
      }
    } catch (err) {
      for (const g of kindsOf(exp)) checks.push(check(g, `${label}${g}`, false, `cannot read the task: ${formatError(err)}`));
      continue;
    }
    checks.push(...(await runChecks(exp, src, label)));
  }
  return checks;
}

async function offlineSource(s: Session): Promise<Source> {
  const task = parseNonFinite(await s.readText("task.json")) as Json;
  const folder = typeof task.offline_folder === "string" ? task.offline_folder : undefined;
  const metricEvents = await events(s, "metrics.jsonl");
  const entries = (Array.isArray(task.offline_output_models) ? task.offline_output_models : []) as Json[];
  return {
    where: "the session",
    task,
    scalarEvents: metricEvents.filter((e) => e.type === "training_stats_scalar"),
    imageEvents: metricEvents.filter((e) => e.type === "training_debug_image"),
    logs: (await events(s, "log.jsonl")).filter((e) => e.type === "log").map((e) => String(e.msg ?? "")),
    async file(uri) {
      const p = entryOf(uri, folder);
      return p && s.entries.has(p) ? { bytes: await s.read(p), path: p } : undefined;
    },
    // task.json offline_output_models[]: init (name, framework), weights.weights_filename, the
    // copy ClearML made under the session folder's models/.
    models: entries.map((e) => {
      const file = typeof e?.weights?.weights_filename === "string" ? String(e.weights.weights_filename).replace(/\\/g, "/").split("/").at(-1) : undefined;
      return { name: e?.init?.name, framework: e?.init?.framework, file, bytes: async () => (file && s.entries.has(`models/${file}`) ? s.read(`models/${file}`) : undefined) };
    }),
  };
}

function urlSource(rest: ClearmlRest, obs: ObservedRun, read: { logs: Source["logs"]; images: Source["imageEvents"]; models: Source["models"] }): Source {
  const series = (obs.extra?.scalarSeries ?? []) as ScalarSeries[];
  return {
    where: "the server",
    task: { configuration: obs.extra?.configuration ?? {}, execution: { artifacts: obs.extra?.artifactsDeclared ?? [] } },
    scalarEvents: series.flatMap((s) => observedPoints(s.points).map((p) => ({ type: "training_stats_scalar", metric: s.title, variant: s.series, iter: p.step, value: p.value }))),
    imageEvents: read.images,
    logs: read.logs,
    models: read.models,
    file: (uri) => download(rest, uri),
  };
}

async function download(rest: ClearmlRest, uri: unknown): Promise<{ bytes: Uint8Array; path: string } | undefined> {
  if (typeof uri !== "string") return undefined;
  try {
    return { bytes: (await rest.download(uri)).bytes, path: new URL(uri).pathname };
  } catch {
    return undefined;
  }
}

/** What only some checks need, read from the server only when the script logged that kind. */
async function readByUrl(rest: ClearmlRest, taskId: string, exp: ClearmlExpectations): Promise<{ logs: Source["logs"]; images: Source["imageEvents"]; models: Source["models"] }> {
  const why = (err: unknown) => ({ unavailable: `the server did not answer (${formatError(err)})` });
  const logs = exp.texts.length
    ? await rest.taskEvents(taskId, "log").then((evs) => evs.map((e) => String(e.msg ?? "")), why)
    : [];
  const images = exp.images.length ? await rest.taskEvents(taskId, "training_debug_image").catch(why) : [];
  let models: Source["models"] = [];
  if (exp.models.length) {
    try {
      models = (await rest.outputModels(taskId)).map((m) => ({
        name: m.name, framework: m.framework, file: m.uri?.split("/").at(-1),
        bytes: async () => (await download(rest, m.uri))?.bytes,
      }));
    } catch (err) {
      models = why(err);
    }
  }
  return { logs, images, models };
}

function kindsOf(e: ClearmlExpectations): string[] {
  const out: string[] = [];
  if (Object.keys(e.summaries).length) out.push("summaries");
  if (e.texts.length) out.push("text");
  if (Object.keys(e.configurations).length) out.push("configuration");
  if (e.images.length) out.push("media");
  if (e.objects.length) out.push("objects");
  if (e.models.length) out.push("models");
  return out;
}

async function events(s: Session, file: string): Promise<Json[]> {
  if (!s.entries.has(file)) return [];
  const out: Json[] = [];
  for (const line of (await s.readText(file)).split("\n")) {
    if (line.trim() === "") continue;
    const evs = parseNonFinite(line) as unknown;
    for (const ev of Array.isArray(evs) ? evs : [evs]) if (ev && typeof ev === "object") out.push(ev);
  }
  return out;
}

/** An uri the SDK wrote (absolute, in the session folder) as the zip entry it was copied to. */
function entryOf(uri: unknown, offlineFolder: string | undefined): string | undefined {
  if (typeof uri !== "string") return undefined;
  const u = uri.replace(/\\/g, "/").replace(/^file:\/\//, "");
  const folder = offlineFolder?.replace(/\\/g, "/").replace(/\/$/, "");
  if (folder && u.startsWith(`${folder}/`)) return u.slice(folder.length + 1);
  const i = u.indexOf("/data/");
  return i >= 0 ? u.slice(i + 1) : undefined;
}

async function runChecks(exp: ClearmlExpectations, src: Source, label: string): Promise<Check[]> {
  const checks: Check[] = [];
  const task = src.task;

  // summaries
  const stored = new Map<string, unknown>();
  for (const ev of src.scalarEvents)
    if (ev.metric === "Summary" && ev.iter === SUMMARY_ITER) stored.set(String(ev.variant), ev.value);
  for (const [name, v] of Object.entries(exp.summaries)) {
    const got = stored.get(name);
    const ok = typeof got === "number" && got === v;
    checks.push(check("summaries", `${label}${name}`, ok,
      got === undefined ? `no single value ${name} (ClearML keeps report_single_value as scalar "Summary"/${name} at iteration -2^31)` : ok ? "single value stored (scalar \"Summary\" at iteration -2^31, exact double)" : `single value ${name} differs`,
      v, got));
  }

  // text
  const logs = src.logs;
  if (exp.texts.length && !Array.isArray(logs)) checks.push(check("text", `${label}report_text`, false, `${exp.texts.length} text(s) not compared: the console log could not be read: ${logs.unavailable}`));
  else if (exp.texts.length && Array.isArray(logs)) {
    const all = `\n${logs.join("\n")}\n`;
    exp.texts.forEach((t, i) => {
      const ok = all.includes(`\n${t}\n`);
      checks.push(check("text", `${label}report_text#${i + 1}`, ok, ok ? `"${short(t)}" is in the task's console log (log.jsonl)` : `"${short(t)}" is not in the task's console log`, t, ok ? t : null));
    });
  }

  // configuration
  const confs = (task.configuration ?? {}) as Record<string, Json>;
  for (const [name, c] of Object.entries(exp.configurations)) {
    const got = confs[name]?.value;
    const ok = got === c.text;
    checks.push(check("configuration", `${label}${name}`, ok,
      got === undefined ? `configuration ${name} is missing` : ok ? `stored text matches (${c.type === "dictionary" ? "the dict as ClearML's HOCON text" : "the file's text"})` : `configuration ${name} differs`,
      short(c.text, 200), typeof got === "string" ? short(got, 200) : got));
  }

  // debug images
  const imgEvents = src.imageEvents;
  if (exp.images.length && !Array.isArray(imgEvents)) checks.push(check("media", `${label}report_image`, false, `${exp.images.length} debug image(s) not compared: their events could not be read: ${imgEvents.unavailable}`));
  else if (exp.images.length && Array.isArray(imgEvents)) {
    const byPair = new Map<string, Json[]>();
    for (const e of imgEvents) byPair.set(`${e.metric}\0${e.variant}`, [...(byPair.get(`${e.metric}\0${e.variant}`) ?? []), e]);
    const used = new Map<string, number>();
    // The last event naming a file is the one whose bytes the file holds.
    const lastFor = new Map<string, Json>();
    for (const e of imgEvents) lastFor.set(String(e.url), e);
    const seen = new Map<string, number>();
    for (const img of exp.images) {
      const pair = `${img.title}\0${img.series}`;
      const n = (seen.get(`${pair}\0${img.iteration}`) ?? 0) + 1;
      seen.set(`${pair}\0${img.iteration}`, n);
      const name = `${label}${img.title}/${img.series}@${img.iteration}${n > 1 ? `#${n}` : ""}`;
      const i = used.get(pair) ?? 0;
      used.set(pair, i + 1);
      const ev = byPair.get(pair)?.[i];
      if (!ev) {
        checks.push(check("media", name, false, `no debug-image event for ${img.title}/${img.series} (the ${i + 1}th)`, img.iteration, null));
        continue;
      }
      if (ev.iter !== img.iteration) {
        checks.push(check("media", name, false, `debug-image event at iteration ${ev.iter}, expected ${img.iteration}`, img.iteration, ev.iter));
        continue;
      }
      if (lastFor.get(String(ev.url)) !== ev) {
        const later = lastFor.get(String(ev.url))!;
        checks.push(check("media", name, true, `event stored; its file ${String(ev.url).split("/").at(-1)} now holds the image of iteration ${later.iter} (ClearML reuses metrics.file_history_size file names per title/series)`, img.iteration, ev.iter));
        continue;
      }
      const f = await src.file(ev.url);
      if (!f) {
        checks.push(check("media", name, false, `the image file ${String(ev.url)} is not in ${src.where}`, img.sha256, null));
        continue;
      }
      const data = f.bytes;
      const ok = sha256(data) === img.sha256;
      checks.push(check("media", name, ok,
        ok ? `${data.length} bytes, sha256 matches (${img.source === "file" ? "the file as reported" : "the array as ClearML encodes it: uint8, PIL, metrics.images.format/quality"})` : `image bytes differ (sha256${data.length !== img.size ? `, ${data.length} != ${img.size} bytes` : ""})`,
        { size: img.size, sha256: img.sha256 }, { size: data.length, sha256: sha256(data) }));
    }
  }

  // uploaded objects
  const declared = ((task.execution?.artifacts ?? []) as Json[]).filter((a) => a && typeof a === "object");
  for (const o of exp.objects) checks.push(await objectCheck(o, declared, src, label));

  // output models
  const models = src.models;
  if (exp.models.length && !Array.isArray(models)) checks.push(check("models", `${label}models`, false, `${exp.models.length} model(s) not compared: the task's output models could not be read: ${models.unavailable}`));
  else if (Array.isArray(models)) {
    for (const [i, m] of exp.models.entries()) {
      const name = `${label}${m.name || m.file}${exp.models.length > 1 ? `#${i + 1}` : ""}`;
      if (!m.stored) {
        checks.push(check("models", name, false,
          `SDK failure, not e2e's: ClearML's own OutputModel.update_weights raised before storing ${m.file}${m.error ? ` (${m.error})` : ""}, so the task holds no model to verify${m.error?.includes("DummyModel") ? " (clearml 2.1.12 offline mode: the offline DummyModel has no 'locked'; store models against a server, or a ClearML release that fixes it)" : ""}`,
          { file: m.file, sha256: m.sha256 }, null));
        continue;
      }
      const entry = models.find((x) => x.file === m.file);
      const sameName = !m.name || entry?.name === m.name;
      checks.push(entry
        ? check("models", name, sameName, sameName ? `model entry "${entry.name ?? ""}" (${entry.framework ?? "no framework"}) in ${src.where}` : `the model entry for ${m.file} is named "${entry.name}"`, m.name, entry.name)
        : check("models", name, false, `no output model with weights ${m.file} in ${src.where}`, m.file, models.map((x) => x.file)));
      const data = entry ? await entry.bytes() : undefined;
      if (!entry) continue;
      if (!data) {
        checks.push(check("models", `${name}:weights`, false, `the weights file ${m.file} is not in ${src.where}`, m.sha256, null));
        continue;
      }
      const ok = sha256(data) === m.sha256;
      checks.push(check("models", `${name}:weights`, ok, ok ? `${data.length} bytes, sha256 matches` : "weights bytes differ", { size: m.size, sha256: m.sha256 }, { size: data.length, sha256: sha256(data) }));
    }
  }
  return checks;
}

async function objectCheck(o: ClearmlObject, declared: Json[], src: Source, label: string): Promise<Check> {
  const name = `${label}${o.name}`;
  const entry = declared.find((a) => a.key === o.name);
  if (!entry) return check("objects", name, false, `artifact ${o.name} is not in the task's execution.artifacts`, o.type, null);
  const stored = String(entry.uri ?? "").split("/").at(-1);
  if (stored !== o.file) return check("objects", name, false, `stored as ${stored}, ClearML serialises a ${o.type} as ${o.file}`, o.file, entry.uri);
  try {
    const f = await src.file(entry.uri);
    if (!f) return check("objects", name, false, `the stored file ${String(entry.uri)} cannot be read back`, o.file, null);
    const data = f.bytes;
    const p = f.path;
    if (o.type === "dict") {
      const ok = sha256(data) === o.sha256;
      return check("objects", name, ok, ok ? "the dict's JSON (json.dumps, indent=4, sort_keys) matches byte for byte" : "the stored JSON differs from the dict's", o.sha256, sha256(data));
    }
    if (o.type === "pandas") {
      const csv = gunzipSync(data);
      const ok = sha256(csv) === o.sha256;
      return check("objects", name, ok, ok ? "the DataFrame's CSV (DataFrame.to_csv, gunzipped from .csv.gz) matches" : "the stored CSV differs from the DataFrame's", o.sha256, sha256(csv));
    }
    if (o.type === "numpy") {
      const npz = await openZipBuffer(data, p);
      if (!npz.entries.has(o.member)) return check("objects", name, false, `the npz has no member ${o.member}`, o.member, [...npz.entries.keys()]);
      const npy = await npz.read(o.member);
      const ok = sha256(npy) === o.sha256;
      return check("objects", name, ok, ok ? `the array's .npy (member ${o.member} of the npz) matches byte for byte` : "the stored array differs", o.sha256, sha256(npy));
    }
    const zip = await openZipBuffer(data, p);
    const want = Object.keys(o.files).sort();
    const got = [...zip.entries.keys()].sort();
    const missing = want.filter((f) => !zip.entries.has(f));
    const extra = got.filter((f) => !(f in o.files));
    const changed: string[] = [];
    for (const f of want) if (zip.entries.has(f) && sha256(await zip.read(f)) !== o.files[f]!.sha256) changed.push(f);
    const ok = !missing.length && !extra.length && !changed.length;
    return check("objects", name, ok,
      ok ? `all ${want.length} files of the folder are in the zip ClearML stored, sha256 each` : [missing.length && `missing ${missing.join(", ")}`, extra.length && `unexpected ${extra.join(", ")}`, changed.length && `changed ${changed.join(", ")}`].filter(Boolean).join("; "),
      want, got);
  } catch (err) {
    return check("objects", name, false, `the stored ${o.type} cannot be read back: ${formatError(err)}`, o.file, null);
  }
}
