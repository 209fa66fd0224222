/**
 * Independent reader of TensorBoard event files (TFRecord framing), no TensorFlow needed.
 *
 * Record: uint64 LE length, uint32 LE masked CRC-32C of the 8 length bytes, data, uint32 LE
 * masked CRC-32C of the data. Both CRCs are verified. Data = tensorflow.Event:
 *   wall_time=1 double, step=2 int64, file_version=3 string, summary=5 Summary{value=1 repeated
 *   Value{tag=1, simple_value=2 float, tensor=8 TensorProto, metadata=9 SummaryMetadata
 *   {plugin_data=1 {plugin_name=1}}}}.
 *   TensorProto: dtype=1 (1 DT_FLOAT, 2 DT_DOUBLE), tensor_shape=2, tensor_content=4,
 *   float_val=5, double_val=6.
 * Scalars: `simple_value` (what torch's SummaryWriter.add_scalar writes: float32, compare with
 * float32 rounding), or a one-element float/double tensor for a tag whose metadata names the
 * "scalars" plugin (TF2 / tensorboard.summary v2 style; metadata usually comes only with the first
 * event of a tag, so the plugin is remembered per file and tag).
 */
import { open, readdir } from "node:fs/promises";
import { SeriesBuilder, type Series } from "./series.ts";
import { existsSync } from "node:fs";
import { isAbsolute, join, relative } from "node:path";
import type { ManifestRun } from "./manifest.ts";
import type { ObservedRun } from "./observed.ts";
import { formatError } from "../util/errors.ts";
import { maskedCrc32c, maskedCrc32cRange } from "../util/crc32c.ts";
import { gcPacer } from "../util/gc-pace.ts";
import { FieldCursor, FormatError, ProtoMessage } from "../util/protobuf.ts";

export interface ScalarPoint {
  step: number;
  value: number;
  wallTime: number;
}

export interface TfRecord {
  offset: number;
  data: Uint8Array;
}

/** Splits a TFRecord file into records, verifying both masked CRC-32Cs. */
export function* iterateTfRecords(buf: Uint8Array, file?: string): Generator<TfRecord> {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let off = 0;
  while (off < buf.length) {
    if (off + 12 > buf.length) throw new FormatError("truncated record header", off, file);
    const lenLo = dv.getUint32(off, true);
    const lenHi = dv.getUint32(off + 4, true);
    const lenCrc = dv.getUint32(off + 8, true);
    if (maskedCrc32cRange(buf, off, off + 8) !== lenCrc) throw new FormatError("length CRC-32C mismatch", off, file);
    const len = lenHi * 2 ** 32 + lenLo;
    if (len > buf.length - off - 16) throw new FormatError(`truncated record (${len} bytes declared)`, off, file);
    const dataCrc = dv.getUint32(off + 12 + len, true);
    if (maskedCrc32cRange(buf, off + 12, off + 12 + len) !== dataCrc) throw new FormatError("data CRC-32C mismatch", off, file);
    yield { offset: off, data: buf.subarray(off + 12, off + 12 + len) };
    off += 16 + len;
  }
}

export interface TbEvent {
  offset: number;
  wallTime: number;
  step: number;
  fileVersion?: string;
  /** Scalar values in this event: tag -> value. */
  scalars: { tag: string; value: number }[];
}

/** Decodes the events of one file's bytes. `scalarTags` carries plugin knowledge across events. */
export function parseEventFile(buf: Uint8Array, file?: string): TbEvent[] {
  const scalarTags = new Map<string, boolean>();
  const events: TbEvent[] = [];
  for (const { offset, data } of iterateTfRecords(buf, file)) events.push(decodeEvent(data, offset, file, scalarTags));
  return events;
}

function decodeEvent(data: Uint8Array, offset: number, file: string | undefined, scalarTags: Map<string, boolean>): TbEvent {
  const out: TbEvent = { offset, wallTime: 0, step: 0, scalars: [] };
  eventScalars(data, offset, file, scalarTags, out, (tag, value) => void out.scalars.push({ tag, value }));
  return out;
}

/**
 * One Event's fields into `head` (wall time, step, file version) and each scalar to `fn`, walked
 * with a FieldCursor (no object per field). The rules are ProtoMessage's: the last occurrence of a
 * field wins, a field read with another wire type is a FormatError; tensors and plugin metadata
 * (TF2 style, rare) are read with ProtoMessage.
 */
