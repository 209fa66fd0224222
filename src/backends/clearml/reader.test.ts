import { describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FIXTURES, expectCleanOutcome, makeZip, mutations } from "../../../tests/fixtures/testutil.ts";
import { FormatError } from "../../util/protobuf.ts";
import { readClearmlSession, safeEntryPath } from "./reader.ts";
import { observedPoints } from "../../verify/series.ts";

const expected = JSON.parse(readFileSync(join(FIXTURES, "expected.json"), "utf8"));
const zipPath = join(FIXTURES, "clearml", expected.clearml.zip);
const tmp = mkdtempSync(join(tmpdir(), "clearml-reader-"));
const writeTmp = (name: string, data: Uint8Array) => {
  const p = join(tmp, name);
  writeFileSync(p, data);
  return p;
};

describe("readClearmlSession on a real clearml 2.1.12 offline session", async () => {
  const run = await readClearmlSession(zipPath);
  test("identity and git (branch, commit, remote, diff)", () => {
    expect(run.runId).toBe(expected.clearml.task_id);
    expect(run.name).toBe("fixture-task");
    expect(run.group).toBe("e2e-fixture");
    expect(run.git).toMatchObject({ commit: expected.git.commit, branch: "main", remote: expected.git.remote, dirty: true });
    expect(run.git!.diff).toStartWith("diff --git a/train.py b/train.py");
    expect(run.git!.diff).toContain("+# uncommitted change\n");
    expect(run.tags).toEqual({ offline: "", fixture: "" });
  });
  test("params as Section/name and bare name", () => {
    expect(run.params).toEqual({
      "General/layers": "2", "General/lr": "0.01", "Model/depth": "3", layers: "2", lr: "0.01", depth: "3",
    });
  });
  test("scalars: title when series == title, else title/series; NaN was stored as 0 by ClearML", () => {
    const pts = (k: string) => observedPoints(run.metrics[k]!).map((p) => [p.step, p.value]);
    expect(Object.keys(run.metrics).sort()).toEqual(["acc/val", "loss"]);
    expect(pts("loss")).toEqual([[1, 0.5], [2, 0.25], [3, 0.125], [4, 0]]);
    expect(pts("acc/val")).toEqual([[3, 0.75]]);
    expect(observedPoints(run.metrics.loss!)[0]!.timestamp).toBeGreaterThan(1.7e12);
  });
  test("artifacts keyed by artifact name, bytes hashed from data/", () => {
    expect(run.artifacts).toEqual({ model: expected.clearml.artifact });
    expect((run.extra?.artifactFiles as Record<string, string>).model).toEndWith("/artifacts/model/model.txt");
  });
});

const task = (extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    id: "offline-1", name: "t", tags: ["t1"],
    hyperparams: { A: { x: { value: "1" } }, B: { x: { value: "2" } }, properties: { team: { section: "properties", name: "team", value: "vision" } } },
    ...extra,
  });

