import { describe, expect, test } from "bun:test";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FIXTURES, expectCleanOutcome, fieldBytes, fieldDouble, fieldFloat, fieldVarint, mutations, tfRecord } from "../../tests/fixtures/testutil.ts";
import { iterateTfRecords, parseEventFile, readEventFiles } from "./tensorboard.ts";

const expected = JSON.parse(readFileSync(join(FIXTURES, "expected.json"), "utf8"));
const tbDir = join(FIXTURES, "tensorboard");
const mainFile = join(tbDir, expected.tensorboard.files[0]);
const tmp = mkdtempSync(join(tmpdir(), "tb-reader-"));

describe("readEventFiles on torch SummaryWriter output", () => {
  test("scalars by tag, float32 values, sub-folder tags prefixed", async () => {
    const tags = await readEventFiles(tbDir);
    expect(Object.keys(tags).sort()).toEqual(["acc/val", "loss", "sub/tensor_loss"]);
    expect(tags.loss!.map((p) => [p.step, p.value])).toEqual([[1, 0.5], [2, 0.25], [3, Math.fround(0.1)]]);
    expect(tags["acc/val"]!.map((p) => [p.step, p.value])).toEqual([[3, 0.75]]);
    // tensor-stored scalar with the "scalars" plugin, written by tensorboard's EventFileWriter
    expect(tags["sub/tensor_loss"]).toEqual([{ step: 7, value: 0.375, wallTime: 1767225600.5 }]);
    for (const p of tags.loss!) expect(p.wallTime).toBeGreaterThan(1.7e9);
  });
  test("first event carries file_version brain.Event:2", () => {
    const events = parseEventFile(new Uint8Array(readFileSync(mainFile)), mainFile);
    expect(events[0]!.fileVersion).toBe("brain.Event:2");
    expect(events.length).toBe(5);
  });
});

describe("corruption", () => {
  const bytes = new Uint8Array(readFileSync(mainFile));
  test("a flipped data byte: data CRC error naming file and record offset", () => {
    const bad = new Uint8Array(bytes);
    const first = [...iterateTfRecords(bytes)];
    const rec = first[1]!;
    bad[rec.offset + 14] = bad[rec.offset + 14]! ^ 0x10;
    expect(() => parseEventFile(bad, "f.tfevents")).toThrow(`f.tfevents: data CRC-32C mismatch at offset ${rec.offset}`);
  });
  test("a flipped length byte: length CRC error", () => {
    const bad = new Uint8Array(bytes);
    bad[0] = bad[0]! ^ 1;
    expect(() => parseEventFile(bad, "f")).toThrow("f: length CRC-32C mismatch at offset 0");
  });
  test("truncated file", () => {
    expect(() => parseEventFile(bytes.subarray(0, bytes.length - 1), "f")).toThrow(/f: truncated record .* at offset \d+/);
    expect(() => parseEventFile(bytes.subarray(0, 5), "f")).toThrow("f: truncated record header at offset 0");
  });
  test("readEventFiles names the corrupt file", async () => {
    const dir = join(tmp, "corrupt");
    cpSync(tbDir, dir, { recursive: true });
    const target = join(dir, expected.tensorboard.files[1]);
    const b = readFileSync(target);
    b[b.length - 1] = b[b.length - 1]! ^ 0xff;
    writeFileSync(target, b);
    await expect(readEventFiles(dir)).rejects.toThrow(new RegExp(`${expected.tensorboard.files[1]}: data CRC-32C mismatch at offset \\d+`));
  });
});

describe("synthetic events", () => {
  test("double tensor via tensor_content; non-scalar plugin ignored; empty file", async () => {
    const value = (tag: string, ...rest: number[][]) => fieldBytes(1, [...fieldBytes(1, tag), ...rest.flat()]);
    const meta = (plugin: string) => fieldBytes(9, fieldBytes(1, fieldBytes(1, plugin)));
    const content = new Uint8Array(8);
    new DataView(content.buffer).setFloat64(0, 0.1, true);
    const ev = (step: number, ...values: number[][]) =>
      tfRecord(new Uint8Array([...fieldDouble(1, 10 + step), ...fieldVarint(2, step), ...fieldBytes(5, values.flat())]));
    const file = new Uint8Array([
      ...tfRecord(new Uint8Array([...fieldDouble(1, 1), ...fieldBytes(3, "brain.Event:2")])),
      ...ev(1, value("d", fieldBytes(8, [...fieldVarint(1, 2), ...fieldBytes(4, content)]), meta("scalars"))),
      ...ev(2, value("d", fieldBytes(8, [...fieldVarint(1, 2), ...fieldBytes(4, content)]))), // metadata only on first
      ...ev(3, value("h", fieldBytes(8, [...fieldVarint(1, 1), ...fieldFloat(5, 1)]), meta("histograms"))),
      ...ev(4, value("s", fieldFloat(2, 2.5))),
    ]);
    const dir = join(tmp, "synthetic");
    mkdirSync(join(dir, "empty"), { recursive: true });
    writeFileSync(join(dir, "events.out.tfevents.1.host.1.0"), file);
    writeFileSync(join(dir, "empty", "events.out.tfevents.2.host.1.0"), new Uint8Array(0));
    writeFileSync(join(dir, "notes.txt"), "ignored");
    expect(await readEventFiles(dir)).toEqual({
      d: [{ step: 1, value: 0.1, wallTime: 11 }, { step: 2, value: 0.1, wallTime: 12 }],
      s: [{ step: 4, value: 2.5, wallTime: 14 }],
    });
  });
});

describe("tensorboard fuzz", () => {
  test("random flips and truncations fail cleanly or parse", async () => {
    const bytes = new Uint8Array(readFileSync(mainFile));
    let errors = 0;
    for (const { what, data } of mutations(bytes, 400, 7)) {
      if ((await expectCleanOutcome(() => parseEventFile(data, "f"), what)) === "error") errors++;
    }
    expect(errors).toBeGreaterThan(300);
    // Re-framed mutated event payloads exercise the Event decoding past the CRCs.
    for (const [i, rec] of [...iterateTfRecords(bytes)].entries()) {
      for (const { what, data } of mutations(rec.data, 60, 100 + i)) {
        await expectCleanOutcome(() => parseEventFile(tfRecord(data), "g"), `record ${i} ${what}`);
      }
    }
    rmSync(tmp, { recursive: true, force: true });
  });
});
