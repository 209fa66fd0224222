import { describe, expect, test } from "bun:test";
import { findKnee, shouldStop, type ScaleStep } from "./knee.ts";

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
    expect(findKnee([step(1, 0, 1)], "errors")?.clients).toBe(0);
  });
});
