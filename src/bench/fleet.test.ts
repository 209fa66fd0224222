import { describe, expect, test } from "bun:test";
import { fleetKnee, fleetShouldStop, fleetStep, jobLadder, noKneeWhy, runFleet, type FleetPlan, type FleetStep } from "./fleet.ts";
import type { Figure } from "./figure.ts";
import { fleetFigures, type SuiteContext } from "./http-suite.ts";
import type { BenchPlan } from "./plan.ts";

const plan: FleetPlan = { keys: 10, intervalMs: 100, artifactEvery: 0, artifactBytes: 0, stepSeconds: 0.5, maxJobs: 8, budgetSeconds: 30, p99LimitMs: 100, errorRateLimit: 0.01 };
const step = (jobs: number, pointsPerSec: number, p99Ms = 10, errorRate = 0): FleetStep =>
  ({ jobs, offeredPointsPerSec: jobs * 100, pointsPerSec, requests: 100, errors: errorRate ? 1 : 0, errorRate, artifacts: 0, seconds: 1, p50Ms: 5, p99Ms, maxMs: p99Ms, lateCalls: 0 });

describe("fleet load model", () => {
  test("stops where p99, errors or throughput say so; the knee is the best step within both thresholds", () => {
    expect(fleetShouldStop([step(1, 100), step(2, 200)], plan)).toBeUndefined();
    expect(fleetShouldStop([step(1, 100), step(2, 200, 150)], plan)).toBe("p99");
    expect(fleetShouldStop([step(1, 100), step(2, 200, 10, 0.05)], plan)).toBe("errors");
    expect(fleetShouldStop([step(1, 100), step(2, 200), step(4, 205)], plan)).toBe("plateau");
    expect(fleetKnee([step(1, 100), step(2, 200), step(4, 390, 150)], plan, "p99")).toEqual({ jobs: 2, pointsPerSec: 200, p99Ms: 10, reason: "p99" });
  });

  test("no step within the thresholds: no knee (null), and why, never a knee of 0 points/s", () => {
    expect(fleetKnee([step(1, 100, 500)], plan, "p99")).toBeNull();
    expect(noKneeWhy([step(1, 100, 500)], plan)).toBe("the first step (1 job) already crossed the p99 threshold: p99 500.0 ms > 100 ms (one job of 10 metrics every 100 ms already falls behind)");
    const erring = { ...step(1, 100, 10, 0.5), firstError: "HTTP 503 from /log-batch" };
    expect(noKneeWhy([erring], plan)).toBe("the first step (1 job) already crossed the error threshold: 50.0% of calls failed > 1.0% (HTTP 503 from /log-batch)");
    expect(noKneeWhy([], { ...plan, maxRps: 5 })).toBe("--max-rps 5 allows not even 1 job (10.0 requests/s)");
    // One step within the thresholds is a knee, however small.
    expect(fleetKnee([step(1, 100, 90), step(2, 150, 150)], plan, "p99")).toEqual({ jobs: 1, pointsPerSec: 100, p99Ms: 90, reason: "p99" });
  });

  test("the job ladder doubles to maxJobs and stops below --max-rps", () => {
    expect(jobLadder(plan)).toEqual({ counts: [1, 2, 4, 8], cappedByRps: false });
    expect(jobLadder({ ...plan, maxRps: 45 })).toEqual({ counts: [1, 2, 4], cappedByRps: true });
  });

  test("each job logs on its own clock: a fast server gets the offered rate, a slow one makes jobs fall behind", async () => {
    let calls = 0;
    const fast = await fleetStep([{ log: async () => void calls++ }, { log: async () => void calls++ }], plan);
    expect(fast.requests).toBe(calls);
    expect(fast.requests).toBeGreaterThanOrEqual(8); // 2 jobs x 0.5 s / 100 ms = 10, give or take scheduling
    expect(fast.requests).toBeLessThanOrEqual(12);
    expect(fast.offeredPointsPerSec).toBe(200);
    const slow = await fleetStep([{ log: () => Bun.sleep(180) }], plan);
    expect(slow.lateCalls).toBeGreaterThan(0);
    expect(slow.p99Ms).toBeGreaterThan(plan.p99LimitMs);
    const failing = await fleetStep([{ log: async () => { throw new Error("HTTP 503 from /log-batch"); } }], plan);
    expect(failing.errorRate).toBe(1);
    expect(failing.firstError).toContain("503");
  });

  test("runFleet records every step and its reason", async () => {
    const s = await runFleet("harness", { ...plan, maxJobs: 4, stepSeconds: 0.3 }, async (n) => Array.from({ length: n }, () => ({ log: async () => {} })), () => {});
    expect(s.steps.map((x) => x.jobs)).toEqual([1, 2, 4]);
    expect(s.knee?.reason).toBe("max-jobs");
  });

  test("a fleet whose first job already falls behind: knee null with the reason, a 0-jobs figure, no throughput figure", async () => {
    const slow = { ...plan, maxJobs: 4, stepSeconds: 0.5, intervalMs: 50, p99LimitMs: 50 };
    const s = await runFleet("harness", slow, async (n) => Array.from({ length: n }, () => ({ log: () => Bun.sleep(80) })), () => {});
    expect(s.steps.map((x) => x.jobs)).toEqual([1]);
    expect(s.knee).toBeNull();
    expect(s.noKnee?.reason).toBe("p99");
    expect(s.noKnee?.why).toMatch(/^the first step \(1 job\) already crossed the p99 threshold: p99 \d+\.\d ms > 50 ms/);
    const figures: Figure[] = [];
    const series: unknown[] = [];
    const ctx = { target: "harness", url: "http://127.0.0.1:1", plan: { fleet: slow } as BenchPlan, figure: (f: Figure) => void figures.push(f), progress: () => {}, error: () => {}, fleet: (x: unknown) => void series.push(x) } satisfies SuiteContext;
    await fleetFigures(ctx, async () => ({ log: () => Bun.sleep(80) }));
    expect(series).toHaveLength(1);
    expect(figures.map((f) => [f.name, f.value])).toEqual([["fleet.knee.jobs", 0]]);
    expect(figures[0]!.note).toMatch(/^no knee: the first step \(1 job\) already crossed the p99 threshold/);
    expect(figures[0]!.noKnee).toEqual({ reason: "p99" });
  });
});
