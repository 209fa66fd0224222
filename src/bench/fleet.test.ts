import { describe, expect, test } from "bun:test";
import { fleetKnee, fleetShouldStop, fleetStep, jobLadder, runFleet, type FleetPlan, type FleetStep } from "./fleet.ts";

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
    expect(fleetKnee([step(1, 100, 500)], plan, "p99")?.jobs).toBe(0);
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
});
