/**
 * A sweep with no knee leaves a knee figure of 0 as a placeholder (http-suite.ts): it must never
 * become a number in a ratio (docker / native, N workers / 1) nor a numeric --baseline change.
 */
import { describe, expect, test } from "bun:test";
import { validateAgainst } from "../../tests/schema.ts";
import { compare, describeRegressions, kneesLost } from "./baseline.ts";
import { fromSamples, type Figure, type Target } from "./figure.ts";
import { renderHtml } from "./html.ts";
import { renderMarkdown } from "./markdown.ts";
import { BENCH_RESULT_SCHEMA, incomparableOf, ratiosOf, type BenchResult } from "./result.ts";
import { modeRows, renderBenchTable } from "./table.ts";

const params = { keys: 10, interval_ms: 100 };
/** A fleet knee figure as http-suite.ts writes it: `jobs`, or no knee (0 with the mark). */
function kneeJobs(target: Target, jobs: number | "none", extra: Record<string, number> = {}): Figure {
  const f = fromSamples({ target, group: "scalability", name: "fleet.knee.jobs", params: { ...params, ...extra }, unit: "clients", better: "bigger", note: jobs === "none" ? "no knee: the first step (1 job) already crossed the p99 threshold" : "stopped: plateau" }, [jobs === "none" ? 0 : jobs]);
  if (jobs === "none") f.noKnee = { reason: "p99" };
  return f;
}

function result(figures: Figure[]): BenchResult {
  return {
    schema: BENCH_RESULT_SCHEMA, e2eVersion: "t", status: "complete", profile: "quick", startedAt: "2026-12-01T00:00:00Z", estimatedSeconds: 1,
    environment: { cpus: 2, cpu: "x", memoryBytes: 1, os: "linux", bun: "1", mitata: "1", gpu: [], mlflowWorkers: 1, servers: [{ target: "mlflow-native", store: "sqlite" }, { target: "mlflow-docker", store: "postgresql" }] },
    figures, scalability: [], fleet: [], ratios: ratiosOf(figures), errors: [],
  };
}

describe("a no-knee figure in ratio tables", () => {
  test("docker without a knee beside native with one: no ratio, the row says no knee (reason) and not comparable", async () => {
    const native = kneeJobs("mlflow-native", 4);
    const docker = kneeJobs("mlflow-docker", "none");
    const r = result([native, docker]);
    expect(r.ratios).toEqual([]);
    expect(incomparableOf(r.figures)).toEqual([{ name: "fleet.knee.jobs", numerator: docker.id, denominator: native.id, why: `no knee (p99) on ${docker.id}` }]);
    expect(modeRows(r)).toEqual([["fleet.knee.jobs", "keys=10 interval_ms=100", "4.00 clients", "no knee (p99)", "not comparable (no knee)"]]);
    const table = renderBenchTable(r);
    expect(table).not.toContain("0.000 clients");
    expect(table).toContain("no knee (p99)");
    const md = renderMarkdown(r);
    expect(md).not.toContain("0.000 clients");
    expect(md).toContain("| fleet.knee.jobs | keys=10 interval_ms=100 | 4.00 clients | no knee (p99) | not comparable (no knee) |");
    expect(md).toContain(`| ${docker.id} | ${native.id} | not comparable (no knee): no knee (p99) on ${docker.id} |`);
    const html = renderHtml(r);
    expect(html).not.toContain("0.000 clients");
    expect(html).toContain(`<td class="n">no knee (p99)</td><td class="n">not comparable (no knee)</td>`);
    expect(html).toContain('<tr class="not-comparable">');
    // The baseline had a knee on docker: the JSON and the Markdown say it disappeared.
    r.comparison = compare([kneeJobs("mlflow-docker", 2)], r.figures, 0.1);
    expect(renderMarkdown(r)).toContain(`- ${docker.id}: knee disappeared: 2 -> no knee (p99)`);
    const doc = JSON.parse(JSON.stringify(r));
    expect(doc.figures[1].noKnee).toEqual({ reason: "p99" });
    expect(await validateAgainst("bench-result.schema.json", doc)).toEqual([]);
    doc.comparison.knees[0].change = "vanished"; // the schema checks what it documents
    expect(await validateAgainst("bench-result.schema.json", doc)).not.toEqual([]);
  });

  test("native without a knee (the denominator): no ratio either, and the row still shows", () => {
    const r = result([kneeJobs("mlflow-native", "none"), kneeJobs("mlflow-docker", 2)]);
    expect(r.ratios).toEqual([]);
    expect(modeRows(r)).toEqual([["fleet.knee.jobs", "keys=10 interval_ms=100", "no knee (p99)", "2.00 clients", "not comparable (no knee)"]]);
  });

  test("--workers 1,2: 2 workers without a knee is not divided by 1 worker's knee", () => {
    const one = kneeJobs("mlflow-native", 2);
    const two = kneeJobs("mlflow-native", "none", { workers: 2 });
    const r = result([one, two]);
    expect(r.ratios).toEqual([]);
    expect(incomparableOf(r.figures).map((x) => [x.numerator, x.denominator])).toEqual([[two.id, one.id]]);
    expect(renderMarkdown(r)).toContain(`| ${two.id} | ${one.id} | not comparable (no knee)`);
    // Both with a knee: the ratio stands as before.
    expect(ratiosOf([one, kneeJobs("mlflow-native", 4, { workers: 2 })]).map((x) => x.value)).toEqual([2]);
  });
});

describe("--baseline with a no-knee figure", () => {
  test("a knee that disappeared is said as such, not as a 100% numeric regression, and fails", () => {
    const c = compare([kneeJobs("mlflow-native", 4)], [kneeJobs("mlflow-native", "none")], 0.1);
    expect(c.regressions).toEqual([]);
    expect(c.knees).toEqual([{ id: kneeJobs("mlflow-native", 4).id, change: "disappeared", baseline: 4, current: "no knee (p99)" }]);
    expect(kneesLost(c)).toHaveLength(1);
    expect(describeRegressions(c)).toBe(`1 knee disappeared: ${c.knees![0]!.id} knee disappeared: 4 -> no knee (p99)`);
  });

  test("a knee that appeared is listed, not a numeric improvement nor a failure", () => {
    const c = compare([kneeJobs("mlflow-native", "none")], [kneeJobs("mlflow-native", 8)], 0.1);
    expect(c.regressions).toEqual([]);
    expect(c.improved).toEqual([]);
    expect(c.knees?.map((k) => k.change)).toEqual(["appeared"]);
    expect(kneesLost(c)).toEqual([]);
  });

  test("a baseline written before the mark (only the note says no knee) is read the same way", () => {
    const old = kneeJobs("mlflow-native", "none");
    delete old.noKnee;
    const c = compare([old], [kneeJobs("mlflow-native", 2)], 0.1);
    expect(c.knees).toEqual([{ id: old.id, change: "appeared", baseline: "no knee (not recorded)", current: 2 }]);
  });

  test("no knee on both sides: nothing changed", () => {
    const c = compare([kneeJobs("mlflow-native", "none")], [kneeJobs("mlflow-native", "none")], 0.1);
    expect(c.compared).toBe(1);
    expect(c.regressions).toEqual([]);
    expect(c.knees).toBeUndefined();
  });
});
