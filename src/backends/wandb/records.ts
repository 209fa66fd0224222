/**
 * Independent reader of W&B's `.wandb` transaction log (what `WANDB_MODE=offline` writes), checked
 * against wandb 0.31.0 (its Go core writes the file).
 *
 * Framing (LevelDB log style): a 7-byte file header `:W&B` + uint16 LE 0xBEE1 + uint8 version 0,
 * then 32 KiB blocks (the header counts toward block 0). Each chunk: uint32 LE CRC, uint16 LE
 * length, uint8 type (FULL=1 FIRST=2 MIDDLE=3 LAST=4), data. CRC = zlib CRC-32 of type byte + data
 * (not masked, not CRC32C). A chunk never crosses a block; fewer than 7 bytes left in a block are
 * zero padding. Each reassembled payload is one `wandb_internal.Record` protobuf.
 *
 * Field numbers (from wandb/proto/wandb_internal_pb2 of 0.31.0):
 *  Record: num=1, history=2, summary=3, output=4, config=5, files=6, stats=7, artifact=8,
 *    telemetry=11, metric=12, output_raw=13, control=16, run=17, exit=18, uuid=19, final=20,
 *    header=21, footer=22, environment=26, request=100, _info=200.
 *  RunRecord: run_id=1 entity=2 project=3 config=4 summary=5 run_group=6 job_type=7
 *    display_name=8 notes=9 tags=10(rep) host=13 starting_step=14 start_time=17(Timestamp)
 *    resumed=18 git=21(GitRepoRecord remote_url=1 commit=2).
 *  HistoryRecord: item=1(rep HistoryItem) step=2(HistoryStep num=1).
 *  HistoryItem: key=1 nested_key=2(rep) value oneof {none=3 boolean=4 integer=5(sint64)
 *    number=6(double) text=7 json=8} value_json=16. 0.31.0 writes only nested_key + value_json.
 *  SummaryRecord/ConfigRecord: update=1 remove=2 (rep SummaryItem/ConfigItem key=1 nested_key=2
 *    value_json=16). FilesRecord: files=1 (FilesItem path=1 policy=2 NOW/END/LIVE
 *    type=3 OTHER/WANDB/MEDIA/ARTIFACT). RunExitRecord: exit_code=1 runtime=2 not_complete=3.
 *  ArtifactRecord: run_id=1 project=2 entity=3 type=4 name=5 digest=6 aliases=11(rep)
 *    manifest=12 finalize=14 client_id=15 sequence_client_id=16 digest_algorithm=20
 *    ("MANIFEST_MD5" or "MANIFEST_XXH128"). ArtifactManifest: version=1 storage_policy=2
 *    contents=4(rep ArtifactManifestEntry path=1 digest=2 ref=3 size=4(int64) local_path=6).
 *  UseArtifactRecord: id=1 type=2 name=3. TBRecord: log_dir=1 save=2 root_dir=3.
 *  HeaderRecord: version_info=1 {producer=1 min_consumer=2}. EnvironmentRecord: program=6
 *    code_path=7 git=9 root=11 host=12 executable=14 python=2 os=1.
 */
import { open } from "node:fs/promises";
import { crc32 } from "../../util/crc32.ts";
import { gcPacer } from "../../util/gc-pace.ts";
import { FieldCursor, FormatError, ProtoMessage } from "../../util/protobuf.ts";

export const WANDB_BLOCK_SIZE = 32 * 1024;
export const WANDB_HEADER_SIZE = 7;
const CHUNK_HEADER = 7;
export const ChunkType = { full: 1, first: 2, middle: 3, last: 4 } as const;

/** One reassembled payload and the offset of its first chunk header in the file. */
export interface WandbPayload {
  offset: number;
  data: Uint8Array;
}

/** Checks the file header and yields every reassembled record payload; throws FormatError. */
export function* iterateWandbLog(buf: Uint8Array, file?: string): Generator<WandbPayload> {
  const framer = new WandbFramer(file);
  yield* framer.chunk(buf, true);
}

/**
 * The framing above over a file read in pieces: each piece starts at a block boundary (so no
 * chunk header is ever cut), a fragmented record's parts are kept across pieces. Offsets are the
 * file's. A piece's bytes must not be reused after it is passed in (payloads may point into them).
 */
export class WandbFramer {
  private base = 0;
  private parts: Uint8Array[] | undefined;
  private partsStart = 0;
  constructor(private file?: string) {}

