import { describe, expect, test } from "bun:test";
import { fromSamples, rawSamples } from "./figure.ts";
import { timeCalls } from "./load.ts";
import { meanInterval, medianInterval, normalQuantile, percentile, ratioInterval, spreadOf } from "./stats.ts";

test("spread: min, max, mean, stddev, interpolated percentiles", () => {
  const s = spreadOf([5, 1, 4, 2, 3]);
  expect(s).toMatchObject({ min: 1, max: 5, mean: 3, p50: 3 });
  expect(s.stddev).toBeCloseTo(Math.sqrt(2.5));
  expect(percentile([0, 10], 0.95)).toBeCloseTo(9.5);
  expect(spreadOf([7]).stddev).toBe(0);
  expect(() => spreadOf([])).toThrow();
});

describe("no trimming", () => {
  test("a figure keeps every sample: its max is the slowest call, its count all calls", () => {
    const xs = [...Array.from({ length: 985 }, () => 1), ...Array.from({ length: 14 }, () => 500), 900];
    const f = fromSamples({ target: "harness", group: "api", name: "x", unit: "ms", better: "smaller" }, xs);
    expect(f.samples).toBe(1000);
    expect(f.spread.max).toBe(900);
    expect(f.spread.p99).toBeGreaterThan(1);
    expect(rawSamples.get(f)).toHaveLength(1000);
  });

  test("timeCalls times every call, slow ones included, and says why it stopped short", async () => {
    let i = 0;
    const t = await timeCalls(async () => void (++i % 7 === 0 && (await Bun.sleep(30))), { minSamples: 50, maxSamples: 50, budgetMs: 0, capMs: 60_000 });
    expect(t.ms).toHaveLength(50);
    expect(i).toBe(51); // one untimed call first
    expect(t.ms.filter((ms) => ms >= 25).length).toBe(Math.floor(51 / 7) - (1 % 7 === 0 ? 1 : 0));
    expect(t.short).toBeUndefined();
    const capped = await timeCalls(() => Bun.sleep(40), { minSamples: 1000, maxSamples: 1000, budgetMs: 0, capMs: 100 });
    expect(capped.ms.length).toBeLessThan(1000);
    expect(capped.short).toContain("cap of this figure");
    const f = fromSamples({ target: "harness", group: "api", name: "x", unit: "ms", better: "smaller", lowSamplesWhy: capped.short }, capped.ms);
    expect(f).toMatchObject({ lowSamples: true, lowSamplesWhy: capped.short });
  });

  test("rates built from few timed calls are flagged too, not only latencies", () => {
    const f = fromSamples({ target: "harness", group: "throughput", name: "x", unit: "points/s", better: "bigger" }, [10, 20, 30]);
    expect(f.lowSamples).toBe(true);
    const m = fromSamples({ target: "harness", group: "memory", name: "m", unit: "bytes", better: "smaller" }, [1e6]);
    expect(m.lowSamples).toBeUndefined();
  });
});

describe("confidence intervals", () => {
  test("median: the textbook order statistics (n=10: x2..x9; 20: x6..x15; 100: x40..x61; 1000: x469..x532)", () => {
    const ranks = (n: number) => Array.from({ length: n }, (_, i) => i + 1);
    for (const [n, lo, hi] of [[10, 2, 9], [20, 6, 15], [100, 40, 61], [1000, 469, 532]] as const) {
      const ci = medianInterval(ranks(n));
      expect([ci.lo, ci.hi, ci.level, ci.method]).toEqual([lo, hi, 0.95, "order-statistic"]);
    }
    // Too few samples for 95 %: [min, max] at the level it really has (1 - 2 / 2^5).
    expect(medianInterval([5, 1, 3, 2, 4])).toMatchObject({ lo: 1, hi: 5, level: 0.9375 });
    // Large n: the normal approximation, symmetric around the median.
    const big = medianInterval(ranks(10_000));
    expect(big.lo).toBeGreaterThan(4850);
    expect(big.hi).toBeLessThan(5150);
    expect(big.lo + big.hi).toBeCloseTo(10_001, -1);
  });

  test("median interval covers the true median about 95 % of the time (simulated, skewed data)", () => {
    let seed = 42;
    const rand = () => ((seed = (seed * 1664525 + 1013904223) >>> 0) / 2 ** 32);
    const trueMedian = Math.LN2; // exponential(1)
    let hits = 0;
    for (let k = 0; k < 400; k++) {
      const xs = Array.from({ length: 60 }, () => -Math.log(1 - rand()));
      const ci = medianInterval(xs);
      if (ci.lo <= trueMedian && trueMedian <= ci.hi) hits++;
    }
    expect(hits / 400).toBeGreaterThan(0.92);
  });

  test("mean: a reproducible bootstrap around the mean", () => {
    const xs = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    const a = meanInterval(xs);
    expect(a).toEqual(meanInterval(xs));
    expect(a.lo).toBeLessThan(5.5);
    expect(a.hi).toBeGreaterThan(5.5);
    expect(a.lo).toBeGreaterThan(3);
  });

  test("ratio of medians: the quotient of both intervals contains the ratio", () => {
    const a = Array.from({ length: 1000 }, (_, i) => 2 * (i + 1));
    const b = Array.from({ length: 1000 }, (_, i) => i + 1);
    const ci = ratioInterval(a, b)!;
    expect(ci.lo).toBeLessThan(2);
    expect(ci.hi).toBeGreaterThan(2);
    expect(ratioInterval([1, 2, 3], [1, 2, 3])).toBeUndefined(); // too few samples for the level
  });

  test("normal quantiles", () => {
    expect(normalQuantile(0.975)).toBeCloseTo(1.959964, 5);
    expect(normalQuantile(0.01)).toBeCloseTo(-2.326348, 5);
    expect(normalQuantile(0.5)).toBeCloseTo(0, 9);
  });
});