describe("synthetic sessions", () => {
  test("hostile entries are refused", async () => {
    for (const name of ["../evil.txt", "data/../../evil.txt", "/etc/passwd", "C:/x", "data\\..\\..\\x"]) {
      const p = writeTmp("hostile.zip", makeZip([{ name: "task.json", data: task() }, { name, data: "pwned" }]));
      await expect(readClearmlSession(p)).rejects.toThrow(/escapes the session folder/);
    }
    expect(() => safeEntryPath("../x", "z", 5)).toThrow("z: zip entry \"../x\" escapes the session folder at offset 5");
    expect(safeEntryPath("./data/a", "z", 0)).toBe("data/a");
  });
  test("bare names: first section wins; non-artifact data files keyed by path; NaN tokens kept", async () => {
    const metrics = '[{"type": "training_stats_scalar", "metric": "m", "variant": "s", "iter": 2, "value": NaN}, {"type": "plot"}]\n';
    const p = writeTmp("ok.zip", makeZip([
      { name: "task.json", data: task() }, { name: "metrics.jsonl", data: metrics }, { name: "data/x/img.png", data: "png" },
    ]));
    const run = await readClearmlSession(p);
    expect(run.params).toEqual({ "A/x": "1", "B/x": "2", x: "1" });
    expect(run.tags).toEqual({ team: "vision", t1: "" }); // user properties are tags
    expect(Object.keys(run.metrics)).toEqual(["m/s"]);
    expect(observedPoints(run.metrics["m/s"]!)).toEqual([{ step: 2, value: "NaN" }]);
    expect(Object.keys(run.artifacts)).toEqual(["x/img.png"]);
    expect(run.extra?.otherEvents).toEqual({ plot: 1 });
    expect(run.git).toBeUndefined();
  });
  test("two title/series with one key: the key's points in file order; each title/series its own", async () => {
    const ev = (metric: string, variant: string, iter: number) => ({ type: "training_stats_scalar", metric, variant, iter, value: iter, timestamp: 1.7e12 + iter });
    const lines = [[ev("a/b", "c", 1), ev("x", "x", 1)], [ev("a/b", "c", 2), ev("a", "b/c", 3)], [ev("a/b", "c", 4), ev("a", "b/c", 5), ev("x", "x", 2)]];
    const p = writeTmp("shared.zip", makeZip([{ name: "task.json", data: task() }, { name: "metrics.jsonl", data: lines.map((l) => JSON.stringify(l)).join("\n") }]));
    const run = await readClearmlSession(p);
    expect(Object.keys(run.metrics)).toEqual(["a/b/c", "x"]);
    expect(observedPoints(run.metrics["a/b/c"]!).map((x) => x.step)).toEqual([1, 2, 3, 4, 5]);
    expect(observedPoints(run.metrics.x!).map((x) => x.step)).toEqual([1, 2]);
    const pairs = (run.extra?.scalarSeries as { title: string; series: string; points: never }[]).map((x) => [x.title, x.series, observedPoints(x.points).map((q) => q.step)]);
    expect(pairs).toEqual([["a/b", "c", [1, 2, 4]], ["x", "x", [1, 2]], ["a", "b/c", [3, 5]]]);
  });
  test("missing task.json, bad JSON, corrupt entry, not a zip", async () => {
    await expect(readClearmlSession(writeTmp("a.zip", makeZip([{ name: "metrics.jsonl", data: "" }])))).rejects.toThrow(/no task.json/);
    await expect(readClearmlSession(writeTmp("b.zip", makeZip([{ name: "task.json", data: "{" }])))).rejects.toThrow(/task.json is not JSON/);
    const z = makeZip([{ name: "task.json", data: task() }]);
    z[40] = z[40]! ^ 1; // inside the stored task.json bytes
    await expect(readClearmlSession(writeTmp("c.zip", z))).rejects.toThrow(/task.json is corrupt \(size or CRC-32 mismatch\) at offset 0/);
    await expect(readClearmlSession(writeTmp("d.zip", new TextEncoder().encode("nope")))).rejects.toThrow(FormatError);
  });
});

describe("metrics.jsonl unzipped as a stream", () => {
  const scalar = (i: number) => ({ type: "training_stats_scalar", metric: "loss", variant: "loss", iter: i, value: i / 3, timestamp: 1.7e12 + i });
  // 40 000 events in lines of 100, as ClearML batches them: several unzip pieces.
  const jsonl = Array.from({ length: 400 }, (_, l) => JSON.stringify(Array.from({ length: 100 }, (_, j) => scalar(l * 100 + j)))).join("\n") + "\n";
  test("every event of a large file, in order, as columns", async () => {
    const run = await readClearmlSession(writeTmp("big.zip", makeZip([{ name: "task.json", data: task() }, { name: "metrics.jsonl", data: jsonl }])));
    const loss = run.metrics.loss!;
    expect(loss.length).toBe(40_000);
    expect(observedPoints(loss)[39_999]).toEqual({ step: 39_999, value: 39_999 / 3, timestamp: 1.7e12 + 39_999 });
  }, 60_000);
  test("a changed byte is the zip's CRC error, before the JSON it breaks", async () => {
    const z = makeZip([{ name: "task.json", data: task() }, { name: "metrics.jsonl", data: jsonl }]);
    const at = z.lastIndexOf(0x5b); // the "[" that opens the last stored line
    z[at] = 0x7b; // "{": that line is no longer JSON
    await expect(readClearmlSession(writeTmp("bad.zip", z))).rejects.toThrow(/metrics.jsonl is corrupt \(size or CRC-32 mismatch\)/);
  }, 60_000);
});

describe("clearml fuzz", () => {
  test("random flips and truncations of the real zip fail cleanly or parse", async () => {
    const bytes = new Uint8Array(readFileSync(zipPath));
    let n = 0;
    for (const { what, data } of mutations(bytes, 150, 99)) {
      const p = writeTmp(`fuzz-${n++ % 4}.zip`, data);
      await expectCleanOutcome(() => readClearmlSession(p), what);
    }
    rmSync(tmp, { recursive: true, force: true });
  }, 60_000);
});
