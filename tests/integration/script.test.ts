/**
 * `e2e run --script`: scripts written the way users write them (MLflow fluent and client APIs,
 * Lightning's MLFlowLogger, W&B and ClearML offline, a crash mid-way, torchrun with two ranks)
 * run unmodified with the recorder injected, against a real MLflow server and the SDKs'
 * real offline files; a planted loss on the server (a deleted metric row, a truncated artifact)
 * is caught; a script whose SDK is not the chosen backend gets a clear message.
 */
import { metricPoints } from "../../src/verify/series.ts";
import { describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { mkdirSync, readdirSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { verifyScriptRun } from "../../src/script/execute.ts";
import type { BackendName } from "../../src/verify/manifest.ts";
import type { WorkflowResult } from "../../src/run/result.ts";
import { runE2E, scriptFixture, type ScriptCase } from "../helpers.ts";
import { validateAgainst } from "../schema.ts";

const fx = scriptFixture("e2e-script-test-");
/** Writes the script into a fresh project folder and runs it as `e2e run --script` would. */
const runUserScript = (backend: BackendName, source: string, opts: { command?: string; args?: string[] } = {}) => fx.run(backend, source, { timeoutMs: 240_000, ...opts });

const failed = (r: WorkflowResult) => r.checks.filter((c) => c.status === "fail");
const named = (r: WorkflowResult, name: string) => r.checks.find((c) => c.name === name);

const FLUENT = `
import mlflow, torch
torch.manual_seed(0)
model = torch.nn.Linear(4, 1)
opt = torch.optim.SGD(model.parameters(), lr=0.1)
x, y = torch.randn(64, 4), torch.randn(64, 1)
mlflow.set_experiment("script-fluent")
with mlflow.start_run(run_name="fluent"):
    mlflow.log_params({"lr": 0.1, "epochs": 20, "opt": "sgd"})
    mlflow.set_tag("stage", "test")
    for epoch in range(20):
        loss = torch.nn.functional.mse_loss(model(x), y)
        opt.zero_grad(); loss.backward(); opt.step()
        mlflow.log_metric("loss", loss.item(), step=epoch)
        mlflow.log_metrics({"w0": model.weight[0, 0].item(), "ones": 1}, step=epoch)
    torch.save(model.state_dict(), "model.pt")
    mlflow.log_artifact("model.pt", artifact_path="checkpoints")
    mlflow.log_dict({"classes": [1, 2]}, "meta/info.json")
`;

describe("e2e run --script against a real MLflow server", () => {
  let fluent: ScriptCase;

  test("plain loop with the fluent API: every point, param, tag and artifact accounted for", async () => {
    fluent = await runUserScript("mlflow", FLUENT);
    expect(failed(fluent.result)).toEqual([]);
    expect(fluent.run.exitCode).toBe(0);
    const [r] = fluent.run.merged.runs;
    expect(r!.metrics.loss).toHaveLength(20);
    expect(r!.params).toEqual({ lr: "0.1", epochs: "20", opt: "sgd" });
    expect(r!.artifacts.map((a) => a.path).sort()).toEqual(["checkpoints/model.pt", "meta/info.json"]);
    expect(named(fluent.result, "metrics.loss")?.status).toBe("pass");
    expect(named(fluent.result, "artifacts.checkpoints/model.pt")?.status).toBe("pass");
    expect(named(fluent.result, "script.arrived")?.message).toContain("everything arrived");
  }, 300_000);

  test("a planted loss on the server is caught: a deleted metric row, a truncated artifact", async () => {
    const runId = fluent.run.merged.runs[0]!.runId;
    const db = new Database(join(fx.serverDir(), "mlflow.db"));
    const del = db.query("DELETE FROM metrics WHERE run_uuid = ? AND key = 'loss' AND step = 7").run(runId);
    db.close();
    expect(del.changes).toBe(1);
    const artifacts = join(fx.serverDir(), "mlartifacts");
    const exp = readdirSync(artifacts).find((e) => readdirSync(join(artifacts, e)).includes(runId))!;
    truncateSync(join(artifacts, exp, runId, "artifacts", "checkpoints", "model.pt"), 10);
    const again = await verifyScriptRun(fluent.be, fluent.run, fluent.backendDir);
    expect(failed(again).map((c) => c.name).sort()).toEqual(["artifacts.checkpoints/model.pt", "metrics.loss", "script.arrived"]);
    expect(named(again, "metrics.loss")!.message).toContain("missing steps 7");
    expect(named(again, "artifacts.checkpoints/model.pt")!.message).toContain("size 10");
    expect(named(again, "script.arrived")!.message).toContain("metrics 2/3");
  }, 120_000);

  test("MlflowClient API: create_run, log_batch, log_metric, log_artifacts, log_text, set_terminated", async () => {
    const { run, result } = await runUserScript("mlflow", `
import os, tempfile, time
from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunTag
c = MlflowClient()
exp = c.create_experiment(f"script-client-{os.getpid()}")
rid = c.create_run(exp, run_name="client", tags={"team": "e2e"}).info.run_id
c.log_param(rid, "batch", 32)
now = int(time.time() * 1000)
c.log_batch(rid, metrics=[Metric("acc", i / 10, now + i, i) for i in range(10)], params=[Param("opt", "adam")], tags=[RunTag("k", "v")])
for i in range(5):
    c.log_metric(rid, "val/loss", 1.0 / (i + 1), step=i * 2)
d = tempfile.mkdtemp()
open(os.path.join(d, "a.txt"), "w").write("A" * 100)
os.makedirs(os.path.join(d, "sub"))
open(os.path.join(d, "sub", "b.bin"), "wb").write(os.urandom(5000))
c.log_artifacts(rid, d, artifact_path="bundle")
c.log_text(rid, "hello", "notes/readme.md")
c.set_terminated(rid)
`);
    expect(failed(result)).toEqual([]);
    const [r] = run.merged.runs;
    expect(r!.status).toBe("FINISHED");
    expect(Object.keys(r!.metrics).sort()).toEqual(["acc", "val/loss"]);
    expect(r!.metrics.acc).toHaveLength(10);
    expect(r!.params).toEqual({ batch: "32", opt: "adam" });
    expect(r!.artifacts.map((a) => a.path).sort()).toEqual(["bundle/a.txt", "bundle/sub/b.bin", "notes/readme.md"]);
    expect(named(result, "run.status")?.status).toBe("pass");
  }, 300_000);

  test("Lightning with MLFlowLogger: what the logger sent is what the server holds", async () => {
    const { run, result } = await runUserScript("mlflow", `
import lightning as L, torch
from lightning.pytorch.loggers import MLFlowLogger
class M(L.LightningModule):
    def __init__(self, lr=0.05):
        super().__init__(); self.save_hyperparameters(); self.l = torch.nn.Linear(4, 1)
    def training_step(self, batch, i):
        x, y = batch
        loss = torch.nn.functional.mse_loss(self.l(x), y)
        self.log("train_loss", loss, on_step=True, on_epoch=True)
        return loss
    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=self.hparams.lr)
torch.manual_seed(0)
ds = torch.utils.data.TensorDataset(torch.randn(64, 4), torch.randn(64, 1))
logger = MLFlowLogger(experiment_name="script-lightning", run_name="lit")
L.Trainer(max_epochs=2, logger=logger, log_every_n_steps=1, enable_checkpointing=False, enable_progress_bar=False,
          enable_model_summary=False).fit(M(), torch.utils.data.DataLoader(ds, batch_size=16))
`);
    expect(failed(result)).toEqual([]);
    const [r] = run.merged.runs;
    expect(r!.params.lr).toBe("0.05");
    expect(r!.metrics.train_loss_step).toHaveLength(8);
    expect(r!.metrics.train_loss_epoch).toHaveLength(2);
    expect(r!.status).toBe("FINISHED");
  }, 300_000);

  test("a script that crashes mid-way: the record survives and the verdict says what arrived", async () => {
    const { run, result } = await runUserScript("mlflow", `
import mlflow
with mlflow.start_run(run_name="crash"):
    mlflow.log_param("lr", 0.1)
    for step in range(10):
        if step == 6:
            raise RuntimeError("diverged at step 6")
        mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
`);
    expect(run.exitCode).not.toBe(0);
    expect(run.merged.processes[0]!.exit).toEqual({ kind: "exception", error: "RuntimeError: diverged at step 6" });
    expect(failed(result).map((c) => c.name)).toEqual(["script.exit"]);
    expect(named(result, "script.exit")!.message).toContain("RuntimeError: diverged at step 6");
    expect(named(result, "metrics.loss")!.message).toBe("all 6 points match");
    expect(named(result, "script.arrived")!.message).toMatch(/stopped early .*everything arrived: params 1\/1, metrics 1\/1/);
  }, 300_000);

  test("torchrun with two ranks: each process keeps its own record, the harness merges them", async () => {
    const { run, result } = await runUserScript("mlflow", `
import mlflow, torch, torch.distributed as dist
dist.init_process_group("gloo")
rank = dist.get_rank()
with mlflow.start_run(run_name=f"rank-{rank}"):
    mlflow.log_param("rank", rank)
    for step in range(6):
        t = torch.tensor([float(step + rank)])
        dist.all_reduce(t)
        mlflow.log_metric("sum", t.item(), step=step)
dist.destroy_process_group()
`, { command: "torchrun --standalone --nproc-per-node 2 train.py" });
    expect(run.exitCode).toBe(0);
    expect(run.merged.processes.map((p) => p.rank).sort()).toEqual(["0", "1"]);
    expect(run.merged.runs.map((r) => r.name).sort()).toEqual(["rank-0", "rank-1"]);
    expect(failed(result)).toEqual([]);
    expect(named(result, "metrics.rank-1:sum")?.status).toBe("pass");
  }, 300_000);
});

describe("e2e run --script with offline W&B and ClearML", () => {
  test("W&B: wandb.log / run.log with and without step, config, run.save", async () => {
    const { run, result } = await runUserScript("wandb", `
import wandb
run = wandb.init(project="script-wandb", config={"lr": 0.1, "arch": {"depth": 2}})
for step in range(10):
    wandb.log({"loss": 1.0 / (step + 1), "acc": step / 10})
run.log({"eval/acc": 0.9}, step=20)
run.log({"hist": wandb.Histogram([1, 2, 3])})
run.config.update({"bs": 16})
open("model.txt", "w").write("weights")
run.save("model.txt", policy="now")
run.finish()
`);
    expect(failed(result)).toEqual([]);
    const [r] = run.merged.runs;
    expect(metricPoints(r!.metrics.loss!).map((p) => p[0])).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(r!.metrics["eval/acc"]).toEqual([[20, 0.9, expect.any(Number)]]);
    expect(r!.params).toEqual({ lr: "0.1", "arch.depth": "2", bs: "16" });
    expect(named(result, "artifacts.model.txt")?.status).toBe("pass");
    // The histogram is verified as W&B media (script-wandb.test.ts covers the kinds in full).
    expect(result.checks.filter((c) => c.group === "media").map((c) => [c.name, c.status])).toEqual([["media.hist@20", "pass"]]);
  }, 300_000);

  test("Lightning with WandbLogger (offline)", async () => {
    const { run, result } = await runUserScript("wandb", `
import lightning as L, torch
from lightning.pytorch.loggers import WandbLogger
class M(L.LightningModule):
    def __init__(self, lr=0.05):
        super().__init__(); self.save_hyperparameters(); self.l = torch.nn.Linear(4, 1)
    def training_step(self, batch, i):
        x, y = batch
        loss = torch.nn.functional.mse_loss(self.l(x), y)
        self.log("train_loss", loss)
        return loss
    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=self.hparams.lr)
torch.manual_seed(0)
ds = torch.utils.data.TensorDataset(torch.randn(64, 4), torch.randn(64, 1))
L.Trainer(max_epochs=2, logger=WandbLogger(project="script-lightning"), log_every_n_steps=1, enable_checkpointing=False,
          enable_progress_bar=False, enable_model_summary=False).fit(M(), torch.utils.data.DataLoader(ds, batch_size=16))
`);
    expect(failed(result)).toEqual([]);
    const [r] = run.merged.runs;
    expect(r!.metrics.train_loss).toHaveLength(8);
    expect(r!.params.lr).toBe("0.05");
  }, 300_000);

  test("ClearML: Task.init, report_scalar, connect, upload_artifact, close", async () => {
    const { run, result } = await runUserScript("clearml", `
from clearml import Task
task = Task.init(project_name="script-clearml", task_name="train")
task.connect({"lr": 0.01, "layers": 3})
log = task.get_logger()
for i in range(8):
    log.report_scalar("loss", "train", 1.0 / (i + 1), iteration=i)
    log.report_scalar("acc", "acc", i / 8, iteration=i)
open("weights.bin", "wb").write(bytes(range(256)) * 4)
task.upload_artifact("weights", artifact_object="weights.bin", wait_on_upload=True)
task.close()
`);
    expect(failed(result)).toEqual([]);
    const [r] = run.merged.runs;
    expect(Object.keys(r!.metrics).sort()).toEqual(["acc", "loss/train"]);
    expect(r!.params).toMatchObject({ "General/lr": "0.01", "General/layers": "3" });
    expect(named(result, "artifacts.weights")?.status).toBe("pass");
  }, 300_000);
});

describe("the e2e run --script command", () => {
  const proj = () => {
    const d = fx.folder("cli");
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, "train.py"), `
import sys, wandb
run = wandb.init(project="cli", config={"epochs": int(sys.argv[1])})
for step in range(int(sys.argv[1])):
    run.log({"loss": 1.0 / (step + 1)})
run.finish()
`);
    return d;
  };

  test("finds the SDK itself, passes the arguments after --, prints one valid JSON document", async () => {
    const cwd = proj();
    const r = await runE2E(["run", "--script", "train.py", "--json", "--", "4"], { cwd, timeoutMs: 280_000 });
    const doc = JSON.parse(r.stdout);
    expect(await validateAgainst("run-result.schema.json", doc)).toEqual([]);
    expect(doc.status).toBe("passed");
    expect(r.code).toBe(0);
    expect(doc.backends.map((b: { backend: string }) => b.backend)).toEqual(["wandb"]);
    const checks = doc.backends[0].workflows[0].checks as { name: string; status: string; message: string }[];
    expect(checks.find((c) => c.name === "metrics.loss")?.message).toBe("all 4 points match");
    expect(checks.find((c) => c.name === "params.epochs")?.status).toBe("pass");
    expect(readdirSync(cwd).sort()).toEqual(["train.py"]); // nothing written into the user's folder
  }, 300_000);

  test("a report that cannot be written is a reporter error: said, recorded, and the verdict and exit code stand", async () => {
    const cwd = proj();
    const blocker = fx.folder("not-a-folder");
    writeFileSync(blocker, "a file, so nothing can be written under it");
    const r = await runE2E(["run", "--script", "train.py", "--json", "--junit", join(blocker, "x.xml"), "--", "3"], { cwd, timeoutMs: 280_000 });
    const doc = JSON.parse(r.stdout);
    expect(await validateAgainst("run-result.schema.json", doc)).toEqual([]);
    expect(doc.status).toBe("passed");
    expect(r.code).toBe(0);
    expect(doc.backends[0].error).toBeUndefined();
    expect(doc.reportErrors.map((e: { reporter: string }) => e.reporter)).toEqual([`--junit ${join(blocker, "x.xml")}`]);
    expect(r.stderr).toContain(`report --junit ${join(blocker, "x.xml")} failed`);
  }, 300_000);

  test("a W&B script run with --backend clearml: a clear message and exit 2, not a verdict", async () => {
    const r = await runE2E(["run", "--script", "train.py", "--backend", "clearml", "--", "3"], { cwd: proj(), timeoutMs: 280_000 });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("the script logged through W&B (wandb), not ClearML");
    expect(r.stderr).toContain("--backend wandb");
  }, 300_000);

  test("a script that does not exist: exit 2", async () => {
    const r = await runE2E(["run", "--script", "nope.py", "--backend", "mlflow"], { cwd: fx.root() });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("script nope.py does not exist");
  }, 60_000);
});
