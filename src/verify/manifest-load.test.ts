/**
 * A large run's points in the binary file beside the manifest (python/e2e_track/points.py) load
 * into the same verdicts as the same points inline, and only the records the manifest counts
 * are expected.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadManifest } from "./manifest-load.ts";
import { compareRun } from "./compare.ts";
import { metricPoints, isSeries } from "./series.ts";
import type { Manifest, MetricPoint } from "./manifest.ts";
import type { ObservedRun } from "./observed.ts";

const dir = mkdtempSync(join(tmpdir(), "e2e-manifest-load-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const points: Record<string, MetricPoint[]> = {
  a: [[1, 0.5, 1000], [2, "NaN", 1001], [3, 0.1 + 0.2, 1002]],
  b: [[1, "Infinity", 1000], [2, -0.25, 1001]],
};

function write(name: string, extra: MetricPoint[] = []): string {
  // Interleaved as logged: a record per point, (key index, step, value, timestamp) as LE float64.
  const recs: number[][] = [];
  const keys = Object.keys(points);
  for (let i = 0; i < 3; i++) keys.forEach((k, ki) => points[k]![i] && recs.push([ki, points[k]![i]![0], Number(points[k]![i]![1]), points[k]![i]![2]]));
  for (const p of extra) recs.push([0, p[0], Number(p[1]), p[2]]);
  const buf = Buffer.alloc(recs.length * 32);
  recs.flat().forEach((x, i) => buf.writeDoubleLE(x, i * 8));
  writeFileSync(join(dir, `${name}.f64`), buf);
  const m: Manifest = {
    schema: 1, backend: "mlflow", workflow: "scale", environment: {},
    runs: [{ key: "main", runId: "r", name: "n", params: {}, tags: {}, metrics: {}, artifacts: [], status: "FINISHED", pointsFile: { path: `${name}.f64`, keys, counts: keys.map((k) => points[k]!.length) } }],
  };
  writeFileSync(join(dir, `${name}.json`), JSON.stringify(m));
  return join(dir, `${name}.json`);
}

const observed = (change = false): ObservedRun => ({
  runId: "r", params: {}, tags: {}, artifacts: {},
  metrics: Object.fromEntries(Object.entries(points).map(([k, pts]) => [k, pts.map(([step, value, timestamp], i) => ({ step, value: change && k === "a" && i === 2 ? 0.3 : value, timestamp }))])),
});

describe("manifest points file", () => {
  test("loads as columns and judges exactly as the inline points", async () => {
    const m = await loadManifest(write("same"));
    const run = m.runs[0]!;
    expect(isSeries(run.metrics.a)).toBe(true);
    expect(metricPoints(run.metrics.a!)).toEqual(points.a!);
    expect(metricPoints(run.metrics.b!)).toEqual(points.b!);
    const inline = { ...run, metrics: points, pointsFile: undefined };
    const rule = { timestamps: { toleranceMs: 0, rule: "exact" } };
    for (const obs of [observed(), observed(true)]) expect(compareRun(run, obs, rule)).toEqual(compareRun(inline, obs, rule));
    expect(compareRun(run, observed(true), rule).filter((c) => c.status === "fail").map((c) => c.name)).toEqual(["metrics.a"]);
  });

  test("records past the manifest's counts (logged after its last write) are not expected", async () => {
    const m = await loadManifest(write("crashed", [[4, 9, 2000]]));
    expect(m.runs[0]!.metrics.a!.length).toBe(3);
  });

  test("a file shorter than the manifest's counts is an error naming both", async () => {
    const path = write("short");
    writeFileSync(join(dir, "short.f64"), Buffer.alloc(32 * 2));
    await expect(loadManifest(path)).rejects.toThrow(/holds 2 points, the manifest counts 5/);
  });
});
