/**
 * ClearML verdicts that can fail for the right reason. Real SDK (clearml 2.1.12 offline), real
 * training; then the session zip ClearML wrote is altered (never the manifest) and re-read:
 * exactly the check of what was altered fails, the others still pass.
 * - the cnn workflow: a scalar event dropped, a timestamp shifted (exposed per point), a point of
 *   ClearML's own TensorBoard capture removed, a byte of an uploaded file flipped;
 * - a user's script (`--script`): report_single_value, report_text, connect_configuration (dict and
 *   file), report_image (an array and a file), upload_artifact of a dict, DataFrame, numpy array
 *   and folder; each kind planted with a fault; and OutputModel.update_weights, whose failure
 *   inside clearml 2.1.12 offline is reported as the SDK's.
 */
import { metricPoints, observedPoints } from "../../src/verify/series.ts";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { clearml } from "../../src/backends/clearml/index.ts";
import { driverFor } from "../../src/backends/registry.ts";
import type { StartedBackend } from "../../src/backends/types.ts";
import { readClearmlSession } from "../../src/backends/clearml/reader.ts";
import { useInterpreter } from "../../src/runtime/python/env.ts";
import { WORKFLOW_SPECS } from "../../src/plan/workflows.ts";
import { logTail, runWorkflow } from "../../src/runtime/python/workflow.ts";
import { verifyScriptRun } from "../../src/script/execute.ts";
import { runScript } from "../../src/script/run.ts";
import { parseScript } from "../../src/script/spec.ts";
import type { Check } from "../../src/verify/check.ts";
import { checkTensorboard } from "../../src/verify/tensorboard-check.ts";
import type { Manifest } from "../../src/verify/manifest.ts";
import { repoRoot, setupPython } from "../helpers.ts";
import { rewriteSession } from "../clearml-session.ts";

let python = "";
let root = "";

beforeAll(() => {
  python = setupPython();
  root = mkdtempSync(join(tmpdir(), "e2e-clearml-verdicts-"));
}, 300_000);

afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

/** A copy of the session zip rewritten by `edit` (tests/clearml-session.ts); returns the copy's path. */
function plant(zip: string, edit: string): string {
  const out = `${zip}.planted-${Math.random().toString(36).slice(2)}.zip`;
  rewriteSession(python, zip, out, edit);
  return out;
}

const failedNames = (cs: Check[]) => cs.filter((c) => c.status === "fail").map((c) => c.name).sort();

/** Verifies the manifest with its run's session replaced by `zip`. */
async function verifyWith(be: StartedBackend, manifest: Manifest, workDir: string, zip: string): Promise<Check[]> {
  const m = structuredClone(manifest);
  for (const r of m.runs) r.offlinePath = zip;
  return (await be.verify(m, workDir)).checks;
}

/** The checks that fail once the session at `zip` is planted with `edit` (the original is left alone). */
const failingWhenPlanted = async (be: StartedBackend, manifest: Manifest, workDir: string, zip: string, edit: string) =>
  failedNames(await verifyWith(be, manifest, workDir, plant(zip, edit)));

