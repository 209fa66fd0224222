import { describe, expect, test } from "bun:test";
import Ajv2020 from "ajv/dist/2020.js";
import { join } from "node:path";
import { ceilingLine, ceilingOf, ceilingSummary } from "./ceiling.ts";
import { fromSamples, type Figure, type Target } from "./figure.ts";
import { renderMarkdown } from "./markdown.ts";
import { renderHtml } from "./html.ts";
import { BENCH_RESULT_SCHEMA, type BenchResult } from "./result.ts";

const mbps = (target: Target, name: string, size: string, v: number): Figure =>
  fromSamples({ target, group: name.startsWith("tcp.") ? "ceiling" : "artifacts", name, params: { size }, unit: "MB/s", better: "bigger" }, [v, v, v]);
const ms = (target: Target, v: number): Figure => fromSamples({ target, group: "throughput", name: "http.log_batch.latency", params: { batch: 1 }, unit: "ms", better: "smaller" }, Array(1000).fill(v));

/** One size's four transfer tiers for uploads: backend, harness (client), sink alone, raw TCP. */
const upload = (size: string, backend: number, client: number, sink: number, loop: number) => [
  mbps("mlflow-native", "http.artifact.upload", size, backend),
  mbps("harness", "http.artifact.upload", size, client),
  mbps("harness", "tcp.sink.upload", size, sink),
  mbps("harness", "tcp.loopback.transfer", size, loop),
];
const rowOf = (figs: Figure[], id: string) => ceilingOf(figs).find((r) => r.figure === id)!;

describe("the harness ceiling, judged per figure", () => {
  test("a client far below what the sink takes is the bound; both goals missed, said so with the reason", () => {
    const figs = upload("16MB", 450, 500, 2000, 2500);
    const r = rowOf(figs, "harness/http.artifact.upload[size=16MB]");
    expect(r).toMatchObject({ bound: "client", tenX: false, halfLoopback: false, backend: "mlflow-native/http.artifact.upload[size=16MB]" });
    expect(r.overBackend).toBeCloseTo(500 / 450);
    expect(r.ofLoopback).toBeCloseTo(0.2);
    const line = ceilingLine(r, figs);
    expect(line).toContain("10x goal NOT met");
    expect(line).toContain("half-loopback goal NOT met");
    expect(line).toContain("bounded by the client");
    expect(line).toContain("the backend already moves 18% of raw TCP");
  });

  test("a sink that is slow from a plain socket too is the bound; near the sink and loopback, the loopback", () => {
    expect(rowOf(upload("16MB", 100, 900, 1000, 2500), "harness/http.artifact.upload[size=16MB]").bound).toBe("sink");
    const r = rowOf(upload("256MB", 100, 2000, 2200, 2500), "harness/http.artifact.upload[size=256MB]");
    expect(r).toMatchObject({ bound: "loopback", tenX: true, halfLoopback: true });
    expect(ceilingLine(r, upload("256MB", 100, 2000, 2200, 2500))).not.toContain("out of reach");
  });

  test("the half-loopback goal applies to bodies of 1 MB and more only", () => {
    expect(rowOf(upload("64KB", 10, 100, 400, 1000), "harness/http.artifact.upload[size=64KB]").halfLoopback).toBeUndefined();
    expect(rowOf(upload("1MB", 10, 100, 400, 1000), "harness/http.artifact.upload[size=1MB]").halfLoopback).toBe(false);
  });

  test("latencies: times faster than the fastest backend (the smallest latency), not the first one found", () => {
    const figs = [ms("mlflow-native", 5), ms("mlflow-docker", 0.5), ms("harness", 0.1)];
    const r = rowOf(figs, "harness/http.log_batch.latency[batch=1]");
    expect(r.backend).toBe("mlflow-docker/http.log_batch.latency[batch=1]");
    expect(r.overBackend).toBeCloseTo(5);
    expect(ceilingLine(rowOf([ms("mlflow-native", 162), ms("harness", 0.1)], "harness/http.log_batch.latency[batch=1]"), figs)).toContain("1620x the fastest");
    expect(r.tenX).toBe(false);
    expect(r.bound).toBeUndefined();
  });

  test("a harness figure with nothing to compare is not judged; the summary counts what was", () => {
    const knee = (target: Target) => fromSamples({ target, group: "scalability", name: "scale.knee.clients", params: { batch: 100 }, unit: "clients", better: "bigger" }, [1]);
    const figs = [ms("harness", 0.1), knee("harness"), knee("mlflow-native"), ...upload("4MB", 100, 2000, 2200, 2500)];
    const rows = ceilingOf(figs);
    expect(rows.map((r) => r.figure)).toEqual(["harness/http.artifact.upload[size=4MB]"]);
    expect(ceilingSummary(rows)).toBe("10x the fastest backend: 1 of 1 figures; at least half of raw TCP for bodies of 1 MB and more: 1 of 1. Both goals are met in this run.");
  });

  test("the Markdown and HTML reports say it, goal by goal", () => {
    const figures = [...upload("16MB", 450, 500, 2000, 2500), ms("mlflow-native", 5), ms("harness", 0.1)];
    const r: BenchResult = { schema: BENCH_RESULT_SCHEMA, e2eVersion: "t", status: "complete", profile: "quick", startedAt: "t", estimatedSeconds: 1, environment: {}, figures, scalability: [], fleet: [], ratios: [], errors: [] };
    const md = renderMarkdown(r);
    expect(md).toContain("## Harness ceiling");
    expect(md).toContain("10x the fastest backend: 1 of 2 figures; at least half of raw TCP for bodies of 1 MB and more: 0 of 1. The goals are not met");
    expect(md).toContain("- http.artifact.upload[size=16MB]: harness 500 MB/s; 1.11x the fastest backend");
    expect(renderHtml(r)).toContain('<ul id="ceiling"><li>http.artifact.upload[size=16MB]: harness 500 MB/s');
  });

  test("the rows fit docs/schema/bench-result.schema.json", async () => {
    const figures = [...upload("16MB", 450, 500, 2000, 2500), ms("mlflow-native", 5), ms("harness", 0.1)];
    const doc = { schema: BENCH_RESULT_SCHEMA, e2eVersion: "t", status: "complete", profile: "quick", startedAt: "t", estimatedSeconds: 1, environment: {}, figures, scalability: [], fleet: [], ratios: [], errors: [], ceiling: ceilingOf(figures) };
    const schema = await Bun.file(join(import.meta.dir, "..", "..", "docs", "schema", "bench-result.schema.json")).json();
    const validate = new Ajv2020({ strict: false, allErrors: true, validateFormats: false, logger: false }).compile(schema);
    // Only the ceiling's part is judged here (this document has no environment block).
    const ceilingErrors = (d: unknown) => (validate(d) ? [] : (validate.errors ?? []).filter((e) => e.instancePath.startsWith("/ceiling")).map((e) => `${e.instancePath} ${e.message}`));
    expect(doc.ceiling.length).toBe(2);
    expect(ceilingErrors(doc)).toEqual([]);
    expect(ceilingErrors({ ...doc, ceiling: [{ figure: "x", bound: "network" }] })).toEqual(["/ceiling/0/bound must be equal to one of the allowed values"]);
  });
});
