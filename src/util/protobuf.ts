/**
 * A small protobuf wire-format decoder (no schema, no dependency), enough to read W&B's
 * `wandb_internal.Record` and TensorBoard's `Event` by field number.
 *
 * Wire types: 0 varint, 1 fixed64, 2 length-delimited, 5 fixed32. Groups (3/4) are deprecated
 * and rejected. Every malformed input throws a FormatError naming the offset; nothing here can
 * throw a TypeError/RangeError on hostile bytes or loop forever (each step consumes input).
 */
import { E2EError, ExitCode } from "./errors.ts";

/** A file or payload that does not parse: names the file (when known) and the byte offset. */
export class FormatError extends E2EError {
  constructor(
    readonly what: string,
    readonly offset: number,
    readonly file?: string,
  ) {
    super(`${file ? `${file}: ` : ""}${what} at offset ${offset}`, undefined, ExitCode.backend);
    this.name = "FormatError";
  }
}

export const WireType = { varint: 0, fixed64: 1, bytes: 2, fixed32: 5 } as const;

export interface ProtoField {
  no: number;
  wire: number;
  /** Offset of the field's tag in the outermost buffer (for error messages). */
  offset: number;
  /** wire 0: the raw unsigned 64-bit value. */
  readonly varint?: bigint;
  /** wire 0: the value as a number when it is below 2^53 (exact), else undefined (see varint). */
  num?: number;
  /** wire 1, 2, 5: the bytes (a view, not a copy). */
  bytes?: Uint8Array;
}

/** A field as parseFields makes it: a varint below 2^53 kept as a number, a BigInt made only when asked. */
class Field implements ProtoField {
  num?: number;
  big?: bigint;
  bytes?: Uint8Array;
  constructor(readonly no: number, readonly wire: number, readonly offset: number) {}
  get varint(): bigint | undefined {
    return this.big ?? (this.num === undefined ? undefined : BigInt(this.num));
  }
}

// The varint just read by varintAt: its value as a number when exact (< 2^53) else -1 with the
// BigInt in vBig, and the position after it. Module state, so reading one allocates nothing.
let vNum = 0, vPos = 0;
let vBig: bigint | undefined;

/** Reads one varint at `pos` into vNum/vBig/vPos (bytes past the 7th take the BigInt path). */
function varintAt(buf: Uint8Array, pos: number, base: number, file: string | undefined, limit = buf.length): void {
  let n = 0, mul = 1;
  for (let i = 0; i < 7; i++) {
    if (pos + i >= limit) throw new FormatError("truncated varint", base + pos + i, file);
    const b = buf[pos + i]!;
    n += (b & 0x7f) * mul;
    if ((b & 0x80) === 0) {
      vNum = n;
      vBig = undefined;
      vPos = pos + i + 1;
      return;
    }
    mul *= 128;
  }
  const [v, p] = readVarint(limit === buf.length ? buf : buf.subarray(0, limit), pos, base, file);
  vPos = p;
  if (v < 2n ** 53n) {
    vNum = Number(v);
    vBig = undefined;
  } else {
    vNum = -1;
    vBig = v;
  }
}

const utf8 = new TextDecoder("utf-8");

/** Reads one varint at `pos`; returns [value, next position]. */
export function readVarint(buf: Uint8Array, pos: number, base = 0, file?: string): [bigint, number] {
  let result = 0n;
  let shift = 0n;
  for (let i = 0; i < 10; i++) {
    if (pos >= buf.length) throw new FormatError("truncated varint", base + pos, file);
    const b = buf[pos++]!;
    result |= BigInt(b & 0x7f) << shift;
    if ((b & 0x80) === 0) return [BigInt.asUintN(64, result), pos];
    shift += 7n;
  }
  throw new FormatError("varint longer than 10 bytes", base + pos, file);
}