describe("ClearML workflow (cnn): the session holds the points, and ClearML's TensorBoard capture", () => {
  let be: StartedBackend;
  let manifest: Manifest;
  let workDir = "";
  let zip = "";
  let baseline: Check[] = [];

  beforeAll(async () => {
    const backendDir = join(root, "cnn");
    workDir = join(backendDir, "cnn-clean");
    mkdirSync(workDir, { recursive: true });
    be = await (await driverFor("clearml")).start({ python: await useInterpreter(python), workDir: backendDir, session: "t", mode: "offline", assetRoot: repoRoot });
    const run = await runWorkflow({
      python, assetRoot: repoRoot, timeoutMs: 400_000, env: be.workflowEnv(), dirty: false,
      config: {
        backend: "clearml", workflow: "cnn", tracking_uri: null, offline: true, experiment: "e2e-verdicts", run_name: "cnn",
        manifest: join(workDir, "manifest.json"), work_dir: workDir, tensorboard_dir: join(workDir, "tb"),
        sizes: { ...WORKFLOW_SPECS.cnn.sizes.quick, steps: 6 }, seed: 0, device: "cpu", ...be.workflowConfig(),
      },
    });
    if (run.exitCode !== 0) throw new Error(`the cnn workflow failed:\n${await logTail(run.logFile)}`);
    manifest = run.manifest!;
    const r = manifest.runs[0]!;
    zip = join(workDir, r.offlinePath!);
    // The event-file check runs beside the backend's (src/run/execute.ts); both are wanted here.
    baseline = [...(await be.verify(manifest, workDir)).checks, ...(await checkTensorboard(manifest, workDir))];
  }, 500_000);

  afterAll(() => be?.stop());

  test("everything passes, with a capture check per event-file tag beside the event-file check", () => {
    expect(failedNames(baseline)).toEqual([]);
    for (const key of ["loss", "accuracy", "lr"]) {
      expect(baseline.find((c) => c.name === `tensorboard.clearml-capture:${key}`)?.status).toBe("pass");
      expect(baseline.find((c) => c.name === `tensorboard.${key}`)?.status).toBe("pass");
    }
    expect(baseline.find((c) => c.name === "tensorboard.clearml-capture:loss")?.message).toContain('title "Scalars", series "loss"');
  });

  test("every point carries ClearML's own timestamp (integer ms)", async () => {
    const obs = await readClearmlSession(zip);
    const pts = observedPoints(obs.metrics.loss!);
    expect(pts).toHaveLength(6);
    for (const p of pts) expect(Number.isInteger(p.timestamp)).toBe(true);
    const logged = metricPoints(manifest.runs[0]!.metrics.loss!).map((p) => p[2]);
    // ClearML stamps the event when report_scalar is called, right after the adapter's own stamp.
    pts.forEach((p, i) => expect(Math.abs(p.timestamp! - logged[i]!)).toBeLessThan(5_000));
  });

  test("a shifted timestamp is read as stored and fails timestamps.loss only", async () => {
    const planted = plant(zip, `
b = events("metrics.jsonl")
for batch in b:
    for e in batch:
        if e.get("metric") == "loss" and e.get("variant") == "loss" and e.get("iter") == 3:
            e["timestamp"] += 3_600_000
put_events("metrics.jsonl", b)`);
    const before = observedPoints((await readClearmlSession(zip)).metrics.loss!).find((p) => p.step === 3)!.timestamp!;
    const after = observedPoints((await readClearmlSession(planted)).metrics.loss!).find((p) => p.step === 3)!.timestamp!;
    expect(after - before).toBe(3_600_000);
    const checks = await verifyWith(be, manifest, workDir, planted);
    expect(failedNames(checks)).toEqual(["timestamps.loss"]);
    expect(checks.find((c) => c.name === "timestamps.loss")!.message).toContain("ms");
  });

  test("a timestamp 1 ms past ClearML's window fails timestamps.loss only, naming ClearML's stamping rule", async () => {
    // The adapter reads its clock just before each report_scalar, so a stored stamp can be held
    // to the window exactly: the event moved to the manifest's time + tolerance + 1 ms.
    const { toleranceMs } = clearml.timestamps;
    const logged = metricPoints(manifest.runs[0]!.metrics.loss!).find((p) => p[0] === 3)![2];
    const planted = plant(zip, `
b = events("metrics.jsonl")
for batch in b:
    for e in batch:
        if e.get("metric") == "loss" and e.get("variant") == "loss" and e.get("iter") == 3:
            e["timestamp"] = ${logged + toleranceMs + 1}
put_events("metrics.jsonl", b)`);
    const checks = await verifyWith(be, manifest, workDir, planted);
    expect(failedNames(checks)).toEqual(["timestamps.loss"]);
    const message = checks.find((c) => c.name === "timestamps.loss")!.message;
    expect(message).toContain(`first at step 3 by ${toleranceMs + 1} ms`);
    expect(message).toContain("stamps each scalar event itself when report_scalar creates it");
  });

  test("a dropped scalar event fails metrics.loss only", async () => {
    const planted = plant(zip, `
b = events("metrics.jsonl")
b = [[e for e in batch if not (e.get("metric") == "loss" and e.get("variant") == "loss" and e.get("iter") == 2)] for batch in b]
put_events("metrics.jsonl", b)`);
    const checks = await verifyWith(be, manifest, workDir, planted);
    expect(failedNames(checks)).toEqual(["metrics.loss"]);
    expect(checks.find((c) => c.name === "metrics.loss")!.message).toContain("missing steps 2");
  });

  test("a point removed from ClearML's TensorBoard capture fails that capture check only", async () => {
    const planted = plant(zip, `
b = events("metrics.jsonl")
b = [[e for e in batch if not (e.get("metric") == "Scalars" and e.get("variant") == "accuracy" and e.get("iter") == 4)] for batch in b]
put_events("metrics.jsonl", b)`);
    const checks = await verifyWith(be, manifest, workDir, planted);
    expect(failedNames(checks)).toEqual(["tensorboard.clearml-capture:accuracy"]);
    expect(checks.find((c) => c.name === "tensorboard.clearml-capture:accuracy")!.message).toContain("missing steps 4");
  });

  test("a captured value changed beyond float32 fails the capture check only", async () => {
    expect(await failingWhenPlanted(be, manifest, workDir, zip, `
b = events("metrics.jsonl")
for batch in b:
    for e in batch:
        if e.get("metric") == "Scalars" and e.get("variant") == "lr" and e.get("iter") == 1:
            e["value"] = e["value"] * 1.001
put_events("metrics.jsonl", b)`)).toEqual(["tensorboard.clearml-capture:lr"]);
  });

  const taskEdits: [string, (m: Manifest) => string, (m: Manifest) => string][] = [
    ["a changed hyperparameter", (m) => `params.${Object.keys(m.runs[0]!.params)[0]}`, (m) => `
t = json.loads(files["task.json"]); t["hyperparams"]["General"][${JSON.stringify(Object.keys(m.runs[0]!.params)[0])}]["value"] += "0"
files["task.json"] = json.dumps(t).encode()`],
    ["a changed user property (tag)", () => "tags.workflow", () => `
t = json.loads(files["task.json"]); t["hyperparams"]["properties"]["workflow"]["value"] = "other"
files["task.json"] = json.dumps(t).encode()`],
    ["another commit", () => "git.commit", () => `
t = json.loads(files["task.json"]); t["script"]["version_num"] = "f" * 40
files["task.json"] = json.dumps(t).encode()`],
    ["an uncommitted diff", () => "git.dirty", () => `
t = json.loads(files["task.json"]); t["script"]["diff"] = "diff --git a/x b/x"
files["task.json"] = json.dumps(t).encode()`],
  ];
  for (const [what, name, edit] of taskEdits)
    test(`${what} in task.json fails exactly its check`, async () => {
      expect(await failingWhenPlanted(be, manifest, workDir, zip, edit(manifest))).toEqual([name(manifest)]);
    });

  test("a flipped byte in an uploaded file fails that artifact only", async () => {
    const art = manifest.runs[0]!.artifacts.find((a) => a.kind === "model")!;
    expect(await failingWhenPlanted(be, manifest, workDir, zip, `
name = [n for n in files if n.startswith("data/") and n.endswith(${JSON.stringify(art.path.split("/").at(-1))})][0]
b = bytearray(files[name]); b[len(b) // 2] ^= 0xFF; files[name] = bytes(b)`)).toEqual([`artifacts.${art.path}`]);
  });
});

