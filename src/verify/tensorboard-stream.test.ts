/**
 * Event files read piece by piece (tfRecordsOfFile, 4 MiB pieces) into columns (readEventSeries):
 * the same scalars as the object reader, records across piece boundaries and one record larger
 * than a piece, and the same errors at the same file offsets.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FIXTURES, fieldBytes, fieldDouble, fieldFloat, fieldVarint, tfRecord } from "../../tests/fixtures/testutil.ts";
import { parseEventFile, readEventFiles, readEventSeries } from "./tensorboard.ts";
import { metricPoints, SeriesBuilder } from "./series.ts";
import { compareSeries } from "./series-compare.ts";

const tmp = mkdtempSync(join(tmpdir(), "e2e-tb-stream-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const event = (step: number, tag: string, value: number, pad = 0) =>
  tfRecord(new Uint8Array([...fieldDouble(1, 1.7e9 + step), ...fieldVarint(2, step), ...fieldBytes(5, fieldBytes(1, [...fieldBytes(1, tag), ...fieldFloat(2, value)])), ...(pad ? fieldBytes(3, "x".repeat(pad)) : [])]));

function writeEvents(name: string, records: Uint8Array[]): string {
  const d = join(tmp, name);
  mkdirSync(d, { recursive: true });
  const out = new Uint8Array(records.reduce((n, r) => n + r.length, 0));
  let o = 0;
  for (const r of records) (out.set(r, o), (o += r.length));
  writeFileSync(join(d, "events.out.tfevents.1.host"), out);
  return d;
}

describe("event files in pieces", () => {
  test("the fixture: the same scalars as readEventFiles", async () => {
    const dir = join(FIXTURES, "tensorboard");
    const objects = await readEventFiles(dir);
    const cols = await readEventSeries(dir);
    expect(Object.keys(cols).sort()).toEqual(Object.keys(objects).sort());
    for (const [tag, pts] of Object.entries(objects)) expect(metricPoints(cols[tag]!)).toEqual(pts.map((p) => [p.step, p.value, p.wallTime * 1000]));
  });

  test("160 000 events over several pieces and one 5 MiB record", async () => {
    const recs: Uint8Array[] = [];
    for (let i = 0; i < 160_000; i++) recs.push(event(i, "loss", i / 8, i === 90_000 ? 5 << 20 : 0));
    const dir = writeEvents("big", recs);
    const cols = await readEventSeries(dir);
    expect(cols.loss!.length).toBe(160_000);
    expect([cols.loss!.steps[159_999], cols.loss!.values[159_999]]).toEqual([159_999, Math.fround(159_999 / 8)]);
    expect((await readEventFiles(dir)).loss!.length).toBe(160_000);
  }, 120_000);

  test("a corrupt record past the first piece: the whole-file error, same offset", async () => {
    const recs = Array.from({ length: 150_000 }, (_, i) => event(i, "loss", i));
    const dir = writeEvents("bad", recs);
    const file = join(dir, "events.out.tfevents.1.host");
    const orig = new Uint8Array(readFileSync(file));
    const bytes = new Uint8Array(orig);
    expect(bytes.length).toBeGreaterThan(5 << 20);
    bytes[5 << 20] = bytes[5 << 20]! ^ 0xff;
    writeFileSync(file, bytes);
    let want = "";
    try {
      parseEventFile(bytes, file);
    } catch (e) {
      want = (e as Error).message;
    }
    expect(want).toMatch(/CRC-32C mismatch at offset \d+/);
    await expect(readEventSeries(dir)).rejects.toThrow(want);
    // Cut short: the truncated last record, named as the whole-file reader names it.
    writeFileSync(file, orig.subarray(0, orig.length - 5));
    expect(() => parseEventFile(orig.subarray(0, orig.length - 5), file)).toThrow(/truncated record/);
    await expect(readEventSeries(dir)).rejects.toThrow(/truncated record/);
  }, 120_000);

  test("like: points repeating the expected series at float32 share its columns; a changed one is read as stored", async () => {
    const n = 1000;
    const b = new SeriesBuilder(n);
    for (let i = 0; i < n; i++) b.push(i, i / 3, 0);
    const expected = b.finish();
    const same = await readEventSeries(writeEvents("like-same", Array.from({ length: n }, (_, i) => event(i, "k", i / 3))), { wallTimes: false, like: (t) => (t === "k" ? expected : undefined) });
    expect(same.k!.values.buffer).toBe(expected.values.buffer); // no column of its own
    expect(compareSeries(expected, same.k!, "float32").metric.ok).toBe(true);
    const changed = await readEventSeries(writeEvents("like-changed", Array.from({ length: n }, (_, i) => event(i, "k", i === 700 ? 5 : i / 3))), { wallTimes: false, like: () => expected });
    expect(changed.k!.values[700]).toBe(5);
    expect(Math.fround(changed.k!.values[699]!)).toBe(Math.fround(699 / 3));
    const verdict = compareSeries(expected, changed.k!, "float32").metric;
    expect(verdict.ok).toBe(false);
    expect(verdict.message).toContain("changed values at steps 700");
  });
});
