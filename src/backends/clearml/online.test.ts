/**
 * ClearML by URL, against a TEST DOUBLE of the ClearML API server and fileserver
 * (tests/doubles/clearml-server-double.ts): no ClearML server can run here. Shows exact scalars
 * read through scalar_metrics_iter_raw's scroll, artifacts from the fileserver, planted faults
 * caught, and 401 / no answer / 413 turned into errors and checks naming the fix.
 */
import { metricPoints, observedPoints } from "../../verify/series.ts";
import { afterEach, expect, test } from "bun:test";
import type { Manifest } from "../../verify/manifest.ts";
import { compareRun } from "../../verify/compare.ts";
import { E2EError } from "../../util/errors.ts";
import { freePort } from "../../util/port.ts";
import { startClearmlDouble, type ClearmlDouble, type DoubleTask } from "../../../tests/doubles/clearml-server-double.ts";
import { ddpFixture, fixtureRun } from "../../../tests/doubles/fixture.ts";
import { verifyWorkflow } from "../../verify/verify-workflow.ts";
import { ClearmlRest, clearmlHosts } from "./rest.ts";
import { readClearmlTask } from "./online.ts";
import { clearmlDriver } from "./driver.ts";
import { clearml } from "./index.ts";

const KEYS = { accessKey: "ACCESSKEY0123456789", secretKey: "secret-0123456789abcdefghijklmnopqrstuvwxyz" };
let double: ClearmlDouble | undefined;
afterEach(() => double?.stop());

function serverTask(f: ReturnType<typeof fixtureRun>): DoubleTask {
  const hp = (name: string, value: string) => ({ section: "General", name, value, type: "str" });
  return {
    id: f.run.runId, name: f.run.name, project: { id: "p-1", name: "e2e-test" },
    hyperparams: { General: { lr: hp("lr", "0.001"), epochs: hp("epochs", "3"), optimizer: hp("optimizer", "adam") } },
    script: { repository: "", branch: "e2e-main", version_num: f.run.git!.commit, diff: "", entry_point: "train.py" },
    scalars: Object.fromEntries(Object.entries(f.run.metrics).map(([k, pts]) => [k, { [k]: metricPoints(pts).map(([s, v, ts]) => [s, v, ts] as [number, number | string, number]) }])),
    artifacts: Object.fromEntries(Object.entries(f.bytes).map(([k, b]) => [k, { file: k.split("/").pop()!, bytes: b }])),
  };
}

const python = { python: "/usr/bin/python3", kind: "user" as const, info: { executable: "/usr/bin/python3", python: "3.11.0", packages: { wandb: "0.31.0", mlflow: "3.17.2", clearml: "2.1.12" }, missing: [] } };
const COMPARE = { git: { commit: true, branch: true, dirty: true } };

test("reads hyperparams, every scalar over scrolled pages, artifacts from the fileserver: all checks pass", async () => {
  const f = fixtureRun("4f1e2d3c4b5a69788796a5b4c3d2e1f0");
  double = startClearmlDouble({ ...KEYS, tasks: [serverTask(f)], maxBatch: 1000, fileAuth: true });
  const rest = new ClearmlRest(clearmlHosts(double.api, { CLEARML_FILES_HOST: double.files }), KEYS);
  const obs = await readClearmlTask(rest, f.run);
  expect(double.calls.filter((c) => c === "events.scalar_metrics_iter_raw").length).toBeGreaterThanOrEqual(4);
  expect(obs.metrics.loss).toHaveLength(f.steps);
  expect(obs.status).toBe("FINISHED");
  expect(obs.group).toBe("e2e-test");
  const checks = compareRun(f.run, obs, COMPARE);
  expect(checks.filter((c) => c.status === "fail")).toEqual([]);
  expect(rest.serverVersion).toBe("2.0.0");
}, 30_000);

test("planted faults (missing event, changed value, truncated artifact, other commit) fail exactly their checks", async () => {
  const f = fixtureRun("4f1e2d3c4b5a69788796a5b4c3d2e1f0");
  const t = serverTask(f);
  t.scalars.loss!.loss = t.scalars.loss!.loss!.filter(([s]) => s !== 1501);
  t.scalars.acc!.acc![3]![1] = 0.5;
  t.artifacts["model.pt"]!.bytes = t.artifacts["model.pt"]!.bytes.slice(0, 100);
  t.script!.version_num = "f".repeat(40);
  double = startClearmlDouble({ ...KEYS, tasks: [t] });
  const obs = await readClearmlTask(new ClearmlRest(clearmlHosts(double.api, { CLEARML_FILES_HOST: double.files }), KEYS), f.run);
  const failed = compareRun(f.run, obs, COMPARE).filter((c) => c.status === "fail").map((c) => c.name).sort();
  expect(failed).toEqual(["artifacts.model.pt", "git.commit", "metrics.acc", "metrics.loss"]);
}, 30_000);