const SCRIPT = `
import os
import numpy as np
import pandas as pd
from PIL import Image
from clearml import Task

task = Task.init(project_name="examples", task_name="kinds")
logger = task.get_logger()
config = task.connect_configuration({"model": {"layers": 3, "act": "relu"}, "lr": 0.01}, name="hyper")
with open("train.yaml", "w") as f:
    f.write("epochs: 5\\nbatch: 32\\n")
task.connect_configuration("train.yaml", name="train-file")
for i in range(3):
    logger.report_scalar("loss", "train", 1.0 / (i + 1), iteration=i)
logger.report_single_value("accuracy", 0.9375)
logger.report_single_value("params", 1234)
logger.report_single_value("diverged", float("nan"))  # ClearML stores NaN as 0.0
logger.report_text("training done")
img = (np.arange(32 * 32 * 3) % 251).astype(np.uint8).reshape(32, 32, 3)
logger.report_image("samples", "array", iteration=1, image=img)
Image.fromarray(img).save("sample.png")
logger.report_image("samples", "file", iteration=2, local_path="sample.png")
task.upload_artifact("stats", artifact_object={"mean": 0.5, "classes": ["a", "b"]}, wait_on_upload=True)
task.upload_artifact("table", artifact_object=pd.DataFrame({"epoch": [1, 2], "loss": [0.5, 0.25]}), wait_on_upload=True)
task.upload_artifact("weights", artifact_object=np.linspace(0, 1, 12).reshape(3, 4), wait_on_upload=True)
os.makedirs("outputs/plots", exist_ok=True)
open("outputs/readme.txt", "w").write("results")
open("outputs/plots/curve.csv", "w").write("1,2\\n")
task.upload_artifact("outputs", artifact_object="outputs", wait_on_upload=True)
task.close()
`;

