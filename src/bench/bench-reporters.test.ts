import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Reporters } from "../report/reporter.ts";
import { benchReporters } from "./bench-reporters.ts";
import { fromSamples } from "./figure.ts";
import { BENCH_RESULT_SCHEMA, type BenchResult } from "./result.ts";

const dir = mkdtempSync(join(tmpdir(), "e2e-bench-reporters-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("a report that cannot be written is recorded; the other outputs and the measurements stay", async () => {
  writeFileSync(join(dir, "a-file"), "");
  const r: BenchResult = {
    schema: BENCH_RESULT_SCHEMA, e2eVersion: "t", status: "complete", profile: "quick", startedAt: new Date().toISOString(), estimatedSeconds: 1,
    environment: {}, figures: [fromSamples({ target: "harness", group: "api", name: "x", unit: "ms", better: "smaller" }, [1, 2, 3])], scalability: [], fleet: [], ratios: [], errors: [],
  };
  const warnings: string[] = [];
  const reps = new Reporters(benchReporters({ workRoot: dir, report: join(dir, "r.json"), html: join(dir, "a-file", "r.html"), markdown: join(dir, "r.md") }).filter((x) => x.name !== "table"), (l) => warnings.push(l));
  await reps.workflowEnd(r);
  await reps.end(r);
  expect(reps.failures.map((f) => f.reporter)).toEqual([`--html ${join(dir, "a-file", "r.html")}`]);
  expect(warnings).toHaveLength(1);
  expect(JSON.parse(readFileSync(join(dir, "r.json"), "utf8")).figures[0].samples).toBe(3);
  expect(readFileSync(join(dir, "r.md"), "utf8")).toContain("| harness | x |");
  expect(r.status).toBe("complete");
});