/** Splits a message into its fields, in wire order. `base` is the message's offset in its file. */
export function parseFields(buf: Uint8Array, base = 0, file?: string): ProtoField[] {
  const fields: Field[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const start = pos;
    varintAt(buf, pos, base, file);
    pos = vPos;
    const tag = vBig ?? vNum;
    const no = typeof tag === "bigint" ? Number(tag >> 3n) : Math.floor(tag / 8);
    const wire = typeof tag === "bigint" ? Number(tag & 7n) : tag % 8;
    if (no === 0 || no > 0x1fffffff) throw new FormatError(`invalid field number ${no}`, base + start, file);
    const field = new Field(no, wire, base + start);
    switch (wire) {
      case 0: {
        varintAt(buf, pos, base, file);
        if (vBig === undefined) field.num = vNum;
        else field.big = vBig;
        pos = vPos;
        break;
      }
      case 1:
      case 5: {
        const n = wire === 1 ? 8 : 4;
        if (pos + n > buf.length) throw new FormatError(`truncated fixed${n * 8} field ${no}`, base + start, file);
        field.bytes = buf.subarray(pos, pos + n);
        pos += n;
        break;
      }
      case 2: {
        varintAt(buf, pos, base, file);
        pos = vPos;
        if (vBig !== undefined || vNum > buf.length - pos) {
          throw new FormatError(`length-delimited field ${no} runs past the end (${vBig ?? vNum} bytes)`, base + start, file);
        }
        field.bytes = buf.subarray(pos, pos + vNum);
        pos += vNum;
        break;
      }
      default:
        throw new FormatError(`unsupported wire type ${wire} for field ${no}`, base + start, file);
    }
    fields.push(field);
  }
  return fields;
}

/** A decoded message with typed accessors by field number. Scalars: the last occurrence wins. */
export class ProtoMessage {
  readonly fields: ProtoField[];

  constructor(
    readonly buf: Uint8Array,
    /** Offset of this message inside its file, for error messages. */
    readonly base = 0,
    readonly file?: string,
  ) {
    this.fields = parseFields(buf, base, file);
  }

  has(no: number): boolean {
    return this.fields.some((f) => f.no === no);
  }

  private last(no: number, wire: number): ProtoField | undefined {
    let found: ProtoField | undefined;
    for (const f of this.fields) {
      if (f.no !== no) continue;
      if (f.wire !== wire) throw new FormatError(`field ${no} has wire type ${f.wire}, expected ${wire}`, f.offset, this.file);
      found = f;
    }
    return found;
  }

  private all(no: number, wire: number): ProtoField[] {
    return this.fields.filter((f) => {
      if (f.no !== no) return false;
      if (f.wire !== wire) throw new FormatError(`field ${no} has wire type ${f.wire}, expected ${wire}`, f.offset, this.file);
      return true;
    });
  }

  private bytesOffset(f: ProtoField): number {
    // The payload starts after the tag and length varints; its position in buf gives the offset.
    const b = f.bytes!;
    return this.base + (b.byteOffset - this.buf.byteOffset);
  }

  /** Unsigned varint as a bigint (uint64), or undefined when absent. */
  uint64(no: number): bigint | undefined {
    return this.last(no, 0)?.varint;
  }

  /** int32/int64/uint32/uint64/enum as a number (int64 read as two's complement). */
  int(no: number): number | undefined {
    const f = this.last(no, 0);
    if (f?.num !== undefined) return f.num; // below 2^53: the same as int64
    const v = f?.varint;
    return v === undefined ? undefined : Number(BigInt.asIntN(64, v));
  }

  /** sint32/sint64 (zigzag). */
  sint(no: number): number | undefined {
    const f = this.last(no, 0);
    if (f?.num !== undefined) return f.num % 2 === 1 ? -(f.num + 1) / 2 : f.num / 2;
    const v = f?.varint;
    return v === undefined ? undefined : Number((v >> 1n) ^ -(v & 1n));
  }

  bool(no: number): boolean | undefined {
    const f = this.last(no, 0);
    if (f?.num !== undefined) return f.num !== 0;
    const v = f?.varint;
    return v === undefined ? undefined : v !== 0n;
  }

  double(no: number): number | undefined {
    const f = this.last(no, 1);
    if (!f) return undefined;
    return new DataView(f.bytes!.buffer, f.bytes!.byteOffset, 8).getFloat64(0, true);
  }