describe("ClearML --script: single values, text, configuration, debug images, objects, models", () => {
  let be: StartedBackend;
  let manifest: Manifest;
  let backendDir = "";
  let zip = "";
  let checks: Check[] = [];

  beforeAll(async () => {
    const dir = join(root, "script");
    const proj = join(dir, "project");
    backendDir = join(dir, "clearml");
    mkdirSync(proj, { recursive: true });
    mkdirSync(backendDir, { recursive: true });
    writeFileSync(join(proj, "train.py"), SCRIPT);
    be = await (await driverFor("clearml")).start({ python: await useInterpreter(python), workDir: backendDir, session: "t", mode: "offline", assetRoot: repoRoot });
    const run = await runScript({ spec: parseScript("train.py", [], proj), python, assetRoot: repoRoot, workDir: join(dir, "work"), env: be.workflowEnv(), timeoutMs: 300_000 });
    const result = await verifyScriptRun(be, run, backendDir);
    checks = result.checks;
    const { manifestFor } = await import("../../src/script/records.ts");
    manifest = manifestFor(run.merged, "clearml");
    zip = manifest.runs[0]!.offlinePath!;
    copyFileSync(zip, `${zip}.orig`);
  }, 400_000);

  afterAll(() => be?.stop());

  test("every kind is verified, nothing left unverified", () => {
    expect(failedNames(checks)).toEqual([]);
    const names = checks.filter((c) => c.status === "pass").map((c) => c.name);
    for (const n of ["summaries.accuracy", "summaries.params", "summaries.diverged", "text.report_text#1", "configuration.hyper", "configuration.train-file",
      "media.samples/array@1", "media.samples/file@2", "objects.stats", "objects.table", "objects.weights", "objects.outputs"])
      expect(names).toContain(n);
    expect(checks.filter((c) => c.name.startsWith("script.unverified:"))).toEqual([]);
    expect(checks.find((c) => c.name === "script.arrived")!.message).toMatch(/artifacts 4\/4.*media 2\/2.*summaries 3\/3.*text 1\/1.*configuration 2\/2/);
  });

  const cases: [string, string, string][] = [
    ["a changed single value", "summaries.accuracy", `
b = events("metrics.jsonl")
for batch in b:
    for e in batch:
        if e.get("metric") == "Summary" and e.get("variant") == "accuracy":
            e["value"] = 0.5
put_events("metrics.jsonl", b)`],
    ["a text missing from the console log", "text.report_text#1", `
b = events("log.jsonl")
for batch in b:
    for e in batch:
        e["msg"] = e.get("msg", "").replace("training done", "training")
put_events("log.jsonl", b)`],
    ["an edited configuration", "configuration.hyper", `
t = json.loads(files["task.json"]); t["configuration"]["hyper"]["value"] = t["configuration"]["hyper"]["value"].replace("relu", "tanh")
files["task.json"] = json.dumps(t).encode()`],
    ["a flipped byte in a debug image", "media.samples/file@2", `
name = [n for n in files if "/metrics/samples/file/" in n][0]
b = bytearray(files[name]); b[-20] ^= 0xFF; files[name] = bytes(b)`],
    ["a flipped byte in the dict's JSON", "objects.stats", `
name = [n for n in files if n.endswith("/stats.json")][0]
files[name] = files[name].replace(b"0.5", b"0.6")`],
    ["a changed DataFrame cell", "objects.table", `
import gzip
name = [n for n in files if n.endswith("/table.csv.gz")][0]
files[name] = gzip.compress(gzip.decompress(files[name]).replace(b"0.25", b"0.26"))`],
    ["a changed array", "objects.weights", `
import io, numpy as np
name = [n for n in files if n.endswith("/weights.npz")][0]
arr = np.load(io.BytesIO(files[name]))["weights"]; arr[0, 0] = 7
out = io.BytesIO(); np.savez_compressed(out, weights=arr); files[name] = out.getvalue()`],
    ["a file missing from the folder's zip", "objects.outputs", `
import io
name = [n for n in files if n.endswith("/outputs.zip")][0]
src = zipfile.ZipFile(io.BytesIO(files[name])); out = io.BytesIO()
with zipfile.ZipFile(out, "w") as z:
    for i in src.infolist():
        if i.filename != "plots/curve.csv":
            z.writestr(i.filename, src.read(i.filename))
files[name] = out.getvalue()`],
  ];
  for (const [what, name, edit] of cases)
    test(`${what} fails ${name} only`, async () => {
      expect(await failingWhenPlanted(be, manifest, backendDir, `${zip}.orig`, edit)).toEqual([name]);
    });

  test("by URL (a TEST DOUBLE of the server holding what ClearML stored offline): every kind verified over REST; a planted fault fails its check only", async () => {
    const { startClearmlDouble } = await import("../doubles/clearml-server-double.ts");
    const { ClearmlRest, clearmlHosts } = await import("../../src/backends/clearml/rest.ts");
    const { readClearmlTask } = await import("../../src/backends/clearml/online.ts");
    const { clearmlScriptChecks } = await import("../../src/backends/clearml/script-checks.ts");
    const { openSession } = await import("../../src/backends/clearml/reader.ts");
    const s = await openSession(`${zip}.orig`);
    const task = JSON.parse(await s.readText("task.json"));
    const scalars: Record<string, Record<string, [number, number][]>> = {};
    for (const line of (await s.readText("metrics.jsonl")).split("\n").filter(Boolean))
      for (const e of JSON.parse(line)) if (e.type === "training_stats_scalar") ((scalars[e.metric] ??= {})[e.variant] ??= []).push([e.iter, e.value]);
    const artifacts: Record<string, { file: string; bytes: Uint8Array }> = {};
    for (const a of task.execution.artifacts) artifacts[a.key] = { file: a.uri.split("/").at(-1), bytes: await s.read(a.uri.slice(task.offline_folder.length + 1)) };
    const images: { metric: string; variant: string; iter: number; file: string; bytes: Uint8Array }[] = [];
    for (const line of (await s.readText("metrics.jsonl")).split("\n").filter(Boolean))
      for (const e of JSON.parse(line))
        if (e.type === "training_debug_image")
          images.push({ metric: e.metric, variant: e.variant, iter: e.iter, file: e.url.split("/").at(-1), bytes: await s.read(e.url.slice(task.offline_folder.length + 1)) });
    const logs = (await s.readText("log.jsonl")).split("\n").filter(Boolean).flatMap((l) => JSON.parse(l).map((e: { msg: string }) => e.msg));
    const keys = { accessKey: "ACCESSKEY0123456789", secretKey: "secret-0123456789abcdefghijklmnopqrstuvwxyz" };
    const serve = (mutate?: (a: typeof artifacts) => void) => {
      const arts = structuredClone(artifacts);
      mutate?.(arts);
      return startClearmlDouble({ ...keys, tasks: [{ id: task.id, name: task.name, project: { id: "p1", name: task.project_name }, scalars, artifacts: arts, configuration: task.configuration, logs, images }] });
    };
    const verifyByUrl = async (double: ReturnType<typeof serve>) => {
      const rest = new ClearmlRest(clearmlHosts(double.api, { CLEARML_FILES_HOST: double.files }), keys);
      const run = manifest.runs[0]!;
      return clearmlScriptChecks(manifest, backendDir, { mode: "url", rest, observed: { [run.key]: await readClearmlTask(rest, run) } });
    };
    const double = serve();
    try {
      const got = await verifyByUrl(double);
      expect(failedNames(got)).toEqual([]);
      expect(got.filter((c) => c.status === "pass").map((c) => c.name).sort()).toEqual(
        ["configuration.hyper", "configuration.train-file", "media.samples/array@1", "media.samples/file@2", "objects.outputs", "objects.stats", "objects.table", "objects.weights",
          "summaries.accuracy", "summaries.diverged", "summaries.params", "text.report_text#1"]);
      expect(got.filter((c) => c.status === "skip")).toEqual([]);
    } finally {
      double.stop();
    }
    const planted = serve((a) => (a.stats!.bytes = new TextEncoder().encode(new TextDecoder().decode(a.stats!.bytes).replace("0.5", "0.6"))));
    try {
      expect(failedNames(await verifyByUrl(planted))).toEqual(["objects.stats"]);
    } finally {
      planted.stop();
    }
  }, 120_000);

  test("OutputModel.update_weights where the SDK can store it offline: the entry and the weights; each planted fault fails its check", async () => {
    const dir = join(root, "model-stored");
    const proj = join(dir, "project");
    mkdirSync(proj, { recursive: true });
    // The one line a user would add to get past clearml 2.1.12's offline bug: the SDK then stores
    // the model the way its offline code means to (offline_output_models + models/<file>).
    writeFileSync(join(proj, "train.py"), `
import torch
from clearml import OutputModel, Task
task = Task.init(project_name="examples", task_name="model")
model = torch.nn.Linear(4, 2)
torch.save(model.state_dict(), "model.pt")
output_model = OutputModel(task=task, name="linear", framework="PyTorch")
output_model._get_base_model().locked = False  # clearml 2.1.12 offline: its stand-in model lacks 'locked'
output_model.update_weights(weights_filename="model.pt")
task.close()
`);
    const run = await runScript({ spec: parseScript("train.py", [], proj), python, assetRoot: repoRoot, workDir: join(dir, "work"), env: be.workflowEnv(), timeoutMs: 300_000 });
    const result = await verifyScriptRun(be, run, backendDir);
    expect(failedNames(result.checks)).toEqual([]);
    expect(result.checks.find((c) => c.name === "models.linear")?.status).toBe("pass");
    expect(result.checks.find((c) => c.name === "models.linear:weights")?.status).toBe("pass");
    const { manifestFor } = await import("../../src/script/records.ts");
    const m = manifestFor(run.merged, "clearml");
    const stored = m.runs[0]!.offlinePath!;
    expect(await failingWhenPlanted(be, m, backendDir, stored, `
b = bytearray(files["models/model.pt"]); b[len(b) // 2] ^= 0xFF; files["models/model.pt"] = bytes(b)`)).toEqual(["models.linear:weights"]);
    expect(await failingWhenPlanted(be, m, backendDir, stored, `
t = json.loads(files["task.json"]); t["offline_output_models"] = []; files["task.json"] = json.dumps(t).encode()`)).toEqual(["models.linear"]);

    // By URL (a TEST DOUBLE serving the model ClearML stored): models.output, models.get_by_id, the weights' uri.
    const { startClearmlDouble } = await import("../doubles/clearml-server-double.ts");
    const { ClearmlRest, clearmlHosts } = await import("../../src/backends/clearml/rest.ts");
    const { readClearmlTask } = await import("../../src/backends/clearml/online.ts");
    const { clearmlScriptChecks } = await import("../../src/backends/clearml/script-checks.ts");
    const { openSession } = await import("../../src/backends/clearml/reader.ts");
    const weights = await (await openSession(stored)).read("models/model.pt");
    const keys = { accessKey: "ACCESSKEY0123456789", secretKey: "secret-0123456789abcdefghijklmnopqrstuvwxyz" };
    const run0 = m.runs[0]!;
    for (const [bytes, want] of [[weights, []], [weights.map((b, i) => (i === 100 ? b ^ 0xff : b)), ["models.linear:weights"]]] as [Uint8Array, string[]][]) {
      const double = startClearmlDouble({ ...keys, tasks: [{ id: run0.runId, name: run0.name, project: { id: "p1", name: "examples" }, scalars: {}, artifacts: {},
        models: [{ id: "m-1", name: "linear", framework: "PyTorch", file: "model.pt", bytes }] }] });
      try {
        const rest = new ClearmlRest(clearmlHosts(double.api, { CLEARML_FILES_HOST: double.files }), keys);
        const got = await clearmlScriptChecks(m, backendDir, { mode: "url", rest, observed: { [run0.key]: await readClearmlTask(rest, run0) } });
        expect(got.map((c) => c.name).sort()).toEqual(["models.linear", "models.linear:weights"]);
        expect(failedNames(got)).toEqual(want);
      } finally {
        double.stop();
      }
    }
  }, 400_000);

  test("OutputModel.update_weights offline: clearml 2.1.12's own failure is named as the SDK's", async () => {
    const dir = join(root, "model");
    const proj = join(dir, "project");
    mkdirSync(proj, { recursive: true });
    writeFileSync(join(proj, "train.py"), `
import torch
from clearml import OutputModel, Task
task = Task.init(project_name="examples", task_name="model")
model = torch.nn.Linear(4, 2)
torch.save(model.state_dict(), "model.pt")
output_model = OutputModel(task=task, name="linear", framework="PyTorch")
output_model.update_weights(weights_filename="model.pt")
task.close()
`);
    const run = await runScript({ spec: parseScript("train.py", [], proj), python, assetRoot: repoRoot, workDir: join(dir, "work"), env: be.workflowEnv(), timeoutMs: 300_000 });
    const result = await verifyScriptRun(be, run, backendDir);
    const model = result.checks.find((c) => c.name === "models.linear")!;
    expect(model.status).toBe("fail");
    expect(model.message).toContain("SDK failure, not e2e's");
    expect(model.message).toContain("'DummyModel' object has no attribute 'locked'");
    expect(result.checks.find((c) => c.name === "script.exit")!.status).toBe("fail");
  }, 400_000);
});

