import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { FIXTURES, expectCleanOutcome, fieldBytes, fieldVarint, frameWandb, mutations } from "../../../tests/fixtures/testutil.ts";
import { FormatError } from "../../util/protobuf.ts";
import { iterateWandbLog, parseWandbRecords } from "./records.ts";

const expected = JSON.parse(readFileSync(join(FIXTURES, "expected.json"), "utf8"));
const runDir = join(FIXTURES, "wandb", expected.wandb.run_dir);
const logPath = join(runDir, `run-${expected.wandb.run_id}.wandb`);
const fixture = new Uint8Array(readFileSync(logPath));

describe("wandb .wandb framing", () => {
  test("real 0.31.0 file: header, FIRST/MIDDLE/LAST across 32 KiB blocks", () => {
    expect([...fixture.subarray(0, 7)]).toEqual([0x3a, 0x57, 0x26, 0x42, 0xe1, 0xbe, 0x00]);
    const payloads = [...iterateWandbLog(fixture, logPath)];
    expect(payloads.length).toBeGreaterThan(20);
    // The run record holds a 70 000-char config value, so it spans three blocks.
    const big = payloads.find((p) => p.data.length > 65536);
    expect(big).toBeDefined();
  });

  test("synthetic framing: < 7 bytes of block padding, fragments, exact block fill, empty record", () => {
    const big = 32 * 1024;
    const A = new Uint8Array(big - 7 - 7 - 3).fill(1);
    const B = new Uint8Array(3 * big).fill(2);
    const C = new Uint8Array(big - 7).fill(3);
    const d = new Uint8Array(0);
    const file = frameWandb([A, B, C, d]);
    const got = [...iterateWandbLog(file)].map((p) => p.data);
    expect(got.map((g) => g.length)).toEqual([A.length, B.length, C.length, 0]);
    expect(got[1]!.every((x) => x === 2)).toBe(true);
    // A (7 header + 7 chunk header + A) leaves 3 bytes of zero padding in block 0.
    expect([...file.subarray(big - 3, big)]).toEqual([0, 0, 0]);
    const dirty = new Uint8Array(file);
    dirty[big - 2] = 9;
    expect(() => [...iterateWandbLog(dirty, "p.wandb")]).toThrow(`p.wandb: non-zero block padding at offset ${big - 2}`);
  });

  test("a flipped byte is a CRC error naming the chunk offset", () => {
    const bad = new Uint8Array(fixture);
    bad[200] = bad[200]! ^ 0xff; // inside the run record's FIRST chunk (starts at 91)
    expect(() => parseWandbRecords(bad, "x.wandb")).toThrow(/x\.wandb: CRC mismatch .* at offset 91/);
  });

  test("truncated file and broken header", () => {
    expect(() => parseWandbRecords(fixture.subarray(0, fixture.length - 3), "t.wandb")).toThrow(/truncated chunk .* at offset \d+/);
    expect(() => parseWandbRecords(fixture.subarray(0, 40000), "t.wandb")).toThrow(/truncated/);
    expect(() => parseWandbRecords(fixture.subarray(0, 4))).toThrow(/file header truncated/);
    const magic = new Uint8Array(fixture);
    magic[0] = 0x41;
    expect(() => parseWandbRecords(magic)).toThrow(/bad magic/);
  });

  test("fragment errors", () => {
    const rec = new Uint8Array(fieldVarint(1, 1));
    const full = frameWandb([rec]);
    const asLast = new Uint8Array(full);
    asLast[7 + 6] = 4; // LAST without FIRST (CRC recomputed below)
    const crc = Bun.hash.crc32(asLast.subarray(13, full.length));
    new DataView(asLast.buffer).setUint32(7, Number(crc), true);
    expect(() => [...iterateWandbLog(asLast)]).toThrow(/LAST chunk without a FIRST at offset 7/);
  });
});