function eventScalars(data: Uint8Array, offset: number, file: string | undefined, scalarTags: Map<string, boolean>, head: TbEvent, fn: (tag: string, value: number) => void): void {
  const ev = new FieldCursor(data, offset + 12, file);
  let summary: FieldCursor | undefined;
  while (ev.next()) {
    switch (ev.no) {
      case 1:
        ev.expect(1);
        head.wallTime = ev.double();
        break;
      case 2:
        ev.expect(0);
        head.step = ev.int();
        break;
      case 3:
        ev.expect(2);
        head.fileVersion = ev.string();
        break;
      case 5:
        ev.expect(2);
        summary = ev.message();
        break;
    }
  }
  if (!summary) return;
  while (summary.next()) {
    if (summary.no !== 1) continue;
    summary.expect(2);
    const v = summary.message();
    let tag = "", simple: number | undefined, tensor: FieldCursor | undefined, meta: FieldCursor | undefined;
    while (v.next()) {
      switch (v.no) {
        case 1:
          v.expect(2);
          tag = v.name();
          break;
        case 2:
          v.expect(5);
          simple = v.float();
          break;
        case 8:
          v.expect(2);
          tensor = v.message();
          break;
        case 9:
          v.expect(2);
          meta = v.message();
          break;
      }
    }
    if (meta) {
      const plugin = meta.whole().message(1)?.string(1);
      if (plugin !== undefined) scalarTags.set(tag, plugin === "scalars");
    }
    if (simple !== undefined) {
      fn(tag, simple);
      continue;
    }
    if (!tensor || scalarTags.get(tag) !== true) continue;
    const value = tensorScalar(tensor.whole());
    if (value !== undefined) fn(tag, value);
  }
}

const PIECE = 4 << 20;

/**
 * The records of one event file read piece by piece (memory: a piece, or the largest record),
 * each handed to `fn` as a view into the piece (valid only during the call). Framing and its
 * errors are iterateTfRecords', with the file's offsets.
 */
async function eachTfRecord(path: string, fn: (offset: number, data: Uint8Array) => void): Promise<void> {
  const fh = await open(path, "r");
  try {
    let buf = new Uint8Array(PIECE);
    let have = 0; // bytes in buf
    let base = 0; // file offset of buf[0]
    let eof = false;
    const frame = (from: number, to: number) => {
      const records = iterateTfRecords(buf.subarray(from, to), path);
      for (;;) {
        let r: IteratorResult<TfRecord>;
        try {
          r = records.next();
        } catch (err) {
          // Framing errors name the file's offset; errors of fn (decoding) already do.
          if (err instanceof FormatError) throw new FormatError(err.what, base + from + err.offset, path);
          throw err;
        }
        if (r.done) return;
        fn(base + from + r.value.offset, r.value.data);
      }
    };
    const pace = gcPacer();
    for (;;) {
      if (!eof && have < buf.length) {
        const { bytesRead } = await fh.read(buf, have, buf.length - have, null);
        pace(bytesRead);
        if (!bytesRead) eof = true;
        have += bytesRead;
      }
      // Every whole record of the piece at once (one framing pass, CRCs checked).
      let used = 0;
      const dv = new DataView(buf.buffer, 0, have);
      while (have - used >= 12) {
        const len = dv.getUint32(used + 4, true) * 2 ** 32 + dv.getUint32(used, true);
        if (used + 16 + len > have) break;
        used += 16 + len;
      }
      if (used) frame(0, used);
      if (eof) {
        if (used < have) frame(used, have); // a truncated record: throws naming it
        return;
      }
      if (used === 0 && have === buf.length) {
        // One record longer than the buffer: a wrong length fails its CRC here, else make room.
        if (maskedCrc32c(buf.subarray(0, 8)) !== dv.getUint32(8, true)) throw new FormatError("length CRC-32C mismatch", base, path);
        const len = dv.getUint32(4, true) * 2 ** 32 + dv.getUint32(0, true);
        const bigger = new Uint8Array(16 + len);
        bigger.set(buf.subarray(0, have));
        buf = bigger;
        continue;
      }
      buf.copyWithin(0, used, have);
      have -= used;
      base += used;
    }
  } finally {
    await fh.close();
  }
}

/**
 * The scalars of every event file under `dir`, as readEventFiles names them, into columns
 * (Series: step, value, wall time in ms), decoded record by record: no object per event.
 * `wallTimes: false` keeps no time column (the checks compare steps and values only).
 * `like` (see below) makes points that repeat the expected ones cost no memory.
 */
