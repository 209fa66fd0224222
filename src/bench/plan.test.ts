import { describe, expect, test } from "bun:test";
import { estimateSeconds, makeBenchPlan } from "./plan.ts";
import { E2EError } from "../util/errors.ts";

describe("makeBenchPlan", () => {
  test("quick is bounded and smaller than full", () => {
    const q = makeBenchPlan({ quick: true });
    const f = makeBenchPlan({});
    expect(q.profile).toBe("quick");
    expect(f.profile).toBe("full");
    expect(Math.max(...q.artifactSizes)).toBeLessThanOrEqual(8 * 1024 * 1024);
    expect(Math.max(...f.artifactSizes)).toBe(256 * 1024 * 1024);
    expect(q.historySizes).not.toContain(1e6);
    expect(f.historySizes).toContain(1e6);
    expect(Math.max(...q.batchSizes)).toBe(1000);
    expect(f.batch.minSamples).toBeGreaterThanOrEqual(1000);
    expect(estimateSeconds(q)).toBeLessThan(estimateSeconds(f));
    expect(estimateSeconds(q)).toBeLessThan(300); // about 3-4 min on 2 cores, more under load
  });

  test("backends and modes: lists, all, and unknown names", () => {
    const p = makeBenchPlan({ backend: "wandb", quick: true });
    expect(p.backends).toEqual(["wandb"]);
    expect(p.mlflowModes).toEqual([]);
    expect(p.sdkTargets.map((t) => t.backend)).toEqual(["none", "wandb"]);
    expect(makeBenchPlan({ mode: "all" }).mlflowModes).toEqual(["native", "docker"]);
    expect(() => makeBenchPlan({ backend: "neptune" })).toThrow(E2EError);
    expect(() => makeBenchPlan({ mode: "k8s" })).toThrow(/--mode k8s/);
  });

  test("--max-regression needs --baseline", () => {
    expect(() => makeBenchPlan({ maxRegression: "10%" })).toThrow(/--baseline/);
    expect(makeBenchPlan({ baseline: "x.json", maxRegression: "25%" }).maxRegression).toBeCloseTo(0.25);
  });
});