  *chunk(buf: Uint8Array, last: boolean): Generator<WandbPayload> {
    const file = this.file;
    const base = this.base;
    if (base % WANDB_BLOCK_SIZE !== 0) throw new Error("a .wandb piece must start at a block boundary");
    if (!last && buf.length % WANDB_BLOCK_SIZE !== 0) throw new Error("a .wandb piece other than the last must be whole blocks");
    let off = 0;
    if (base === 0) {
      if (buf.length < WANDB_HEADER_SIZE) throw new FormatError(`file header truncated (${buf.length} bytes)`, 0, file);
      const magic = String.fromCharCode(buf[0]!, buf[1]!, buf[2]!, buf[3]!);
      const ident = buf[4]! | (buf[5]! << 8);
      if (magic !== ":W&B" || ident !== 0xbee1) throw new FormatError("not a .wandb file (bad magic)", 0, file);
      if (buf[6] !== 0) throw new FormatError(`unsupported .wandb version ${buf[6]}`, 6, file);
      off = WANDB_HEADER_SIZE;
    }
    const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    while (off < buf.length) {
      const leftInBlock = WANDB_BLOCK_SIZE - ((base + off) % WANDB_BLOCK_SIZE);
      if (leftInBlock < CHUNK_HEADER) {
        const end = Math.min(off + leftInBlock, buf.length);
        for (let i = off; i < end; i++) {
          if (buf[i] !== 0) throw new FormatError("non-zero block padding", base + i, file);
        }
        off = end;
        continue;
      }
      if (off + CHUNK_HEADER > buf.length) throw new FormatError("truncated chunk header", base + off, file);
      const crc = dv.getUint32(off, true);
      const len = dv.getUint16(off + 4, true);
      const type = buf[off + 6]!;
      if (type < 1 || type > 4) throw new FormatError(`bad chunk type ${type}`, base + off, file);
      if (CHUNK_HEADER + len > leftInBlock) throw new FormatError(`chunk of ${len} bytes crosses a block boundary`, base + off, file);
      if (off + CHUNK_HEADER + len > buf.length) throw new FormatError(`truncated chunk (${len} bytes declared)`, base + off, file);
      const data = buf.subarray(off + CHUNK_HEADER, off + CHUNK_HEADER + len);
      const actual = crc32(data, crc32(buf.subarray(off + 6, off + 7)));
      if (actual !== crc) {
        throw new FormatError(`CRC mismatch (stored ${hex(crc)}, computed ${hex(actual)})`, base + off, file);
      }
      switch (type) {
        case ChunkType.full:
          if (this.parts) throw new FormatError("FULL chunk inside a fragmented record", base + off, file);
          yield { offset: base + off, data };
          break;
        case ChunkType.first:
          if (this.parts) throw new FormatError("FIRST chunk inside a fragmented record", base + off, file);
          this.parts = [data];
          this.partsStart = base + off;
          break;
        case ChunkType.middle:
          if (!this.parts) throw new FormatError("MIDDLE chunk without a FIRST", base + off, file);
          this.parts.push(data);
          break;
        case ChunkType.last: {
          if (!this.parts) throw new FormatError("LAST chunk without a FIRST", base + off, file);
          this.parts.push(data);
          yield { offset: this.partsStart, data: concat(this.parts) };
          this.parts = undefined;
          break;
        }
      }
      off += CHUNK_HEADER + len;
    }
    this.base = base + buf.length;
    if (last && this.parts) throw new FormatError("truncated: record has FIRST but no LAST chunk", this.partsStart, file);
  }
}

const hex = (n: number) => `0x${n.toString(16).padStart(8, "0")}`;

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Decoded records

/** A history/summary/config item. `path` = key when set, else nested_key (0.31.0 uses nested_key). */
export interface WandbItem {
  key: string;
  nestedKey: string[];
  path: string[];
  /** JSON text as W&B wrote it; non-finite numbers appear as bare NaN / Infinity / -Infinity. */
  valueJson: string;
}

export interface WandbRunRecord {
  offset: number;
  runId: string;
  entity?: string;
  project?: string;
  group?: string;
  jobType?: string;
  displayName?: string;
  notes?: string;
  tags: string[];
  host?: string;
  startingStep?: number;
  /** Seconds since the epoch. */
  startTime?: number;
  resumed?: boolean;
  config: WandbItem[];
  git?: { remoteUrl?: string; commit?: string };
}

