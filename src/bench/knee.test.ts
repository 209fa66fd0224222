import { describe, expect, test } from "bun:test";
import { findKnee, noKneeWhy, shouldStop, type ScaleStep } from "./knee.ts";

const step = (clients: number, throughput: number, errors = 0): ScaleStep => ({ clients, throughput, errors, requests: 10, seconds: 1, p50Ms: 1, p99Ms: 2, ...(errors ? { firstError: "HTTP 500" } : {}) });

describe("knee", () => {
  test("keeps stepping while throughput rises, stops at the plateau, knee at the best", () => {
    const steps = [step(1, 100), step(2, 180)];
    expect(shouldStop(steps)).toBeUndefined();
    steps.push(step(4, 185));
    expect(shouldStop(steps)).toBe("plateau");
    expect(findKnee(steps, "plateau")).toEqual({ clients: 4, throughput: 185, reason: "plateau" });
  });

  test("errors stop stepping; the knee is among the clean steps and carries the error", () => {
    const steps = [step(1, 100), step(2, 190), step(4, 300, 3)];
    expect(shouldStop(steps)).toBe("errors");
    expect(findKnee(steps, "errors")).toEqual({ clients: 2, throughput: 190, reason: "errors", error: "HTTP 500" });
    // The first step already failed: no knee, and why (never a knee of 0 points/s).
    expect(findKnee([step(1, 0, 1)], "errors")).toBeNull();
    expect(noKneeWhy([step(1, 0, 1)])).toBe("the first step (1 client) already failed: 1 error(s) (HTTP 500)");
  });
});

describe("scaleSeries against a server that refuses every request", () => {
  test("no knee (null) with why, a 0-clients figure, no throughput figure", async () => {
    const { scaleSeries } = await import("./http-suite.ts");
    const figures: { name: string; value: number; note?: string; noKnee?: { reason: string } }[] = [];
    const plan = { scale: { maxClients: 4, stepSeconds: 0.2, batch: 10, budgetSeconds: 5 } } as unknown as import("./plan.ts").BenchPlan;
    const s = await scaleSeries({ target: "harness", url: "http://127.0.0.1:1", plan, figure: (f) => void figures.push(f), progress: () => {}, error: () => {} }, ["r"]);
    expect(s.steps.map((x) => x.clients)).toEqual([1]);
    expect(s.knee).toBeNull();
    expect(s.noKnee?.reason).toBe("errors");
    // The client went on after its first error until the step ended (or 5 in a row): one or more.
    expect(s.noKnee?.why).toMatch(/^the first step \(1 client\) already failed: [1-5] error\(s\)/);
    expect(figures.map((f) => [f.name, f.value])).toEqual([["scale.knee.clients", 0]]);
    expect(figures[0]!.note).toStartWith("no knee: the first step (1 client) already failed");
    // Marked, so no ratio and no numeric baseline change is built on its 0 (no-knee.test.ts).
    expect(figures[0]!.noKnee).toEqual({ reason: "errors" });
  });
});
