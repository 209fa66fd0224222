import { describe, expect, test } from "bun:test";
import { fromSamples, single, type FigureSpec } from "./figure.ts";
import { ratiosOf } from "./result.ts";

const lat = (target: FigureSpec["target"], name: string, params: Record<string, string | number>, v: number) =>
  single({ target, group: "sdk", name, params, unit: "ms", better: "smaller" }, v);

describe("ratiosOf", () => {
  test("SDK figures over MLflow sync, HTTP over the harness, docker over native, memory over untracked", () => {
    const figs = [
      lat("mlflow-native", "sdk.log_step.latency", { mode: "sync", keys: 4 }, 4),
      lat("mlflow-native", "sdk.log_step.latency", { mode: "async", keys: 4 }, 1),
      lat("wandb-offline", "sdk.log_step.latency", { mode: "offline", keys: 4 }, 0.2),
      lat("harness", "http.log_batch.latency", { batch: 10 }, 0.1),
      lat("mlflow-native", "http.log_batch.latency", { batch: 10 }, 2),
      lat("mlflow-docker", "http.log_batch.latency", { batch: 10 }, 3),
      single({ target: "python-baseline", group: "memory", name: "memory.training.peak_rss", params: {}, unit: "bytes", better: "smaller" }, 100),
      single({ target: "wandb-offline", group: "memory", name: "memory.training.peak_rss", params: { mode: "offline" }, unit: "bytes", better: "smaller" }, 150),
    ];
    const r = Object.fromEntries(ratiosOf(figs).map((x) => [`${x.numerator} / ${x.denominator}`, x.value]));
    expect(r["mlflow-native/sdk.log_step.latency[mode=async,keys=4] / mlflow-native/sdk.log_step.latency[mode=sync,keys=4]"]).toBeCloseTo(0.25);
    expect(r["wandb-offline/sdk.log_step.latency[mode=offline,keys=4] / mlflow-native/sdk.log_step.latency[mode=sync,keys=4]"]).toBeCloseTo(0.05);
    expect(r["mlflow-native/http.log_batch.latency[batch=10] / harness/http.log_batch.latency[batch=10]"]).toBeCloseTo(20);
    expect(r["mlflow-docker/http.log_batch.latency[batch=10] / mlflow-native/http.log_batch.latency[batch=10]"]).toBeCloseTo(1.5);
    expect(r["wandb-offline/memory.training.peak_rss[mode=offline] / python-baseline/memory.training.peak_rss"]).toBeCloseTo(1.5);
    expect(Object.keys(r)).toHaveLength(6);
  });

  test("figures carry spread, and latencies under 1000 samples are flagged", () => {
    const f = fromSamples({ target: "harness", group: "throughput", name: "x", unit: "ms", better: "smaller" }, [1, 2, 3, 4, 100]);
    expect(f.value).toBe(3);
    expect(f.spread.max).toBe(100);
    expect(f.lowSamples).toBe(true);
    const g = fromSamples({ target: "harness", group: "throughput", name: "x", unit: "ms", better: "smaller" }, Array.from({ length: 1000 }, (_, i) => i));
    expect(g.lowSamples).toBeUndefined();
    expect(g.spread.p99).toBeCloseTo(989.01);
  });

  test("a figure measured with N workers is divided by the same figure with 1 worker", () => {
    const one = lat("mlflow-native", "http.log_batch.latency", { batch: 100 }, 40);
    const four = lat("mlflow-native", "http.log_batch.latency", { batch: 100, workers: 4 }, 10);
    const r = ratiosOf([one, four]);
    // One sample each here: the ratio is as indicative as they are.
    expect(r).toEqual([{ name: "http.log_batch.latency", numerator: four.id, denominator: one.id, value: 0.25, lowSamples: true }]);
  });

  test("a direct-store artifact figure is divided by the proxy's at the same size, nothing else", () => {
    const mbs = (name: string, size: string, v: number) => single({ target: "mlflow-native", group: "artifacts", name, params: { size }, unit: "MB/s", better: "bigger" }, v);
    const served = mbs("http.artifact.upload", "1MB", 50);
    const direct = mbs("direct.artifact.upload", "1MB", 400);
    const other = mbs("direct.artifact.upload", "4MB", 800);
    const down = mbs("http.artifact.download", "1MB", 90);
    expect(ratiosOf([served, direct, other, down])).toEqual([{ name: "direct.artifact.upload", numerator: direct.id, denominator: served.id, value: 8, lowSamples: true }]);
  });
});
