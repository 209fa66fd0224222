import { describe, expect, test } from "bun:test";
import { renderJUnit } from "./junit.ts";
import { renderMarkdown } from "./markdown.ts";
import { renderSummary } from "./console.ts";
import { RUN_RESULT_SCHEMA, type RunResult } from "../run/result.ts";
import { makePlan } from "../plan/plan.ts";

function result(): RunResult {
  return {
    schema: RUN_RESULT_SCHEMA, e2eVersion: "0.0.0", startedAt: "2026-11-25T00:00:00.000Z", durationMs: 1234, status: "failed",
    plan: makePlan({ backend: "mlflow,wandb" }), environment: { os: "linux", cpus: 2 },
    summary: { passed: 2, failed: 1, skipped: 1, errors: 1 },
    backends: [
      {
        backend: "mlflow", mode: "native", status: "failed",
        workflows: [{ workflow: "cnn", variant: "clean", status: "failed", durationMs: 1000, checks: [
          { name: "metrics.loss", group: "metrics", status: "fail", message: "missing steps 5 <&>", expected: 30, actual: 29 },
          { name: "params.lr", group: "params", status: "pass", message: "matches" },
        ] }],
        lifecycle: [{ name: "lifecycle.experiment", group: "lifecycle", status: "skip", message: "offline" }],
      },
      { backend: "wandb", mode: "offline", status: "error", error: { message: "W&B SDK missing", detail: "trace" }, workflows: [] },
    ],
  };
}

describe("reporters", () => {
  test("JUnit: one case per backend x workflow x group, failures with evidence, XML escaped", () => {
    const xml = renderJUnit(result());
    expect(xml).toContain('<testcase classname="e2e.mlflow.native.cnn.clean" name="metrics"');
    expect(xml).toContain('<testcase classname="e2e.mlflow.native.cnn.clean" name="params"');
    expect(xml).toContain("missing steps 5 &lt;&amp;&gt;");
    expect(xml).toContain('<error message="W&amp;B SDK missing">');
    expect(xml).toMatch(/<testsuites name="e2e" tests="4" failures="1" errors="1" skipped="1"/);
    expect(xml).not.toMatch(/<[^>]*<&>/);
  });
  test("Markdown: table row per backend and every failure listed", () => {
    const md = renderMarkdown(result());
    expect(md).toContain("| mlflow | native | ❌ 0/1 | ✅ 1 | skip | ❌ failed |");
    expect(md).toContain("**mlflow/cnn (clean)** `metrics.loss`");
    expect(md).toContain("**wandb**: W&B SDK missing");
  });
  test("console: failed checks and backend errors are named", () => {
    const txt = renderSummary(result(), false);
    expect(txt).toContain("FAIL mlflow/cnn metrics.loss");
    expect(txt).toContain("wandb: W&B SDK missing");
    expect(txt).toContain("2 passed, 1 failed, 1 skipped, 1 errors");
  });
});
