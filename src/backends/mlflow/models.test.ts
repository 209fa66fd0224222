/**
 * The LoggedModel status check follows MLflow's own mapping (LoggedModelStatus.to_proto): the SDK's
 * FAILED is stored as LOGGED_MODEL_UPLOAD_FAILED, so a log_model that raised in the script is the
 * SDK's failure, stored as sent; a model the SDK finalized READY but the server holds otherwise fails.
 */
import { expect, test } from "bun:test";
import type { ManifestRun } from "../../verify/manifest.ts";
import type { ObservedRun } from "../../verify/observed.ts";
import { modelChecks, storedStatus, type MlflowExtra } from "./models.ts";

const exp = (status: string): ManifestRun =>
  ({ key: "r", runId: "run1", name: "r", params: {}, tags: {}, metrics: {}, artifacts: [],
    models: [{ modelId: "m-1", name: "model", status, params: {}, tags: {}, metrics: {}, files: [] }] }) as unknown as ManifestRun;
const obs = (stored: string): ObservedRun => {
  const extra: MlflowExtra = { models: { "m-1": { model: { info: { model_id: "m-1", name: "model", status: stored } } as never, files: {}, unreadable: {} } }, searched: [], modelOutputs: [], datasets: [] };
  return { runId: "run1", params: {}, tags: {}, metrics: {}, artifacts: {}, extra: { mlflow: extra } };
};
const exists = (sdk: string, stored: string) => modelChecks(exp(sdk), obs(stored), "").find((c) => c.name === "models.model:exists")!;

test("MLflow's status names: FAILED is UPLOAD_FAILED on the server, the others keep their names", () => {
  expect(["READY", "PENDING", "FAILED", "UNSPECIFIED"].map(storedStatus)).toEqual(["READY", "PENDING", "UPLOAD_FAILED", "STATUS_UNSPECIFIED"]);
});

test("a model the SDK finalized FAILED, stored UPLOAD_FAILED: passes, naming the SDK's own failure", () => {
  const c = exists("FAILED", "LOGGED_MODEL_UPLOAD_FAILED");
  expect(c.status).toBe("pass");
  expect(c.message).toContain("the SDK's own failure");
});

test("a model the SDK finalized READY that the server holds as UPLOAD_FAILED or PENDING fails", () => {
  expect(exists("READY", "LOGGED_MODEL_UPLOAD_FAILED").status).toBe("fail");
  expect(exists("READY", "LOGGED_MODEL_PENDING").message).toContain("the SDK finalized it READY");
  expect(exists("READY", "LOGGED_MODEL_READY").status).toBe("pass");
});