  float(no: number): number | undefined {
    const f = this.last(no, 5);
    if (!f) return undefined;
    return new DataView(f.bytes!.buffer, f.bytes!.byteOffset, 4).getFloat32(0, true);
  }

  bytes(no: number): Uint8Array | undefined {
    return this.last(no, 2)?.bytes;
  }

  string(no: number): string | undefined {
    const b = this.bytes(no);
    return b === undefined ? undefined : utf8.decode(b);
  }

  strings(no: number): string[] {
    return this.all(no, 2).map((f) => utf8.decode(f.bytes!));
  }

  message(no: number): ProtoMessage | undefined {
    const f = this.last(no, 2);
    return f ? new ProtoMessage(f.bytes!, this.bytesOffset(f), this.file) : undefined;
  }

  messages(no: number): ProtoMessage[] {
    return this.all(no, 2).map((f) => new ProtoMessage(f.bytes!, this.bytesOffset(f), this.file));
  }

  /** repeated float, packed (wire 2) or not (wire 5). */
  floats(no: number): number[] {
    return this.packed(no, 5, 4, (dv, i) => dv.getFloat32(i, true));
  }

  /** repeated double, packed (wire 2) or not (wire 1). */
  doubles(no: number): number[] {
    return this.packed(no, 1, 8, (dv, i) => dv.getFloat64(i, true));
  }

  private packed(no: number, wire: number, size: number, get: (dv: DataView, i: number) => number): number[] {
    const out: number[] = [];
    for (const f of this.fields) {
      if (f.no !== no) continue;
      const b = f.bytes;
      if (f.wire === wire) {
        out.push(get(new DataView(b!.buffer, b!.byteOffset, size), 0));
      } else if (f.wire === 2) {
        if (b!.length % size !== 0) throw new FormatError(`packed field ${no} length ${b!.length} is not a multiple of ${size}`, f.offset, this.file);
        const dv = new DataView(b!.buffer, b!.byteOffset, b!.length);
        for (let i = 0; i < b!.length; i += size) out.push(get(dv, i));
      } else {
        throw new FormatError(`field ${no} has wire type ${f.wire}, expected ${wire} or packed`, f.offset, this.file);
      }
    }
    return out;
  }
}

/** Parses `buf` as a message; `base` is its offset inside `file`. */
export const decodeMessage = (buf: Uint8Array, base = 0, file?: string): ProtoMessage => new ProtoMessage(buf, base, file);

const scratch = new Uint8Array(8);
/** The names FieldCursor.name read last (most recent first). */
const recentNames: { bytes: Uint8Array; name: string }[] = [];
const scratchF64 = new Float64Array(scratch.buffer);
const scratchF32 = new Float32Array(scratch.buffer, 0, 1);
const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * A message's fields walked one at a time, allocating nothing per field: for the hot loops (a
 * TensorBoard event per point, a W&B history record per row) where ProtoMessage's field objects
 * and BigInts cost more than the decoding. Framing and its errors are parseFields'; a reader
 * calls expect(wire) before taking a value, as ProtoMessage's accessors check it.
 */
export class FieldCursor {
  no = 0;
  wire = 0;
  /** Offset of the field's tag in the file. */
  offset = 0;
  /** wire 0: the value, exact below 2^53; -1 with `big` set above. */
  num = 0;
  big: bigint | undefined;
  /** wire 1, 2, 5: the field's bytes are buf[start, end). */
  start = 0;
  end = 0;
  private pos: number;
  private readonly limit: number;
  constructor(
    /** The bytes the message lies in: buf[from, to) (a sub-message is a window of its parent's). */
    readonly buf: Uint8Array,
    /** Offset of buf[0] in the file. */
    readonly base = 0,
    readonly file?: string,
    private readonly from = 0,
    to = buf.length,
  ) {
    this.pos = from;
    this.limit = to;
  }

