import { describe, expect, test } from "bun:test";
import { artifactRepeatsFor, estimateSeconds, makeBenchPlan, MAX_ARTIFACT_REPEATS } from "./plan.ts";
import { bytesOf, sizeLabel } from "./sizes.ts";
import { E2EError } from "../util/errors.ts";
import { BACKEND_NAMES } from "../backends/registry.ts";

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

  test("--url: one backend, no server started, no SDK processes; the fleet takes its knobs", () => {
    const p = makeBenchPlan({ quick: true, url: "http://mlflow.internal:5000/", backend: "mlflow", maxRps: "40", duration: "20", jobs: "16", metrics: "50", interval: "200", artifactEvery: "0" });
    expect(p.url).toBe("http://mlflow.internal:5000");
    expect(p.mlflowModes).toEqual([]);
    expect(p.sdkTargets).toEqual([]);
    expect(p.maxRps).toBe(40);
    expect(p.fleet).toMatchObject({ keys: 50, intervalMs: 200, p99LimitMs: 200, maxJobs: 16, budgetSeconds: 20, artifactEvery: 0, maxRps: 40 });
    for (const b of BACKEND_NAMES) {
      const q = makeBenchPlan({ quick: true, url: "http://srv:8008", backend: b, apiKeyFile: "/k" });
      expect(q).toMatchObject({ url: "http://srv:8008", backends: [b], mlflowModes: [], sdkTargets: [], apiKeyFile: "/k" });
    }
    expect(() => makeBenchPlan({ apiKeyFile: "/k" })).toThrow(/--api-key-file/);
    for (const bad of [{ url: "ftp://x" }, { url: "http://x", backend: "wandb,clearml" }, { url: "http://x", backend: "all" }, { url: "http://x" }, { url: "http://x", backend: "mlflow", mode: "native" }, { url: "http://u:p@x", backend: "mlflow" }])
      expect(() => makeBenchPlan(bad)).toThrow(E2EError);
    expect(() => makeBenchPlan({ maxRps: "-3" })).toThrow(/--max-rps -3/);
    expect(() => makeBenchPlan({ metrics: "5000" })).toThrow(/1000/);
  });

  test("every latency figure asks for 1000 samples in both profiles, with a cap in time", () => {
    for (const p of [makeBenchPlan({ quick: true }), makeBenchPlan({})]) {
      expect(p.batch.minSamples).toBe(1000);
      expect(p.api.minSamples).toBe(1000);
      expect(p.batch.capMs).toBeGreaterThan(0);
    }
  });

  test("--direct-artifacts: on in full, off in quick unless asked, only with the native server, not with --url", () => {
    expect(makeBenchPlan({}).directArtifacts).toBe(true);
    expect(makeBenchPlan({ quick: true }).directArtifacts).toBe(false);
    expect(makeBenchPlan({ quick: true, directArtifacts: true }).directArtifacts).toBe(true);
    expect(makeBenchPlan({ directArtifacts: false }).directArtifacts).toBe(false);
    expect(makeBenchPlan({ mode: "docker" }).directArtifacts).toBe(false);
    expect(makeBenchPlan({ backend: "wandb" }).directArtifacts).toBe(false);
    expect(makeBenchPlan({ url: "http://x", backend: "mlflow" }).directArtifacts).toBe(false);
    expect(() => makeBenchPlan({ url: "http://x", backend: "mlflow", directArtifacts: true })).toThrow(/--direct-artifacts/);
    expect(estimateSeconds(makeBenchPlan({ quick: true, directArtifacts: true }))).toBeGreaterThan(estimateSeconds(makeBenchPlan({ quick: true })));
  });

  test("--workers: a list of counts for the native server, bounded, not with --url", () => {
    expect(makeBenchPlan({ quick: true }).workers).toEqual([1]);
    const p = makeBenchPlan({ quick: true, workers: "1,2,4,2" });
    expect(p.workers).toEqual([1, 2, 4]);
    expect(estimateSeconds(p)).toBeGreaterThan(estimateSeconds(makeBenchPlan({ quick: true })));
    expect(() => makeBenchPlan({ workers: "0" })).toThrow(/--workers/);
    expect(() => makeBenchPlan({ workers: "64" })).toThrow(/at most 16/);
    expect(() => makeBenchPlan({ workers: "2", url: "http://x", backend: "mlflow" })).toThrow(/--workers/);
  });
});

describe("artifact transfers per size", () => {
  const per = (p: ReturnType<typeof makeBenchPlan>) => Object.fromEntries(p.artifactSizes.map((s) => [sizeLabel(s), artifactRepeatsFor(p, s)]));
  test("small bodies get more transfers, up to the cap; large ones the profile's count", () => {
    expect(per(makeBenchPlan({ quick: true }))).toEqual({ "1KB": MAX_ARTIFACT_REPEATS, "64KB": MAX_ARTIFACT_REPEATS, "1MB": 16, "4MB": 4 });
    expect(per(makeBenchPlan({}))).toEqual({ "1KB": MAX_ARTIFACT_REPEATS, "64KB": MAX_ARTIFACT_REPEATS, "1MB": 64, "16MB": 5, "64MB": 5, "256MB": 5 });
  });
  test("a user's server or a paced run: the profile's count only (bounded in count)", () => {
    for (const p of [makeBenchPlan({ quick: true, url: "http://x:5000", backend: "mlflow" }), makeBenchPlan({ quick: true, maxRps: "50" })])
      expect(new Set(Object.values(per(p)))).toEqual(new Set([3]));
  });
  test("sizeLabel and bytesOf are inverses", () => {
    for (const s of [1, 1024, 65536, 2 ** 20, 256 * 2 ** 20, 3 * 2 ** 30]) expect(bytesOf(sizeLabel(s))).toBe(s);
    expect(bytesOf("64 KB")).toBeNaN();
  });
});