describe("wandb records", () => {
  const rec = parseWandbRecords(fixture, logPath);
  test("run record", () => {
    const run = rec.run!;
    expect(run.runId).toBe(expected.wandb.run_id);
    expect(run.project).toBe("e2e-fixture");
    expect(run.displayName).toBe("fixture-run");
    expect(run.group).toBe("fixture-group");
    expect(run.git).toEqual({ remoteUrl: expected.git.remote, commit: expected.git.commit });
    expect(run.config.map((c) => c.path.join("."))).toEqual(["_wandb", "lr", "layers", "opt", "blob"]);
    expect(run.config.find((c) => c.key === "opt")!.valueJson).toBe('{"name":"sgd","momentum":0.9}');
    expect(rec.header?.producer).toStartWith("0.31.0");
    expect(rec.environment[0]!.git).toEqual({ remoteUrl: expected.git.remote, commit: expected.git.commit });
  });
  test("history rows (0.31.0 writes nested_key, not key)", () => {
    expect(rec.history.length).toBe(6);
    const row = (i: number) => Object.fromEntries(rec.history[i]!.items.map((it) => [it.path.join("."), it.valueJson]));
    expect(rec.history.map((h) => h.step)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(row(0)).toMatchObject({ loss: "0.5", step: "1", _step: "0" });
    expect(row(3)).toMatchObject({ loss: "NaN", step: "4" });
    expect(row(4)).toMatchObject({ acc: "0.75", step: "4" });
    expect(row(5)).toMatchObject({ "val.acc": "0.5", "val.n": "3", step: "5" });
    expect(rec.history[0]!.items.every((it) => it.key === "" && it.nestedKey.length >= 1)).toBe(true);
  });
  test("files, summary, exit", () => {
    expect(rec.files).toEqual([
      { path: "requirements.txt", policy: 0, type: 1 },
      { path: "model.txt", policy: 1, type: 0 },
    ]);
    expect(rec.summaries.some((s) => s.update.some((u) => u.key === "best" && u.valueJson === "0.125"))).toBe(true);
    expect(rec.exit).toMatchObject({ exitCode: 0, notComplete: false });
    expect(rec.configs).toEqual([]); // config arrives inside the run record only
    expect(rec.counts).toMatchObject({ header: 1, run: 1, history: 6, exit: 1 });
  });
  test("typed HistoryItem values (oneof) become JSON text", () => {
    const item = (...f: number[][]) => fieldBytes(1, f.flat());
    const history = fieldBytes(2, [
      ...item(fieldBytes(1, "i"), fieldVarint(5, 5)), // sint64 zigzag 5 -> -3
      ...item(fieldBytes(1, "b"), fieldVarint(4, 1)),
      ...item(fieldBytes(1, "t"), fieldBytes(7, "x")),
    ]);
    const r = parseWandbRecords(frameWandb([new Uint8Array(history)]));
    expect(r.history[0]!.items.map((i) => [i.key, i.valueJson])).toEqual([["i", "-3"], ["b", "true"], ["t", '"x"']]);
  });
});

describe("wandb fuzz", () => {
  test("random flips and truncations fail cleanly or parse", async () => {
    let errors = 0;
    for (const { what, data } of mutations(fixture, 300, 1234)) {
      if ((await expectCleanOutcome(() => parseWandbRecords(data, "f.wandb"), what)) === "error") errors++;
    }
    expect(errors).toBeGreaterThan(200);
    // Valid framing around mutated payloads exercises the protobuf decoding, not just the CRCs.
    const payloads = [...iterateWandbLog(fixture)].map((p) => p.data).filter((d) => d.length < 2000);
    let i = 0;
    for (const p of payloads) {
      for (const { what, data } of mutations(p, 40, i++)) {
        await expectCleanOutcome(() => parseWandbRecords(frameWandb([data]), "g.wandb"), `payload ${i} ${what}`);
      }
    }
    try {
      parseWandbRecords(fixture.subarray(0, 100), "f.wandb");
    } catch (e) {
      expect(e).toBeInstanceOf(FormatError);
    }
  });
});