test("timestamps by URL: each point's own from events.get_task_events (paged); a shifted one fails timestamps.<key> only", async () => {
  const f = fixtureRun("4f1e2d3c4b5a69788796a5b4c3d2e1f0", 1200);
  const t = serverTask(f);
  double = startClearmlDouble({ ...KEYS, tasks: [t], maxBatch: 500 });
  const rest = () => new ClearmlRest(clearmlHosts(double!.api, { CLEARML_FILES_HOST: double!.files }), KEYS);
  const obs = await readClearmlTask(rest(), f.run);
  expect(double.calls.filter((c) => c === "events.get_task_events").length).toBeGreaterThanOrEqual(3);
  expect(observedPoints(obs.metrics.loss!).map((p) => p.timestamp)).toEqual(metricPoints(f.run.metrics.loss!).map((p) => p[2]));
  const opts = { ...COMPARE, timestamps: clearml.timestamps };
  expect(compareRun(f.run, obs, opts).filter((c) => c.status === "fail")).toEqual([]);
  double.stop();
  t.scalars.acc!.acc![5]![2]! += 60_000;
  double = startClearmlDouble({ ...KEYS, tasks: [t] });
  const failed = compareRun(f.run, await readClearmlTask(rest(), f.run), opts).filter((c) => c.status === "fail").map((c) => c.name);
  expect(failed).toEqual(["timestamps.acc"]);
}, 30_000);

test("a server without events.get_task_events: timestamps skipped with the reason, the rest verified", async () => {
  const f = fixtureRun("4f1e2d3c4b5a69788796a5b4c3d2e1f0", 100);
  double = startClearmlDouble({ ...KEYS, tasks: [serverTask(f)], noTaskEvents: true });
  process.env.CLEARML_API_ACCESS_KEY = KEYS.accessKey;
  process.env.CLEARML_API_SECRET_KEY = KEYS.secretKey;
  process.env.CLEARML_FILES_HOST = double.files;
  try {
    const started = await clearmlDriver.start({ python, workDir: "/tmp/e2e-clearml-double", session: "t", mode: "url", url: double.api, assetRoot: "/tmp" });
    const manifest: Manifest = { schema: 1, backend: "clearml", workflow: "cnn", environment: {}, runs: [f.run] };
    const checks = (await started.verify(manifest, "/tmp")).checks;
    expect(checks.filter((c) => c.status === "fail")).toEqual([]);
    const skipped = checks.find((c) => c.name === "timestamps.read")!;
    expect(skipped.status).toBe("skip");
    expect(skipped.message).toContain("events.get_task_events failed");
  } finally {
    delete process.env.CLEARML_API_ACCESS_KEY;
    delete process.env.CLEARML_API_SECRET_KEY;
    delete process.env.CLEARML_FILES_HOST;
  }
}, 30_000);

test("driver by URL: verify and deployment checks pass; keys only in the workflow's env", async () => {
  const f = fixtureRun("4f1e2d3c4b5a69788796a5b4c3d2e1f0");
  double = startClearmlDouble({ ...KEYS, tasks: [serverTask(f)] });
  process.env.CLEARML_API_ACCESS_KEY = KEYS.accessKey;
  process.env.CLEARML_API_SECRET_KEY = KEYS.secretKey;
  process.env.CLEARML_FILES_HOST = double.files;
  try {
    const started = await clearmlDriver.start({ python, workDir: "/tmp/e2e-clearml-double", session: "t", mode: "url", url: double.api, assetRoot: "/tmp" });
    expect(started.serverVersion).toBe("2.0.0");
    expect(JSON.stringify(started.workflowConfig())).not.toContain(KEYS.secretKey);
    expect(started.workflowEnv()).toMatchObject({ CLEARML_API_HOST: double.api, CLEARML_FILES_HOST: double.files, CLEARML_API_SECRET_KEY: KEYS.secretKey });
    const manifest: Manifest = { schema: 1, backend: "clearml", workflow: "cnn", environment: {}, runs: [f.run] };
    expect((await started.verify(manifest, "/tmp")).checks.filter((c) => c.status === "fail")).toEqual([]);
    const dep = await started.lifecycle!();
    expect(dep.map((c) => `${c.name}:${c.status}`).sort()).toEqual([
      "deployment.api-level:pass", "deployment.artifact-round-trip:pass", "deployment.https-files:pass", "deployment.https:pass", "deployment.large-request:pass", "deployment.versions:pass",
    ]);
    expect([...double.fileStore.keys()].some((k) => k.startsWith("e2e-deployment/"))).toBe(false); // probes deleted
  } finally {
    delete process.env.CLEARML_API_ACCESS_KEY;
    delete process.env.CLEARML_API_SECRET_KEY;
    delete process.env.CLEARML_FILES_HOST;
  }
}, 60_000);