export interface WandbHistoryRow {
  offset: number;
  /** HistoryRecord.step.num (W&B's own `_step`), when written. */
  step?: number;
  items: WandbItem[];
}

export interface WandbUpdate {
  offset: number;
  update: WandbItem[];
  remove: WandbItem[];
}

export interface WandbFileItem {
  path: string;
  /** 0 NOW, 1 END, 2 LIVE. */
  policy: number;
  /** 0 OTHER, 1 WANDB (the SDK's own file), 2 MEDIA, 3 ARTIFACT. */
  type: number;
}

/** One file of a W&B Artifact as its manifest lists it. */
export interface WandbManifestEntry {
  path: string;
  /** md5 of the bytes, base64 (MANIFEST_MD5); the reference URI itself for a reference. */
  digest: string;
  /** Set for add_reference entries: W&B holds no bytes, only this URI. */
  ref?: string;
  size?: number;
  /** The staged copy W&B uploads from (offline: it stays until `wandb sync`). */
  localPath?: string;
}

export interface WandbArtifactRecord {
  offset: number;
  runId: string;
  type: string;
  name: string;
  /** The manifest digest W&B computed (hex). */
  digest: string;
  digestAlgorithm?: string;
  aliases: string[];
  clientId?: string;
  sequenceClientId?: string;
  storagePolicy?: string;
  entries: WandbManifestEntry[];
}

export interface WandbUseArtifact {
  offset: number;
  id?: string;
  type?: string;
  name?: string;
}

export interface WandbTbRecord {
  offset: number;
  logDir: string;
  rootDir?: string;
  save: boolean;
}

export interface WandbExitRecord {
  offset: number;
  exitCode: number;
  runtime?: number;
  notComplete: boolean;
}

export interface WandbEnvironment {
  os?: string;
  python?: string;
  program?: string;
  codePath?: string;
  root?: string;
  host?: string;
  executable?: string;
  git?: { remoteUrl?: string; commit?: string };
}

export interface WandbRecords {
  header?: { producer?: string; minConsumer?: string };
  run?: WandbRunRecord;
  history: WandbHistoryRow[];
  summaries: WandbUpdate[];
  configs: WandbUpdate[];
  files: WandbFileItem[];
  exit?: WandbExitRecord;
  environment: WandbEnvironment[];
  artifacts: WandbArtifactRecord[];
  useArtifacts: WandbUseArtifact[];
  tensorboard: WandbTbRecord[];
  /** Record type name (or "field<N>") -> how many records of it. */
  counts: Record<string, number>;
}

const RECORD_NAMES: Record<number, string> = {
  2: "history", 3: "summary", 4: "output", 5: "config", 6: "files", 7: "stats", 8: "artifact",
  9: "tbrecord", 10: "alert", 11: "telemetry", 12: "metric", 13: "output_raw", 17: "run", 18: "exit",
  20: "final", 21: "header", 22: "footer", 23: "preempting", 24: "noop_link_artifact",
  25: "use_artifact", 26: "environment", 27: "output_logger", 100: "request",
};
const ONEOF_FIELDS = Object.keys(RECORD_NAMES).map(Number);

function item(m: ProtoMessage): WandbItem {
  const key = m.string(1) ?? "";
  const nestedKey = m.strings(2);
  let valueJson = m.string(16) ?? "";
  if (valueJson === "") {
    // HistoryItem's typed oneof (none=3 boolean=4 integer=5 sint64 number=6 text=7 json=8).
    if (m.has(3)) valueJson = "null";
    else if (m.has(4)) valueJson = String(m.bool(4));
    else if (m.has(5)) valueJson = String(m.sint(5));
    else if (m.has(6)) valueJson = jsonNumber(m.double(6)!);
    else if (m.has(7)) valueJson = JSON.stringify(m.string(7));
    else if (m.has(8)) valueJson = m.string(8)!;
  }
  return { key, nestedKey, path: key !== "" ? [key] : nestedKey, valueJson };
}

const jsonNumber = (n: number) => (Number.isNaN(n) ? "NaN" : n === Infinity ? "Infinity" : n === -Infinity ? "-Infinity" : String(n));

function update(m: ProtoMessage, offset: number): WandbUpdate {
  return { offset, update: m.messages(1).map(item), remove: m.messages(2).map(item) };
}

function git(m: ProtoMessage | undefined): { remoteUrl?: string; commit?: string } | undefined {
  if (!m) return undefined;
  return { remoteUrl: m.string(1) || undefined, commit: m.string(2) || undefined };
}

