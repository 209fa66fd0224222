import { expect, test } from "bun:test";
import { collapseIdentical } from "../backends/mlflow/identical-points.ts";
import type { Check } from "../verify/check.ts";
import { arrivedByKind, manifestFor, mergeRecords, type ProcessRecord, type RecordedRun } from "./records.ts";

const run = (over: Partial<RecordedRun> = {}): RecordedRun => ({
  sdk: "mlflow", runId: "r1", name: "main", params: {}, tags: {}, metrics: {}, artifacts: [], status: "FINISHED", ...over,
});
const rec = (over: Partial<ProcessRecord>): ProcessRecord => ({
  schema: 1, pid: 1, ppid: 0, argv: [], rank: null, exit: { kind: "exit" }, sdks: {}, calls: {}, runs: [], unverified: [], errors: [], ...over,
});

test("identical (step, timestamp, value) points count once; two values at one step both stay", () => {
  const c = collapseIdentical([[0, 1.5, 10], [1, 2, 11], [0, 1.5, 10], [1, 3, 11], [2, "NaN", 12], [2, "NaN", 12]]);
  expect(c.points).toEqual([[0, 1.5, 10], [1, 2, 11], [1, 3, 11], [2, "NaN", 12]]);
  expect(c.collapsed).toBe(2);
  // Same step and value at another time is another point.
  expect(collapseIdentical([[0, 1, 10], [0, 1, 11]]).collapsed).toBe(0);
});

test("MLflow manifest: repeats collapsed and counted, models attached to their run, a model outside any run noted", () => {
  const merged = mergeRecords([
    rec({
      runs: [run({ metrics: { loss: [[0, 1, 5], [1, 0.5, 6], [0, 1, 5]] }, outputs: [{ modelId: "m-1", step: 0 }] })],
      models: [
        { sdk: "mlflow", modelId: "m-1", name: "model", sourceRunId: "r1", status: "READY", params: { lr: "0.1" }, tags: {}, metrics: { loss: [[0, 1, 5, "r1"]] }, files: [{ path: "MLmodel", size: 3, sha256: "x" }] },
        { sdk: "mlflow", modelId: "m-2", name: "loose", sourceRunId: null, params: {}, tags: {}, metrics: {}, files: [] },
      ],
    }),
  ]);
  const m = manifestFor(merged, "mlflow");
  const [r] = m.runs;
  expect(r!.metrics.loss).toEqual([[0, 1, 5], [1, 0.5, 6]]);
  expect(r!.collapsed).toEqual({ loss: 1 });
  expect(r!.models!.map((x) => [x.modelId, x.outputStep, x.metrics.loss])).toEqual([["m-1", 0, [[0, 1, 5]]]]);
  expect(merged.unverified.map((u) => u.call)).toEqual(["log_model"]);
});

test("script.arrived counts per kind from one table; images count as media, not files", () => {
  const merged = mergeRecords([rec({ runs: [run({ artifacts: [{ path: "a.txt", size: 1, sha256: "a", kind: "file" }, { path: "img.png", size: 1, sha256: "b", kind: "image" }] })] })]);
  const manifest = manifestFor(merged, "mlflow");
  const c = (name: string, group: string, status: Check["status"]): Check => ({ name: `${group}.${name}`, group, status, message: "" });
  const { parts, allOk, kinds } = arrivedByKind(manifest, [
    c("lr", "params", "pass"), c("a.txt", "artifacts", "pass"), c("img.png", "artifacts", "fail"), c("model:file:MLmodel", "models", "pass"), c("x", "inputs", "skip"),
  ]);
  expect(parts).toEqual(["params 1/1", "files 1/1", "models 1/1", "media 0/1"]);
  expect(allOk).toBe(false);
  expect(kinds.media).toEqual({ passed: 0, total: 1 });
});
