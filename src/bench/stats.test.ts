import { expect, test } from "bun:test";
import { percentile, spreadOf } from "./stats.ts";

test("spread: min, max, mean, stddev, interpolated percentiles", () => {
  const s = spreadOf([5, 1, 4, 2, 3]);
  expect(s).toMatchObject({ min: 1, max: 5, mean: 3, p50: 3 });
  expect(s.stddev).toBeCloseTo(Math.sqrt(2.5));
  expect(percentile([0, 10], 0.95)).toBeCloseTo(9.5);
  expect(spreadOf([7]).stddev).toBe(0);
  expect(() => spreadOf([])).toThrow();
});