test("DDP by URL: runs-in-backend counts the project's tasks with the workflow's name (tasks.get_all); a planted stray task fails only that check", async () => {
  const f = ddpFixture("4f1e2d3c4b5a69788796a5b4c3d2e1f0");
  f.manifest.backend = "clearml";
  const main = serverTask(f);
  main.hyperparams!.General!.world_size = { section: "General", name: "world_size", value: "2", type: "int" };
  const task = (id: string, name: string, project = main.project): DoubleTask => ({ id, name, project, scalars: {}, artifacts: {} });
  // Another workflow's task in the project, and a task of the same name in another project: not counted.
  double = startClearmlDouble({ ...KEYS, tasks: [main, task("cnn-task", "cnn-clean-t"), task("elsewhere", "ddp-clean-t", { id: "p-2", name: "other" })] });
  process.env.CLEARML_API_ACCESS_KEY = KEYS.accessKey;
  process.env.CLEARML_API_SECRET_KEY = KEYS.secretKey;
  process.env.CLEARML_FILES_HOST = double.files;
  try {
    const started = await clearmlDriver.start({ python, workDir: "/tmp/e2e-clearml-double", session: "t", mode: "url", url: double.api, assetRoot: "/tmp" });
    const verdict = async () => {
      const checks = await verifyWorkflow(started, f.manifest, "/tmp", { commit: f.run.git!.commit, dirty: false });
      return { failed: checks.filter((c) => c.status !== "pass").map((c) => c.name), census: checks.find((c) => c.name === "ddp.runs-in-backend")! };
    };
    const clean = await verdict();
    expect(clean.failed).toEqual([]);
    expect(clean.census.message).toContain("1 run (tasks.get_all in project e2e-test for name ddp-clean-t)");
    expect(double.calls).toContain("tasks.get_all");

    // A rank that opened its own task: same name, same project, its own id. Planted in the server's data.
    double.tasks.push(task("rank1-task", "ddp-clean-t"));
    const planted = await verdict();
    expect(planted.failed).toEqual(["ddp.runs-in-backend"]);
    expect(planted.census.message).toContain("not rank 0's: rank1-task");
    // Paged as the SDK pages (a short page is the last); the name is matched exactly, not as a pattern.
    const rest = new ClearmlRest(clearmlHosts(double.api, { CLEARML_FILES_HOST: double.files }), KEYS);
    expect((await rest.tasksNamed("p-1", "ddp-clean-t", 1)).map((t) => t.id).sort()).toEqual(["4f1e2d3c4b5a69788796a5b4c3d2e1f0", "rank1-task"]);
    expect(await rest.tasksNamed("p-1", "ddp.clean.t")).toEqual([]);
  } finally {
    delete process.env.CLEARML_API_ACCESS_KEY;
    delete process.env.CLEARML_API_SECRET_KEY;
    delete process.env.CLEARML_FILES_HOST;
  }
}, 60_000);

test("a proxy's 413 on the fileserver fails the large-request check with the body-limit fix", async () => {
  double = startClearmlDouble({ ...KEYS, bodyLimit: 1_048_576 });
  const rest = new ClearmlRest(clearmlHosts(double.api, { CLEARML_FILES_HOST: double.files }), KEYS);
  await rest.login();
  const { clearmlDeployment } = await import("../deployment/clearml.ts");
  const checks = await clearmlDeployment(rest, "2.1.12");
  const large = checks.find((c) => c.name === "deployment.large-request")!;
  expect(large.status).toBe("fail");
  expect(large.message).toContain("client_max_body_size");
  expect(checks.find((c) => c.name === "deployment.artifact-round-trip")!.status).toBe("pass");
}, 30_000);

test("wrong keys (401), no server, no keys, old API level: errors and checks naming the fix", async () => {
  double = startClearmlDouble({ ...KEYS, apiVersion: "2.13" });
  const ctx = { python, workDir: "/tmp/x", session: "t", mode: "url" as const, url: double.api, assetRoot: "/tmp" };
  process.env.CLEARML_API_ACCESS_KEY = KEYS.accessKey;
  process.env.CLEARML_API_SECRET_KEY = "wrong-secret-key";
  try {
    const e401 = await clearmlDriver.start(ctx).catch((e) => e);
    expect(e401).toBeInstanceOf(E2EError);
    expect(e401.message).toContain("rejected the credentials (HTTP 401)");
    expect(e401.message).toContain("failed to locate provided credentials");
    expect(e401.hint).toContain("CLEARML_API_SECRET_KEY");
    const gone = await clearmlDriver.start({ ...ctx, url: `http://127.0.0.1:${await freePort()}` }).catch((e) => e);
    expect(gone.message).toContain("does not answer");
    delete process.env.CLEARML_API_SECRET_KEY;
    const nokeys = await clearmlDriver.start(ctx).catch((e) => e);
    expect(nokeys.hint).toContain("--api-key-file");
    const rest = new ClearmlRest(clearmlHosts(double.api, { CLEARML_FILES_HOST: double.files }), KEYS);
    await rest.login();
    const { clearmlDeployment } = await import("../deployment/clearml.ts");
    const api = (await clearmlDeployment(rest, "2.1.12", { largeBytes: 1000 })).find((c) => c.name === "deployment.api-level")!;
    expect(api.status).toBe("fail");
    expect(api.message).toContain("upgrade the ClearML server");
  } finally {
    delete process.env.CLEARML_API_ACCESS_KEY;
    delete process.env.CLEARML_API_SECRET_KEY;
  }
}, 30_000);