export interface WandbReadOptions {
  /**
   * Each history row as it is decoded, in file order; history rows are then not kept in
   * `history` (a run's millions of points never held as records at once).
   */
  onHistory?: (row: WandbHistoryRow, sofar: WandbRecords) => void;
  /** Each summary update as decoded (W&B writes one after every history row); then not kept. */
  onSummary?: (update: WandbUpdate) => void;
}

/** Decodes every record of a `.wandb` file held in memory. Throws FormatError naming the offset. */
export function parseWandbRecords(buf: Uint8Array, file?: string, o: WandbReadOptions = {}): WandbRecords {
  const out = emptyRecords();
  for (const p of iterateWandbLog(buf, file)) decodeRecord(p, out, file, o);
  return out;
}

const emptyRecords = (): WandbRecords => ({ history: [], summaries: [], configs: [], files: [], environment: [], artifacts: [], useArtifacts: [], tensorboard: [], counts: {} });

const IS_ONEOF = new Set(ONEOF_FIELDS);

/**
 * A HistoryItem/SummaryItem read with a FieldCursor (the hot path: every history row and summary
 * update); an item with no value_json goes to item() for its typed oneof. Same fields, same
 * rules: the last key and value_json win, every nested_key is kept, wrong wire types throw.
 */
function fastItem(c: FieldCursor): WandbItem {
  let key = "", valueJson = "", typed = false;
  let nestedKey: string[] | undefined;
  while (c.next()) {
    switch (c.no) {
      case 1:
        c.expect(2);
        key = c.name();
        break;
      case 2:
        c.expect(2);
        (nestedKey ??= []).push(c.name());
        break;
      case 16:
        c.expect(2);
        valueJson = c.string();
        break;
      default:
        if (c.no >= 3 && c.no <= 8) typed = true;
    }
  }
  if (valueJson === "" && typed) return item(c.whole());
  const nk = nestedKey ?? [];
  return { key, nestedKey: nk, path: key !== "" ? [key] : nk, valueJson };
}

/** One item field of a HistoryRecord or SummaryRecord, decoded onto `into`. */
function fastItems(c: FieldCursor, into: WandbItem[]): void {
  c.expect(2);
  into.push(fastItem(c.message()));
}

/** A history record (kind 2) by cursor: items=1, step=2 (HistoryStep num=1). */
function fastHistory(m: FieldCursor, offset: number): WandbHistoryRow {
  const items: WandbItem[] = [];
  let step: number | undefined;
  while (m.next()) {
    if (m.no === 1) fastItems(m, items);
    else if (m.no === 2) {
      m.expect(2);
      const s = m.message();
      let num: number | undefined;
      while (s.next()) if (s.no === 1) {
        s.expect(0);
        num = s.int();
      }
      step = num ?? 0;
    }
  }
  return { offset, step, items };
}

/** A summary record (kind 3) by cursor: update=1, remove=2. */
function fastUpdate(m: FieldCursor, offset: number): WandbUpdate {
  const u: WandbUpdate = { offset, update: [], remove: [] };
  while (m.next()) {
    if (m.no === 1) fastItems(m, u.update);
    else if (m.no === 2) fastItems(m, u.remove);
  }
  return u;
}

