/**
 * The `.wandb` log read piece by piece (readWandbRecords: 4 MiB pieces, history rows handed over
 * as decoded) gives exactly what decoding the whole file at once gives, across piece boundaries
 * and with a fragmented record spanning two pieces; errors name the same file offsets.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FIXTURES, fieldBytes, frameWandb } from "../../../tests/fixtures/testutil.ts";
import { parseWandbRecords, readWandbRecords, type WandbHistoryRow } from "./records.ts";
import { readWandbRun } from "./reader.ts";
import { observedPoints, type Series } from "../../verify/series.ts";

const dir = mkdtempSync(join(tmpdir(), "e2e-wandb-stream-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const expected = JSON.parse(readFileSync(join(FIXTURES, "expected.json"), "utf8"));
const logPath = join(FIXTURES, "wandb", expected.wandb.run_dir, `run-${expected.wandb.run_id}.wandb`);

const historyRecord = (i: number, pad = 0) => {
  const item = (k: string, v: string) => fieldBytes(1, [...fieldBytes(2, k), ...fieldBytes(16, v)]);
  return new Uint8Array(fieldBytes(2, [...item("step", String(i)), ...item("loss", String(i / 7)), ...(pad ? item("pad", JSON.stringify("x".repeat(pad))) : [])]));
};

describe("readWandbRecords in pieces", () => {
  test("the real 0.31.0 file: the same records as the whole-file decode", async () => {
    const whole = parseWandbRecords(new Uint8Array(readFileSync(logPath)), logPath);
    expect(await readWandbRecords(logPath)).toEqual(whole);
  });

  test("a 5 MiB log with a record fragmented across a piece boundary; rows handed over in order", async () => {
    // ~20 000 rows of ~260 bytes, and one 100 KiB row starting ~50 KiB before the 4 MiB mark.
    const payloads: Uint8Array[] = [];
    let size = 7, bigAt = -1;
    for (let i = 0; i < 20_000; i++) {
      const big = bigAt < 0 && size > (4 << 20) - 50_000;
      if (big) bigAt = i;
      payloads.push(historyRecord(i, big ? 100_000 : 200));
      size += payloads[i]!.length + 7;
    }
    const file = join(dir, "big.wandb");
    const bytes = frameWandb(payloads);
    expect(bytes.length).toBeGreaterThan(5 << 20);
    writeFileSync(file, bytes);
    const whole = parseWandbRecords(bytes, file);
    // The 100 KiB row's chunks sit on both sides of the first 4 MiB piece's end.
    const big = whole.history[bigAt]!.offset;
    expect(big).toBeLessThan(4 << 20);
    expect(big + 100_000).toBeGreaterThan(4 << 20);
    const rows: WandbHistoryRow[] = [];
    const streamed = await readWandbRecords(file, { onHistory: (r) => rows.push(r) });
    expect(streamed.history).toEqual([]);
    expect(streamed.counts).toEqual(whole.counts);
    expect(rows).toEqual(whole.history);
  }, 120_000);

  test("a corrupt byte past the first piece: the same error, same offset", async () => {
    const payloads = Array.from({ length: 24_000 }, (_, i) => historyRecord(i, 200));
    const bytes = frameWandb(payloads);
    expect(bytes.length).toBeGreaterThan(5 << 20);
    bytes[5 << 20] = bytes[5 << 20]! ^ 0xff;
    const file = join(dir, "bad.wandb");
    writeFileSync(file, bytes);
    let want = "";
    try {
      parseWandbRecords(bytes, file);
    } catch (e) {
      want = (e as Error).message;
    }
    expect(want).toMatch(/at offset \d+/);
    await expect(readWandbRecords(file)).rejects.toThrow(want);
  }, 120_000);
});

describe("W&B's TensorBoard capture told apart while streaming", () => {
  const item = (k: string, v: string) => fieldBytes(1, [...fieldBytes(2, k), ...fieldBytes(16, v)]);
  const row = (...items: number[][]) => new Uint8Array(fieldBytes(2, items.flat()));
  const tb = new Uint8Array(fieldBytes(9, [...fieldBytes(1, "/w/tb"), ...fieldBytes(3, "/w")]));
  const rows = [
    row(item("step", "1"), item("loss", "0.5"), item("_timestamp", "1700000000.25")),
    row(item("global_step", "1"), item("tb/loss", "0.5"), item("_timestamp", "1700000000.5")),
    row(item("step", "2"), item("loss", "0.25"), item("_timestamp", "1700000001")),
  ];
  const read = async (name: string, payloads: Uint8Array[]) => {
    const d = join(dir, name);
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, "run-abc.wandb"), frameWandb(payloads));
    const r = await readWandbRun(d);
    return { metrics: r.metrics, capture: (r.extra!.tensorboardCapture as { points: Record<string, Record<string, unknown>> }).points, rows: r.extra!.historyRows };
  };
  test("a tbrecord after the rows it captured gives what it gives before them", async () => {
    const first = await read("tb-first", [tb, ...rows]);
    expect(Object.keys(first.metrics)).toEqual(["loss"]);
    expect(observedPoints(first.metrics.loss!).map((p) => [p.step, p.value])).toEqual([[1, 0.5], [2, 0.25]]);
    expect(first.rows).toBe(3);
    expect(Object.keys(first.capture.tb!)).toEqual(["loss"]);
    expect(await read("tb-last", [...rows, tb])).toEqual(first);
  });
  test("a capture that repeats the event files (at float32) shares their columns; one that differs is held as stored", async () => {
    const d = join(dir, "tb-like");
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, "run-abc.wandb"), frameWandb([tb, ...rows]));
    const ref = (v: number): Series => ({ length: 1, steps: new Float64Array([1]), values: new Float64Array([v]), timestamps: new Float64Array(0) });
    const capturedWith = async (r: Series) => {
      const run = await readWandbRun(d, { captured: (ns, tag) => (ns === "tb" && tag === "loss" ? r : undefined) });
      return (run.extra!.tensorboardCapture as { points: Record<string, Record<string, Series>> }).points.tb!.loss!;
    };
    const same = ref(0.5);
    const held = await capturedWith(same);
    expect(held.values.buffer).toBe(same.values.buffer); // no column of its own
    expect(held.timestamps.length).toBe(0); // no check reads the capture's times
    expect(observedPoints(held)).toEqual([{ step: 1, value: 0.5 }]);
    const other = ref(0.75);
    const diverged = await capturedWith(other);
    expect(diverged.values.buffer).not.toBe(other.values.buffer);
    expect(observedPoints(diverged)).toEqual([{ step: 1, value: 0.5 }]); // W&B's value, as stored
  });
});

describe("summary updates applied in order (a top-level value set again before anything sees it: not parsed)", () => {
  const item = (k: string, v: string) => fieldBytes(1, [...fieldBytes(2, k), ...fieldBytes(16, v)]);
  const nested = (a: string, b: string, v: string) => fieldBytes(1, [...fieldBytes(2, a), ...fieldBytes(2, b), ...fieldBytes(16, v)]);
  const remove = (k: string) => fieldBytes(2, fieldBytes(2, k));
  const summary = (...parts: number[][]) => new Uint8Array(fieldBytes(3, parts.flat()));
  test("the state every update in turn would give", async () => {
    const d = join(dir, "summary");
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, "run-abc.wandb"), frameWandb([
      summary(item("loss", "0.5"), item("acc", '{"x": 1}')),
      summary(item("loss", "0.25"), item("acc", '{"x": 2}')),
      summary(item("loss", "0.125"), nested("acc", "y", "3")), // other paths: applied on the last acc
      summary(item("loss", "0.1"), nested("acc", "y", "4")),
      summary(remove("loss")),
      summary(item("best", "1"), item("gone", "2")),
      summary(item("best", "NaN"), item("gone", "2")),
      summary(remove("gone")),
      summary(item("z", "1"), item("w", '"a"')),
      summary(item("w", '"b"'), item("z", "2")), // the same keys in another order (Go's map order)
      summary(nested("w", "q", "5")), // under a string: the string becomes an object
      summary(item("v", '{"k": 1}')),
      summary(nested("v", "j", "2")),
      summary(item("v", "7"), item("u", "[1, 2]")),
    ]));
    const r = await readWandbRun(d);
    expect(r.extra!.summary).toEqual({ acc: { x: 2, y: 4 }, best: "NaN", z: 2, w: { q: 5 }, v: 7, u: [1, 2] });
  });
});
