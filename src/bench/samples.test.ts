import { describe, expect, test } from "bun:test";
import { fromSamples, type Figure } from "./figure.ts";
import type { FleetSeries } from "./fleet.ts";
import { renderHtml } from "./html.ts";
import { CapPool } from "./load.ts";
import { renderMarkdown } from "./markdown.ts";
import { BENCH_RESULT_SCHEMA, ratiosOf, type BenchResult } from "./result.ts";
import { sdkFigures } from "./sdk.ts";
import { lowSampleLines, modeRows, renderBenchTable } from "./table.ts";

const budget = { minSamples: 1000, maxSamples: 1000, budgetMs: 0, capMs: 1000 };
const lat = (target: Figure["target"], batch: number, n: number, why?: string) =>
  fromSamples({ target, group: "throughput", name: "http.log_batch.latency", params: { batch }, unit: "ms", better: "smaller", ...(why ? { lowSamplesWhy: why } : {}) }, Array.from({ length: n }, (_, i) => 1 + (i % 7)));

const result = (figures: Figure[], fleet: FleetSeries[] = []): BenchResult => ({
  schema: BENCH_RESULT_SCHEMA, e2eVersion: "t", status: "complete", profile: "quick", startedAt: "2026-01-01T00:00:00Z", estimatedSeconds: 1,
  environment: {}, figures, scalability: [], fleet, ratios: ratiosOf(figures), errors: [],
});

describe("bench reports: samples (1000 or why), no knee, native beside docker", () => {
  test("a shared cap: each figure gets at least its own, plus what the ones before it left", () => {
    const pool = new CapPool(budget, 4);
    expect(pool.capMs()).toBe(1000);
    pool.spent(200); // log-batch of 1 reached its 1000 samples in 0.2 s
    expect(pool.capMs()).toBeCloseTo(3800 / 3);
    pool.spent(3000); // a slow one overran its share: the next still gets its own cap
    expect(pool.capMs()).toBe(1000);
  });

  test("every figure under 1000 samples says why, in the table, the Markdown and the HTML; a latency and its throughput share a line", () => {
    const why = "24 calls of about 290.8 ms fit the 8 s cap of this figure (1000 would take 291 s)";
    const low = lat("mlflow-native", 1000, 24, why);
    const thr = fromSamples({ target: "mlflow-native", group: "throughput", name: "http.log_batch.throughput", params: { batch: 1000 }, unit: "points/s", better: "bigger", lowSamplesWhy: why }, Array(24).fill(3000));
    const figs = [lat("harness", 1000, 1000), low, thr];
    expect(thr.lowSamples).toBe(true);
    expect(lowSampleLines(figs)).toEqual([`mlflow-native http.log_batch.latency[batch=1000] (n=24), http.log_batch.throughput[batch=1000] (n=24): ${why}`]);
    const r = result(figs);
    // The ratio over the harness rests on the 24 samples too: flagged.
    expect(r.ratios.find((x) => x.numerator === low.id)?.lowSamples).toBe(true);
    for (const text of [renderBenchTable(r), renderMarkdown(r), renderHtml(r)]) expect(text).toContain(`http.log_batch.throughput[batch=1000] (n=24): ${why}`);
    expect(renderMarkdown(r)).toMatch(/\| mlflow-native\/http\.log_batch\.latency\[batch=1000\] \| harness\/http\.log_batch\.latency\[batch=1000\] \| [\d.]+ \(.*\) \* \|/);
  });

  test("SDK figures say why too: the log phase's budget, one finish per process, and the overhead ratio of a few hundred steps", () => {
    const out = { backend: "mlflow", mode: "sync", keys: 4, initMs: 1, logLatencyMs: Array(344).fill(3), plainStepMs: Array(200).fill(2), trackedStepMs: Array(200).fill(3), finishMs: 10, peakRssBytes: null, rssBeforeTrackingBytes: null, points: 1, logPhaseMs: 1100, flushMs: 1, treePeakRssBytes: 0 };
    const figs = sdkFigures({ backend: "mlflow", mode: "sync" }, out, { sdk: { steps: 1000, keys: 4, blocks: 10, blockSteps: 20, budgetSeconds: 6 } });
    const byName = Object.fromEntries(figs.map((f) => [f.name, f]));
    expect(byName["sdk.log_step.latency"]!.lowSamplesWhy).toBe("344 log calls of about 3.00 ms fit the 6 s budget of the log phase");
    expect(byName["sdk.log.throughput"]!.lowSamplesWhy).toBe(byName["sdk.log_step.latency"]!.lowSamplesWhy);
    expect(byName["sdk.finish.latency"]!.lowSamplesWhy).toBe("one end of run per SDK process");
    expect(byName["sdk.train_step.overhead"]!.lowSamples).toBe(true);
    expect(byName["sdk.train_step.overhead"]!.lowSamplesWhy).toBe("200 tracked steps beside 200 plain ones (up to 10 interleaved blocks of 20 each, cut at 6 s)");
    expect(figs.filter((f) => f.lowSamples && !f.lowSamplesWhy)).toEqual([]);
  });

  test("a fleet with no knee says so in every report, naming the threshold the first step crossed", () => {
    const plan = { keys: 20, intervalMs: 100, artifactEvery: 0, artifactBytes: 0, stepSeconds: 3, maxJobs: 32, budgetSeconds: 30, p99LimitMs: 100, errorRateLimit: 0.01 };
    const why = "the first step (1 job) already crossed the p99 threshold: p99 105.6 ms > 100 ms (one job of 20 metrics every 100 ms already falls behind)";
    const fleet: FleetSeries = { target: "mlflow-native", plan, steps: [{ jobs: 1, offeredPointsPerSec: 200, pointsPerSec: 200, requests: 30, errors: 0, errorRate: 0, artifacts: 0, seconds: 3, p50Ms: 20, p99Ms: 105.6, maxMs: 110, lateCalls: 1 }], knee: null, noKnee: { reason: "p99", why } };
    const r = result([], [fleet]);
    for (const [text, esc] of [[renderBenchTable(r), false], [renderMarkdown(r), false], [renderHtml(r), true]] as const) {
      expect(text).toContain(`no knee: ${esc ? why.replace(">", "&#62;") : why}`);
      expect(text).not.toMatch(/knee at 0 job/);
    }
  });

  test("--mode all: native (SQLite) and docker (PostgreSQL) side by side with docker / native, in every report", () => {
    const native = lat("mlflow-native", 10, 1000);
    const docker = fromSamples({ ...native, params: { batch: 10 }, target: "mlflow-docker" }, Array.from({ length: 1000 }, (_, i) => 2 + 2 * (i % 7)));
    const r = result([lat("harness", 10, 1000), native, docker]);
    r.environment = { servers: [{ target: "mlflow-native", store: "sqlite, served artifacts on local disk" }, { target: "mlflow-docker", store: "postgresql, served artifacts on a volume" }] };
    const rows = modeRows(r);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.slice(0, 2)).toEqual(["http.log_batch.latency", "batch=10"]);
    expect(rows[0]![4]).toMatch(/^2\.00 \([\d.]+-[\d.]+\)$/); // medians 4 and 8 ms
    for (const text of [renderBenchTable(r), renderMarkdown(r), renderHtml(r)]) {
      expect(text).toContain("native (sqlite)");
      expect(text).toContain("docker (postgresql)");
    }
    expect(modeRows(result([native]))).toEqual([]);
  });
});
