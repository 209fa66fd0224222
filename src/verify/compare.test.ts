import { describe, expect, test } from "bun:test";
import { compareMetric, compareRun, looseParamEquals, valuesEqual } from "./compare.ts";
import type { ManifestRun } from "./manifest.ts";
import type { ObservedPoint, ObservedRun } from "./observed.ts";

const run = (): ManifestRun => ({
  key: "main", runId: "r1", name: "cnn", status: "FINISHED",
  params: { lr: "0.01", epochs: "3" },
  tags: { team: "ml" },
  metrics: { loss: [[0, 1.5, 1], [1, 0.75, 2], [2, 0.1 + 0.2, 3]] },
  artifacts: [{ path: "model.pt", size: 10, sha256: "ab", kind: "model" }],
  git: { commit: "c0ffee", branch: "main", dirty: false },
});
const observed = (): ObservedRun & { metrics: Record<string, ObservedPoint[]> } => ({
  runId: "r1", status: "FINISHED",
  params: { lr: "0.01", epochs: "3", extra: "1" },
  tags: { team: "ml" },
  metrics: { loss: [{ step: 0, value: 1.5 }, { step: 1, value: 0.75 }, { step: 2, value: 0.30000000000000004 }] },
  artifacts: { "model.pt": { size: 10, sha256: "ab" } },
  git: { commit: "c0ffee" },
});
const failures = (o: ObservedRun) => compareRun(run(), o).filter((c) => c.status === "fail").map((c) => c.name);

describe("compareRun", () => {
  test("identical run passes every check", () => {
    const checks = compareRun(run(), observed());
    expect(checks.length).toBeGreaterThan(5);
    expect(checks.filter((c) => c.status !== "pass")).toEqual([]);
  });
  test("a dropped step fails exactly the metric check", () => {
    const o = observed();
    o.metrics.loss!.splice(1, 1);
    expect(failures(o)).toEqual(["metrics.loss"]);
    expect(compareRun(run(), o).find((c) => c.name === "metrics.loss")!.message).toContain("missing steps 1");
  });
  test("a duplicated step fails", () => {
    const o = observed();
    o.metrics.loss!.push({ step: 2, value: 0.30000000000000004 });
    expect(failures(o)).toEqual(["metrics.loss"]);
  });
  test("a value off by one ulp fails (exact doubles)", () => {
    const o = observed();
    o.metrics.loss![2]!.value = 0.3;
    expect(failures(o)).toEqual(["metrics.loss"]);
  });
  test("changed param, missing tag, truncated artifact, wrong commit", () => {
    const o = observed();
    o.params.lr = "0.02";
    delete o.tags.team;
    o.artifacts["model.pt"] = { size: 9, sha256: "ab" };
    o.git = { commit: "bad" };
    expect(failures(o).sort()).toEqual(["artifacts.model.pt", "git.commit", "params.lr", "tags.team"]);
  });
  test("run status not finished fails", () => {
    const o = observed();
    o.status = "RUNNING";
    expect(failures(o)).toEqual(["run.status"]);
  });
});

describe("values", () => {
  test("NaN and infinities as strings", () => {
    expect(valuesEqual("NaN", "NaN")).toBe(true);
    expect(valuesEqual("NaN", Number.NaN)).toBe(true);
    expect(valuesEqual("Infinity", Infinity)).toBe(true);
    expect(valuesEqual("-Infinity", Infinity)).toBe(false);
  });
  test("float32 tolerance only where asked", () => {
    expect(valuesEqual(0.1, Math.fround(0.1))).toBe(false);
    expect(valuesEqual(0.1, Math.fround(0.1), "float32")).toBe(true);
    expect(valuesEqual(0.1, 0.1000001, "float32")).toBe(false);
  });
  test("missing metric", () => {
    expect(compareMetric("x", [[0, 1, 0]], undefined).ok).toBe(false);
  });
  test("loose params for typed stores", () => {
    expect(looseParamEquals("1e-05", "0.00001")).toBe(true);
    expect(looseParamEquals("True", "true")).toBe(true);
    expect(looseParamEquals("0.01", "0.02")).toBe(false);
    expect(looseParamEquals("abc", undefined)).toBe(false);
  });
});

describe("timestamps", () => {
  const rule = { toleranceMs: 0, rule: "exact" };
  const withTs = (o: ReturnType<typeof observed>, shift = 0, at = -1): ObservedRun => ({ ...o, metrics: { loss: o.metrics.loss!.map((p, i) => ({ ...p, timestamp: i + 1 + (i === at ? shift : 0) })) } });
  test("equal timestamps pass; a shifted one fails exactly the timestamps check", () => {
    const ok = compareRun(run(), withTs(observed()), { timestamps: rule });
    expect(ok.find((c) => c.name === "timestamps.loss")?.status).toBe("pass");
    const shifted = compareRun(run(), withTs(observed(), 1, 1), { timestamps: rule }).filter((c) => c.status === "fail");
    expect(shifted.map((c) => c.name)).toEqual(["timestamps.loss"]);
    expect(shifted[0]!.message).toContain("exact");
  });
  test("a window accepts a self-stamping SDK's own clock; a point without a timestamp fails", () => {
    const near = compareRun(run(), withTs(observed(), 40, 0), { timestamps: { toleranceMs: 50, rule: "±50 ms" } });
    expect(near.find((c) => c.name === "timestamps.loss")?.status).toBe("pass");
    const none = compareRun(run(), observed(), { timestamps: rule });
    expect(none.find((c) => c.name === "timestamps.loss")?.message).toContain("without a timestamp");
  });
});
