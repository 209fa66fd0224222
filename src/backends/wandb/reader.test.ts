import { describe, expect, test } from "bun:test";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FIXTURES } from "../../../tests/fixtures/testutil.ts";
import { parseJson, pyFloatRepr, quoteNonFinite, readWandbRun } from "./reader.ts";
import { observedPoints } from "../../verify/series.ts";

const expected = JSON.parse(readFileSync(join(FIXTURES, "expected.json"), "utf8"));
const runDir = join(FIXTURES, "wandb", expected.wandb.run_dir);

describe("readWandbRun on a real wandb 0.31.0 offline run", async () => {
  const run = await readWandbRun(runDir);
  test("identity, status, git", () => {
    expect(run.runId).toBe(expected.wandb.run_id);
    expect(run.name).toBe("fixture-run");
    expect(run.group).toBe("fixture-group");
    expect(run.parentId).toBe("fixture-group");
    expect(run.status).toBe("FINISHED");
    expect(run.git).toEqual({ commit: expected.git.commit, remote: expected.git.remote });
    expect(run.extra?.project).toBe("e2e-fixture");
    expect(run.tags).toEqual({});
  });
  test("params from the run record's config", () => {
    const { blob, ...rest } = run.params;
    expect(blob).toBe("x".repeat(70000));
    expect(rest).toEqual({ lr: "0.01", layers: "2", opt: '{"name":"sgd","momentum":0.9}', "opt.name": "sgd", "opt.momentum": "0.9" });
  });
  test("metrics keyed by name, stepped by the logged `step` key", () => {
    const pts = (k: string) => observedPoints(run.metrics[k]!).map((p) => [p.step, p.value]);
    expect(Object.keys(run.metrics).sort()).toEqual(["acc", "loss", "val.acc", "val.n"]);
    expect(pts("loss")).toEqual([[1, 0.5], [2, 0.25], [3, 0.125], [4, "NaN"]]);
    expect(pts("acc")).toEqual([[4, 0.75]]);
    expect(pts("val.acc")).toEqual([[5, 0.5]]);
    expect(pts("val.n")).toEqual([[5, 3]]);
    for (const p of observedPoints(run.metrics.loss!)) expect(p.timestamp).toBeGreaterThan(1.7e12);
    expect(run.extra?.rowsWithoutStepKey).toBe(0);
  });
  test("artifacts: the saved file, not the SDK's requirements.txt", () => {
    expect(run.artifacts).toEqual({ "model.txt": expected.wandb.artifact });
    expect(run.extra?.sdkFiles).toEqual(["requirements.txt"]);
    expect((run.extra?.summary as Record<string, unknown>).best).toBe(0.125);
  });
  test("a custom step key falls back to _step", async () => {
    const r = await readWandbRun(runDir, { stepKey: "trainer/global_step" });
    expect(observedPoints(r.metrics.loss!).map((p) => p.step)).toEqual([0, 1, 2, 3]);
    expect(observedPoints(r.metrics.step!).map((p) => p.value)).toEqual([1, 2, 3, 4, 4, 5]);
    expect(r.extra?.rowsWithoutStepKey).toBe(6);
  });
});

describe("readWandbRun failures", () => {
  test("corrupt log names file and offset; missing log is refused", async () => {
    const dir = mkdtempSync(join(tmpdir(), "wandb-reader-"));
    try {
      const copy = join(dir, "run");
      cpSync(runDir, copy, { recursive: true });
      const log = join(copy, `run-${expected.wandb.run_id}.wandb`);
      const bytes = readFileSync(log);
      bytes[bytes.length - 10] = bytes[bytes.length - 10]! ^ 0x55;
      writeFileSync(log, bytes);
      await expect(readWandbRun(copy)).rejects.toThrow(/run-.*\.wandb: CRC mismatch .* at offset \d+/);
      rmSync(log);
      await expect(readWandbRun(copy)).rejects.toThrow(/expected one run-<id>\.wandb/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("helpers", () => {
  test("JSON with non-finite numbers", () => {
    expect(parseJson("NaN")).toBe("NaN");
    expect(parseJson("-Infinity")).toBe("-Infinity");
    expect(parseJson('{"a": NaN, "b": "NaN x", "c": [Infinity]}')).toEqual({ a: "NaN", b: "NaN x", c: ["Infinity"] });
    expect(quoteNonFinite('["\\"NaN", -Infinity]')).toBe('["\\"NaN", "-Infinity"]');
    expect(parseJson("not json")).toBe("not json");
  });
  test("Python float repr", () => {
    expect(pyFloatRepr(1e-5)).toBe("1e-05");
    expect(pyFloatRepr(0.0001)).toBe("0.0001");
    expect(pyFloatRepr(1.5e16)).toBe("1.5e+16");
    expect(pyFloatRepr(0.1)).toBe("0.1");
    expect(pyFloatRepr(3)).toBe("3");
  });
});
