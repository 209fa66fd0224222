/**
 * Names and values a backend rejects or changes (the opt-in `edge` workflow): never a crash,
 * never a false pass. Each backend's documented handling shows as exactly these failures.
 */
import { beforeAll, expect, test } from "bun:test";
import { runE2E, setupPython } from "../helpers.ts";

beforeAll(() => void setupPython(), 1_200_000);

test("edge values: W&B keeps them, MLflow clamps infinities, ClearML zeroes non-finite values, refused keys are absent", async () => {
  const r = await runE2E(["run", "--workflow", "edge", "--backend", "all", "--json"]);
  expect(r.code).toBe(1);
  expect(r.stderr).not.toContain("Traceback");
  const doc = JSON.parse(r.stdout);
  const failed = (name: string) =>
    doc.backends.find((b: { backend: string }) => b.backend === name).workflows[0].checks
      .filter((c: { status: string }) => c.status === "fail").map((c: { name: string }) => c.name).sort();
  expect(failed("wandb")).toEqual([]);
  expect(failed("mlflow")).toEqual(["metrics.nonfinite/inf", "metrics.nonfinite/neg_inf"]);
  // ClearML's TensorBoard capture goes through the same report_scalar: the event files hold
  // NaN/inf (and finite/huge, which float32 turns into inf), ClearML holds 0.0, and the capture
  // check fails each of those tags with the rule named, as the metric checks do.
  const capture = ["finite/huge", "nonfinite/inf", "nonfinite/nan", "nonfinite/neg_inf"].map((t) => `tensorboard.clearml-capture:${t}`);
  expect(failed("clearml")).toEqual(["metrics.nonfinite/inf", "metrics.nonfinite/nan", "metrics.nonfinite/neg_inf", ...capture]);
  for (const name of capture) {
    const c = doc.backends[2].workflows[0].checks.find((x: { name: string }) => x.name === name);
    expect(c.message).toContain("NaN and infinities reach ClearML as 0.0");
  }
  const mlflowEdge = doc.backends[0].workflows[0].checks.filter((c: { group: string }) => c.group === "edge");
  expect(mlflowEdge.map((c: { status: string }) => c.status)).toEqual(["pass", "pass"]); // refused keys are absent
  const clearmlNan = doc.backends[2].workflows[0].checks.find((c: { name: string }) => c.name === "metrics.nonfinite/nan");
  expect(clearmlNan.message).toContain("ClearML stores NaN");
}, 600_000);