  /** Advances to the next field; false at the end of the message. */
  next(): boolean {
    const buf = this.buf, base = this.base, file = this.file, limit = this.limit;
    if (this.pos >= limit) return false;
    const start = this.pos;
    varintAt(buf, start, base, file, limit);
    let pos = vPos;
    const tag = vBig ?? vNum;
    const no = typeof tag === "bigint" ? Number(tag >> 3n) : Math.floor(tag / 8);
    const wire = typeof tag === "bigint" ? Number(tag & 7n) : tag % 8;
    if (no === 0 || no > 0x1fffffff) throw new FormatError(`invalid field number ${no}`, base + start, file);
    this.no = no;
    this.wire = wire;
    this.offset = base + start;
    switch (wire) {
      case 0:
        varintAt(buf, pos, base, file, limit);
        this.num = vNum;
        this.big = vBig;
        pos = vPos;
        break;
      case 1:
      case 5: {
        const n = wire === 1 ? 8 : 4;
        if (pos + n > limit) throw new FormatError(`truncated fixed${n * 8} field ${no}`, base + start, file);
        this.start = pos;
        this.end = pos += n;
        break;
      }
      case 2:
        varintAt(buf, pos, base, file, limit);
        pos = vPos;
        if (vBig !== undefined || vNum > limit - pos) {
          throw new FormatError(`length-delimited field ${no} runs past the end (${vBig ?? vNum} bytes)`, base + start, file);
        }
        this.start = pos;
        this.end = pos += vNum;
        break;
      default:
        throw new FormatError(`unsupported wire type ${wire} for field ${no}`, base + start, file);
    }
    this.pos = pos;
    return true;
  }

  /** Throws ProtoMessage's error when the field is not of the wire type its reader expects. */
  expect(wire: number): void {
    if (this.wire !== wire) throw new FormatError(`field ${this.no} has wire type ${this.wire}, expected ${wire}`, this.offset, this.file);
  }

  /** int64 (two's complement), as ProtoMessage.int. */
  int(): number {
    return this.big === undefined ? this.num : Number(BigInt.asIntN(64, this.big));
  }

  double(): number {
    return this.fixed(8);
  }

  float(): number {
    return this.fixed(4);
  }

  private fixed(n: 4 | 8): number {
    const b = this.buf, s = this.start;
    if (!littleEndian) {
      const dv = new DataView(b.buffer, b.byteOffset + s, n);
      return n === 8 ? dv.getFloat64(0, true) : dv.getFloat32(0, true);
    }
    for (let i = 0; i < n; i++) scratch[i] = b[s + i]!;
    return n === 8 ? scratchF64[0]! : scratchF32[0]!;
  }

  /** The field's bytes (a view). */
  bytes(): Uint8Array {
    return this.buf.subarray(this.start, this.end);
  }

  /** The field's bytes as UTF-8 text (short ASCII, most keys and numbers, without a TextDecoder call). */
  string(): string {
    const b = this.buf, s = this.start, e = this.end;
    if (e - s <= 64) {
      let out = "";
      for (let i = s; i < e; i++) {
        const c = b[i]!;
        if (c >= 0x80) return utf8.decode(b.subarray(s, e));
        out += String.fromCharCode(c);
      }
      return out;
    }
    return utf8.decode(b.subarray(s, e));
  }

  /**
   * string(), for names that repeat record after record (W&B's history keys, TensorBoard tags):
   * the bytes are compared with the last few names read, and a match costs no new string.
   */
  name(): string {
    const b = this.buf, s = this.start, n = this.end - s;
    outer: for (let k = 0; k < recentNames.length; k++) {
      const r = recentNames[k]!;
      if (r.bytes.length !== n) continue;
      for (let i = 0; i < n; i++) if (r.bytes[i] !== b[s + i]) continue outer;
      return r.name;
    }
    const name = this.string();
    if (n <= 64) {
      if (recentNames.length === 16) recentNames.pop();
      recentNames.unshift({ bytes: b.slice(s, this.end), name });
    }
    return name;
  }

  /** A cursor over this length-delimited field's message (a window of the same bytes). */
  message(): FieldCursor {
    return new FieldCursor(this.buf, this.base, this.file, this.start, this.end);
  }

  /** The whole message this cursor walks, as a ProtoMessage (the rare parts a hot loop leaves to it). */
  whole(): ProtoMessage {
    return new ProtoMessage(this.buf.subarray(this.from, this.limit), this.base + this.from, this.file);
  }
}