function decodeRecord({ offset, data }: WandbPayload, out: WandbRecords, file: string | undefined, o: WandbReadOptions): void {
  {
    // The record_type oneof: the last oneof field present wins, as protobuf parsers do. Found by
    // cursor; history and summary records (most of a log) are decoded by cursor too.
    const c = new FieldCursor(data, offset + CHUNK_HEADER, file);
    let kind: number | undefined, start = 0, end = 0, base = 0;
    let wrongWire: Map<number, FormatError> | undefined;
    while (c.next()) {
      if (!IS_ONEOF.has(c.no)) continue;
      kind = c.no;
      if (c.wire !== 2) {
        wrongWire ??= new Map();
        if (!wrongWire.has(c.no)) wrongWire.set(c.no, new FormatError(`field ${c.no} has wire type ${c.wire}, expected 2`, c.offset, file));
        continue;
      }
      start = c.start;
      end = c.end;
      base = c.base + c.start;
    }
    const name = kind === undefined ? "none" : RECORD_NAMES[kind]!;
    out.counts[name] = (out.counts[name] ?? 0) + 1;
    if (kind === undefined) return;
    if (wrongWire?.has(kind)) throw wrongWire.get(kind)!;
    if (kind === 2 || kind === 3) {
      const m = new FieldCursor(data, offset + CHUNK_HEADER, file, start, end);
      if (kind === 2) {
        const row = fastHistory(m, offset);
        if (o.onHistory) o.onHistory(row, out);
        else out.history.push(row);
      } else if (o.onSummary) o.onSummary(fastUpdate(m, offset));
      else out.summaries.push(fastUpdate(m, offset));
      return;
    }
    const m = new ProtoMessage(data.subarray(start, end), base, file);
    switch (kind) {
      case 5:
        out.configs.push(update(m, offset));
        break;
      case 6:
        for (const f of m.messages(1)) out.files.push({ path: f.string(1) ?? "", policy: f.int(2) ?? 0, type: f.int(3) ?? 0 });
        break;
      case 8: {
        const man = m.message(12);
        out.artifacts.push({
          offset,
          runId: m.string(1) ?? "",
          type: m.string(4) ?? "",
          name: m.string(5) ?? "",
          digest: m.string(6) ?? "",
          digestAlgorithm: m.string(20) || undefined,
          aliases: m.strings(11),
          clientId: m.string(15) || undefined,
          sequenceClientId: m.string(16) || undefined,
          storagePolicy: man?.string(2) || undefined,
          entries: (man?.messages(4) ?? []).map((e) => ({
            path: e.string(1) ?? "",
            digest: e.string(2) ?? "",
            ref: e.string(3) || undefined,
            size: e.int(4),
            localPath: e.string(6) || undefined,
          })),
        });
        break;
      }
      case 9:
        out.tensorboard.push({ offset, logDir: m.string(1) ?? "", rootDir: m.string(3) || undefined, save: m.bool(2) ?? false });
        break;
      case 25:
        out.useArtifacts.push({ offset, id: m.string(1) || undefined, type: m.string(2) || undefined, name: m.string(3) || undefined });
        break;
      case 17: {
        const start = m.message(17);
        out.run = {
          offset,
          runId: m.string(1) ?? "",
          entity: m.string(2) || undefined,
          project: m.string(3) || undefined,
          group: m.string(6) || undefined,
          jobType: m.string(7) || undefined,
          displayName: m.string(8) || undefined,
          notes: m.string(9) || undefined,
          tags: m.strings(10),
          host: m.string(13) || undefined,
          startingStep: m.int(14),
          startTime: start ? (start.int(1) ?? 0) + (start.int(2) ?? 0) / 1e9 : undefined,
          resumed: m.bool(18),
          config: m.message(4)?.messages(1).map(item) ?? [],
          git: git(m.message(21)),
        };
        break;
      }
      case 18:
        out.exit = { offset, exitCode: m.int(1) ?? 0, runtime: m.int(2), notComplete: m.bool(3) ?? false };
        break;
      case 21: {
        const v = m.message(1);
        out.header = { producer: v?.string(1), minConsumer: v?.string(2) };
        break;
      }
      case 26:
        out.environment.push({
          os: m.string(1) || undefined,
          python: m.string(2) || undefined,
          program: m.string(6) || undefined,
          codePath: m.string(7) || undefined,
          git: git(m.message(9)),
          root: m.string(11) || undefined,
          host: m.string(12) || undefined,
          executable: m.string(14) || undefined,
        });
        break;
    }
  }
}

const PIECE = 128 * WANDB_BLOCK_SIZE; // 4 MiB read at a time

/** Reads and decodes a `.wandb` file piece by piece (memory: a piece, plus what is kept). */
export async function readWandbRecords(path: string, o: WandbReadOptions = {}): Promise<WandbRecords> {
  const out = emptyRecords();
  const framer = new WandbFramer(path);
  const fh = await open(path, "r");
  // The spent pieces are garbage the collector, sizing its heap by the live columns, would
  // otherwise let pile up (about 600 MB early in a 2.75 GB log).
  const pace = gcPacer();
  try {
    for (;;) {
      const buf = new Uint8Array(PIECE); // fresh each time: payloads may point into it
      let n = 0;
      while (n < PIECE) {
        const { bytesRead } = await fh.read(buf, n, PIECE - n, null);
        if (!bytesRead) break;
        n += bytesRead;
      }
      const last = n < PIECE;
      for (const p of framer.chunk(buf.subarray(0, n), last)) decodeRecord(p, out, path, o);
      pace(n);
      if (last) break;
    }
  } finally {
    await fh.close();
  }
  return out;
}