describe("e2e run --script --backend clearml (the compiled command, as a user runs it)", () => {
  test("a script that logs only through TensorBoard: ClearML's binding reports it, recorded as metrics and verified", async () => {
    const { runE2E } = await import("../helpers.ts");
    const proj = join(root, "cli-tb");
    mkdirSync(proj, { recursive: true });
    writeFileSync(join(proj, "train.py"), `
import torch
from torch.utils.tensorboard import SummaryWriter
from clearml import Task

task = Task.init(project_name="examples", task_name="tensorboard")
writer = SummaryWriter("runs/exp")
model = torch.nn.Linear(4, 1)
opt = torch.optim.SGD(model.parameters(), lr=0.1)
x, y = torch.randn(32, 4), torch.randn(32, 1)
for step in range(5):
    loss = torch.nn.functional.mse_loss(model(x), y)
    opt.zero_grad(); loss.backward(); opt.step()
    writer.add_scalar("train/loss", loss.item(), step)
    writer.add_scalar("lr", 0.1, step)
writer.close()
task.close()
`);
    const r = await runE2E(["run", "--script", "train.py", "--backend", "clearml", "--python", python, "--json"], { cwd: proj, timeoutMs: 400_000 });
    const checks = JSON.parse(r.stdout).backends[0].workflows[0].checks as Check[];
    expect(failedNames(checks)).toEqual([]);
    // The binding's naming: "train/loss" -> title "train", series "loss"; "lr" -> title = series = "lr".
    expect(checks.find((c) => c.name === "metrics.train/loss")?.message).toBe("all 5 points match");
    expect(checks.find((c) => c.name === "metrics.lr")?.message).toBe("all 5 points match");
    expect(r.code).toBe(0);
  }, 500_000);

  test("a script using every ClearML kind exits 0 with each kind verified and nothing unverified", async () => {
    const { runE2E } = await import("../helpers.ts");
    const proj = join(root, "cli");
    mkdirSync(proj, { recursive: true });
    writeFileSync(join(proj, "train.py"), SCRIPT);
    const r = await runE2E(["run", "--script", "train.py", "--backend", "clearml", "--python", python, "--json"], { cwd: proj, timeoutMs: 400_000 });
    const doc = JSON.parse(r.stdout);
    const checks = doc.backends[0].workflows[0].checks as Check[];
    expect(failedNames(checks)).toEqual([]);
    expect(r.code).toBe(0);
    for (const g of ["summaries", "text", "configuration", "media", "objects", "metrics"])
      expect(checks.filter((c) => c.group === g && c.status === "pass").length).toBeGreaterThan(0);
    expect(checks.filter((c) => c.name.startsWith("script.unverified:"))).toEqual([]);
  }, 500_000);
});
