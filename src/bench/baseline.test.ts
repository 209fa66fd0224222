import { describe, expect, test } from "bun:test";
import { compare, describeRegressions, parseBaseline, parseThreshold } from "./baseline.ts";
import { single } from "./figure.ts";
import { E2EError } from "../util/errors.ts";

const thr = (v: number) => single({ target: "mlflow-native", group: "throughput", name: "http.log_batch.throughput", params: { batch: 100 }, unit: "points/s", better: "bigger" }, v);
const lat = (v: number) => single({ target: "mlflow-native", group: "api", name: "api.get_run.latency", params: {}, unit: "ms", better: "smaller" }, v);

describe("baseline comparison", () => {
  test("a drop in throughput or a rise in latency beyond the threshold is a regression, naming the figure", () => {
    const c = compare([thr(1000), lat(10)], [thr(850), lat(10.5)], 0.1);
    expect(c.compared).toBe(2);
    expect(c.regressions.map((r) => r.id)).toEqual(["mlflow-native/http.log_batch.throughput[batch=100]"]);
    expect(c.regressions[0]!.worseBy).toBeCloseTo(0.15);
    expect(describeRegressions(c)).toContain("mlflow-native/http.log_batch.throughput[batch=100] 1000 -> 850 points/s (15.0% worse)");
    const c2 = compare([lat(10)], [lat(12)], 0.1);
    expect(c2.regressions[0]!.id).toBe("mlflow-native/api.get_run.latency");
  });

  test("within the threshold, or better: no regression", () => {
    const c = compare([thr(1000), lat(10)], [thr(950), lat(5)], 0.1);
    expect(c.regressions).toEqual([]);
    expect(c.improved).toEqual(["mlflow-native/api.get_run.latency"]);
  });

  test("figures only one side has are listed, not failed", () => {
    const c = compare([thr(1000)], [lat(10)], 0.1);
    expect(c.compared).toBe(0);
    expect(c.missing).toEqual(["mlflow-native/http.log_batch.throughput[batch=100]"]);
  });

  test("thresholds: 10%, 10, 0.1", () => {
    expect(parseThreshold("10%")).toBeCloseTo(0.1);
    expect(parseThreshold("10")).toBeCloseTo(0.1);
    expect(parseThreshold("0.1")).toBeCloseTo(0.1);
    expect(() => parseThreshold("ten")).toThrow(E2EError);
  });

  test("malformed baseline: a usage error (exit 2) with one line", () => {
    for (const text of ["{not json", "[]", JSON.stringify({ figures: [{ id: 1 }] })]) {
      let err: unknown;
      try {
        parseBaseline(text, "b.json");
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(E2EError);
      expect((err as E2EError).exitCode).toBe(2);
      expect((err as Error).message).not.toContain("\n");
    }
    expect(parseBaseline(JSON.stringify({ figures: [thr(1)] }))).toHaveLength(1);
  });
});
