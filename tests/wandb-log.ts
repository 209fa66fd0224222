/**
 * Test utility: rewrites a W&B `.wandb` log the way a fault would leave it (a record dropped, a
 * field changed), re-framed with valid chunk CRCs so the reader sees a well-formed log whose
 * content differs. Records are `wandb_internal.Record` protobufs (src/backends/wandb/records.ts).
 */
import { readFileSync, writeFileSync } from "node:fs";
import { iterateWandbLog } from "../src/backends/wandb/records.ts";
import { parseFields, type ProtoField } from "../src/util/protobuf.ts";
import { frameWandb, varint } from "./fixtures/testutil.ts";

/** The record_type field number of a Record payload (files=6, artifact=8, history=2, ...). */
export function recordKind(payload: Uint8Array): number | undefined {
  const kinds = [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 17, 18, 20, 21, 22, 23, 24, 25, 26, 27, 100];
  return parseFields(payload).findLast((f) => kinds.includes(f.no))?.no;
}

/** Serialises fields back to wire format. */
export function encodeFields(fields: ProtoField[]): Uint8Array {
  const out: number[] = [];
  for (const f of fields) {
    out.push(...varint((f.no << 3) | f.wire));
    if (f.wire === 0) out.push(...varint(f.varint!));
    else if (f.wire === 2) out.push(...varint(f.bytes!.length), ...f.bytes!);
    else out.push(...f.bytes!);
  }
  return new Uint8Array(out);
}

/** Applies `edit` to the message at a path of (length-delimited) field numbers, e.g. [8, 12]. */
export function editMessage(buf: Uint8Array, path: number[], edit: (fields: ProtoField[]) => ProtoField[]): Uint8Array {
  const fields = parseFields(buf);
  if (!path.length) return encodeFields(edit(fields));
  const [head, ...rest] = path;
  return encodeFields(fields.map((f) => (f.no === head && f.wire === 2 ? { ...f, bytes: editMessage(f.bytes!, rest, edit) } : f)));
}

/**
 * Rewrites the log at `path`: `edit` gets each record payload in order and returns it, a new
 * payload, or null to drop it. Returns how many records it changed or dropped.
 */
export function rewriteWandbLog(path: string, edit: (payload: Uint8Array, kind: number | undefined) => Uint8Array | null): number {
  const buf = new Uint8Array(readFileSync(path));
  const out: Uint8Array[] = [];
  let changed = 0;
  for (const { data } of iterateWandbLog(buf, path)) {
    const copy = new Uint8Array(data);
    const next = edit(copy, recordKind(copy));
    if (next !== copy) changed++;
    if (next) out.push(next);
  }
  writeFileSync(path, frameWandb(out));
  return changed;
}

const utf8 = new TextDecoder();
export const fieldText = (f: ProtoField) => utf8.decode(f.bytes);