export async function readEventSeries(dir: string, o: { wallTimes?: boolean; like?: (tag: string) => Series | undefined } = {}): Promise<Record<string, Series>> {
  const builders = new Map<string, SeriesBuilder>();
  const times = o.wallTimes !== false;
  await eachScalar(dir, (tag, step, value, wallTime) => {
    let b = builders.get(tag);
    if (!b) {
      // `like`: the series a tag is expected to repeat (the manifest's); points equal to it at
      // float32, the precision TensorBoard keeps, cost nothing (SeriesBuilderOptions.like).
      const ref = o.like?.(tag);
      builders.set(tag, (b = new SeriesBuilder(ref ? Math.max(1, ref.length) : 1024, { timestamps: times, ...(ref ? { like: { series: ref, float32: true } } : {}) })));
    }
    b.push(step, value, wallTime * 1000);
  });
  return Object.fromEntries([...builders].map(([k, b]) => [k, b.finish()]));
}

/**
 * Every scalar of every event file under `dir` (in name order, then record order), its tag
 * prefixed with the file's folder relative to `dir` ("sub/tag"), decoded record by record.
 */
async function eachScalar(dir: string, fn: (tag: string, step: number, value: number, wallTime: number) => void): Promise<void> {
  for (const file of await findEventFiles(dir)) {
    const rel = relative(dir, join(file, ".."));
    const prefix = rel === "" ? "" : `${rel.split("\\").join("/")}/`;
    const scalarTags = new Map<string, boolean>();
    const head: TbEvent = { offset: 0, wallTime: 0, step: 0, scalars: [] };
    await eachTfRecord(file, (offset, data) => {
      head.wallTime = head.step = 0;
      // The event's fields are all read before its scalars are handed on (eventScalars).
      eventScalars(data, offset, file, scalarTags, head, (tag, value) => fn(prefix ? prefix + tag : tag, head.step, value, head.wallTime));
    });
  }
}

function tensorScalar(t: ProtoMessage): number | undefined {
  const dtype = t.int(1);
  const content = t.bytes(4);
  if (dtype === 1) {
    const vals = t.floats(5);
    if (vals.length === 1) return vals[0];
    if (content?.length === 4) return new DataView(content.buffer, content.byteOffset, 4).getFloat32(0, true);
  } else if (dtype === 2) {
    const vals = t.doubles(6);
    if (vals.length === 1) return vals[0];
    if (content?.length === 8) return new DataView(content.buffer, content.byteOffset, 8).getFloat64(0, true);
  }
  return undefined;
}

/** The run's event folder (absolute): run.tensorboardDir, relative to the workflow's folder. */
export const eventDirOf = (run: ManifestRun, workDir: string): string | undefined =>
  run.tensorboardDir && (isAbsolute(run.tensorboardDir) ? run.tensorboardDir : join(workDir, run.tensorboardDir));

/** A run's event folder as read with the run (before its backend's log): its scalars, or why they could not be read. */
export interface EventsRead {
  dir?: string;
  events?: Record<string, Series>;
  error?: string;
}

/**
 * The run's event files (steps and values: no check reads their times), when it wrote some.
 * `like`: see readEventSeries (points repeating the manifest's cost nothing).
 */
export async function readRunEvents(run: ManifestRun, workDir: string, like?: (tag: string) => Series | undefined): Promise<EventsRead | undefined> {
  const dir = eventDirOf(run, workDir);
  if (!dir || !existsSync(dir)) return undefined;
  try {
    return { dir, events: await readEventSeries(dir, { wallTimes: false, ...(like ? { like } : {}) }) };
  } catch (err) {
    return { dir, error: formatError(err) };
  }
}

/** The event folders read with the runs (kept in obs.extra[key]), for the event-file check (Verification.eventFiles). */
export function eventFilesRead(observed: Record<string, ObservedRun>, key: string): Map<string, Record<string, Series>> {
  const out = new Map<string, Record<string, Series>>();
  for (const obs of Object.values(observed)) {
    const read = obs.extra?.[key] as EventsRead | undefined;
    if (read?.dir && read.events) out.set(read.dir, read.events);
  }
  return out;
}

export async function findEventFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const entries = await readdir(dir, { withFileTypes: true });
  for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await findEventFiles(p)));
    else if (e.name.includes("tfevents")) out.push(p);
  }
  return out;
}

/**
 * Reads every `events.out.tfevents.*` file under `dir` (recursively, in name order) into
 * tag -> points, in file then record order. Tags from files in a subfolder are prefixed with
 * that folder's path relative to `dir` ("sub/tag"), as TensorBoard shows them as separate runs.
 * A corrupt or truncated file throws a FormatError naming the file and offset.
 */
export async function readEventFiles(dir: string): Promise<Record<string, ScalarPoint[]>> {
  const out: Record<string, ScalarPoint[]> = {};
  await eachScalar(dir, (tag, step, value, wallTime) => void (out[tag] ??= []).push({ step, value, wallTime }));
  return out;
}
