"""Each workflow of python/workflows run for real on each backend, checked against what the SDK stored.

Runs follow the harness contract (python/README.md): train.py committed in a throwaway repo,
config.json with per-workflow sizes, phases as separate processes (E2E_PHASE=1, 2), ddp through
torch.distributed.run with two processes. MLflow uses the session's server; W&B and ClearML run
offline without a network.
"""
import json
import math
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conftest import HERE, PYDIR, Work, can_unshare
from readers import is_tensorboard_row, sha256, wandb_records, wandb_stored_bytes

BACKENDS = ["mlflow", "wandb", "clearml"]
# The quick profile's sizes (src/plan/workflows.ts), smaller where the test only needs the shape.
SIZES = {
    "lightning": {"steps": 24, "batch_size": 16},
    "ddp": {"steps": 12, "batch_size": 16, "nproc": 2},
    "sweep": {"trials": 3, "steps": 10},
    "checkpoint": {"steps": 20, "stop_at": 10},
    "scale": {"points": 10000, "keys": 4},
}


class WorkflowWork(Work):
    def __init__(self, root, backend, workflow, tracking_uri=None, sizes=None):
        super().__init__(root, backend, tracking_uri=tracking_uri,
                         script=PYDIR / "workflows" / f"{workflow}.py",
                         sizes=sizes or SIZES[workflow])
        self.cfg.update(workflow=workflow, run_name=workflow)
        (root / "config.json").write_text(json.dumps(self.cfg))
        self.outputs = []

    def run_phase(self, phase=None, torchrun=False, timeout=300):
        offline = self.cfg["offline"]
        home = self.root / "home"
        home.mkdir(exist_ok=True)
        env = {**os.environ, "E2E_CONFIG": str(self.root / "config.json"),
               "PYTHONPATH": os.pathsep.join([str(HERE / "netaudit"), str(PYDIR)]),
               "E2E_NET_LOG": str(self.net_log), "HOME": str(home), "WANDB_SILENT": "true"}
        if phase is not None:
            env["E2E_PHASE"] = str(phase)
        cmd = [sys.executable, "train.py"]
        if torchrun:
            cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone",
                   "--nproc-per-node", str(self.cfg["sizes"].get("nproc", 2)), "train.py"]
        if offline and can_unshare():
            cmd = ["unshare", "-n", "sh", "-c", 'ip link set lo up && exec "$@"', "sh", *cmd]
        proc = subprocess.run(cmd, cwd=self.repo, env=env, capture_output=True, text=True,
                              timeout=timeout)
        self.stdout, self.stderr, self.returncode = proc.stdout, proc.stderr, proc.returncode
        self.outputs.append(proc)
        assert proc.returncode == 0, f"phase {phase}: {proc.stderr[-5000:]}"
        self.manifest = json.loads(Path(self.cfg["manifest"]).read_text())
        return self


@pytest.fixture
def workflow_work(tmp_path, request):
    def make(backend, workflow, **kw):
        uri = request.getfixturevalue("mlflow_server") if backend == "mlflow" else None
        return WorkflowWork(tmp_path / backend, backend, workflow, tracking_uri=uri, **kw)
    return make


# --- readers of what each backend stored ----------------------------------------------------
def mlflow_points(uri, run):
    from mlflow.tracking import MlflowClient

    client = MlflowClient(uri)
    out = []
    for key in run["metrics"]:
        out += [(key, p.step, p.value, p.timestamp) for p in client.get_metric_history(run["runId"], key)]
    return sorted(out)


def wandb_points(root, run):
    """(key, step, value) from every offline folder of the run, step from its stepKey."""
    step_key = run.get("stepKey", "step")
    points, records = [], []
    for folder in run.get("offlinePaths") or [run["offlinePath"]]:
        recs = list(wandb_records(Path(root) / folder / f"run-{run['runId']}.wandb"))
        records += recs
        for r in recs:
            if r.WhichOneof("record_type") != "history":
                continue
            row = {i.key or "/".join(i.nested_key): json.loads(i.value_json) for i in r.history.item}
            if is_tensorboard_row(row):
                continue
            for k, v in row.items():
                if k != step_key and not k.startswith("_"):
                    points.append((k, row[step_key], v))
    return sorted(points), records


def clearml_session(root, run):
    with zipfile.ZipFile(Path(root) / run["offlinePath"]) as z:
        task = json.loads(z.read("task.json"))
        events = [e for line in z.read("metrics.jsonl").decode().splitlines() if line
                  for e in json.loads(line)]
        names = set(z.namelist())
        data = {n: z.read(n) for n in names if n.startswith("data/")}
    # ClearML's TensorBoard capture of the mirrored scalars sits beside the adapter's own reports,
    # under the title the manifest names (tags without "/" -> "Scalars"); checked in TypeScript.
    captured = (run.get("tensorboardCapture") or {}).get("bareTagTitle")
    points = sorted(((e["metric"] if e["variant"] == e["metric"] else f"{e['metric']}/{e['variant']}"),
                     e["iter"], e["value"]) for e in events
                    if e["type"] == "training_stats_scalar" and not (captured and e["metric"] == captured))
    return task, points, data


def expected(run, with_ts=False):
    return sorted((k, *(p if with_ts else p[:2])) for k, pts in run["metrics"].items() for p in pts)


def check_stored(work, run, image=True):
    """Every manifest point, param and artifact is what the backend stored."""
    root = work.root
    if work.backend == "mlflow":
        from mlflow.tracking import MlflowClient

        assert mlflow_points(work.cfg["tracking_uri"], run) == [tuple(p) for p in expected(run, True)]
        client = MlflowClient(work.cfg["tracking_uri"])
        stored = client.get_run(run["runId"])
        assert stored.data.params == run["params"]
        assert {k: stored.data.tags[k] for k in run["tags"]} == run["tags"]
        assert stored.data.tags["mlflow.source.git.commit"] == work.commit
        arts = {}
        for a in run["artifacts"]:
            local = client.download_artifacts(run["runId"], a["path"], str(root / "dl"))
            arts[a["path"]] = sha256(Path(local).read_bytes())
    elif work.backend == "wandb":
        points, records = wandb_points(root, run)
        assert points == expected(run)
        config = {}
        for r in records:
            kind = r.WhichOneof("record_type")
            if kind in ("run", "config"):
                for item in (r.run.config if kind == "run" else r.config).update:
                    config[item.key] = json.loads(item.value_json)
        assert {k: str(config[k]) for k in run["params"]} == run["params"]
        runs = [r.run for r in records if r.WhichOneof("record_type") == "run"]
        assert {(x.run_id, x.run_group) for x in runs} == {(run["runId"], run["group"])}
        assert all(x.git.commit == work.commit for x in runs)
        arts = {}
        folders = [Path(root) / f for f in run.get("offlinePaths") or [run["offlinePath"]]]
        for a in run["artifacts"]:
            arts[a["path"]] = sha256(wandb_stored_bytes(folders, a["path"]))
    else:
        task, points, data = clearml_session(root, run)
        assert task["id"] == run["runId"] and task["script"]["version_num"] == work.commit
        want = [(k, s, 0.0 if isinstance(v, str) else v) for k, s, v in expected(run)]
        assert points == want
        assert {k: v["value"] for k, v in task["hyperparams"].get("General", {}).items()} == run["params"]
        assert {k: v["value"] for k, v in task["hyperparams"].get("properties", {}).items()} == run["tags"]
        stored = {a["key"]: a for a in task["execution"]["artifacts"]}
        arts = {}
        for a in run["artifacts"]:
            inner = os.path.relpath(stored[a["path"]]["uri"], task["offline_folder"])
            arts[a["path"]] = sha256(data[inner])
    assert arts == {a["path"]: a["sha256"] for a in run["artifacts"]}
    if image:  # a figure per workflow (trial runs of a sweep have none of their own)
        assert any(a["kind"] == "image" and a["path"].endswith(".png") for a in run["artifacts"])
    return run


def check_tensorboard(work, run, keys=None):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(Path(work.root) / run["tensorboardDir"]), size_guidance={"scalars": 0})
    acc.Reload()
    for key in keys or run["metrics"]:
        pts = run["metrics"][key]
        events = acc.Scalars(key)
        assert [e.step for e in events] == [p[0] for p in pts], key
        assert [e.value for e in events] == pytest.approx([p[1] for p in pts], rel=1e-6), key


def progress_steps(stdout):
    return [json.loads(l[5:])["step"] for l in stdout.splitlines() if l.startswith("@e2e ")]


# --- lightning --------------------------------------------------------------------------------
@pytest.mark.parametrize("backend", BACKENDS)
def test_lightning(backend, workflow_work):
    work = workflow_work(backend, "lightning").run_phase()
    [run] = work.manifest["runs"]
    assert run["status"] == "FINISHED" and run["key"] == "main"
    steps = SIZES["lightning"]["steps"]
    assert {"train/loss", "train/acc", "val/loss", "epoch"} <= set(run["metrics"])
    train_steps = [p[0] for p in run["metrics"]["train/loss"]]
    assert len(train_steps) == steps and train_steps == sorted(set(train_steps))
    assert run["params"]["lr"] == "0.01" and run["params"]["hidden"] == "32"
    if backend == "wandb":
        assert run["stepKey"] == "trainer/global_step"
    else:
        assert "stepKey" not in run
    check_stored(work, run)
    keys = [k for k in run["metrics"] if k != "epoch" or backend != "mlflow"]
    check_tensorboard(work, run, keys)
    assert progress_steps(work.stdout)[-1] == steps


# --- ddp --------------------------------------------------------------------------------------
@pytest.mark.parametrize("backend", BACKENDS)
def test_ddp_two_processes(backend, workflow_work):
    work = workflow_work(backend, "ddp").run_phase(torchrun=True)
    m = work.manifest
    [run] = m["runs"]  # one logging rank: one run
    steps = SIZES["ddp"]["steps"]
    assert m["facts"]["ddp"] == {"worldSize": 2, "loggingRanks": [0], "distBackend": "gloo",
                                 "paramsInSync": True}
    assert run["params"]["world_size"] == "2" and run["status"] == "FINISHED"
    for pts in run["metrics"].values():
        assert [p[0] for p in pts] == list(range(1, steps + 1))  # one coherent run, no repeats
    assert [p[1] for p in run["metrics"]["samples_seen"]] == [s * 16 * 2 for s in range(1, steps + 1)]
    assert progress_steps(work.stdout) == list(range(1, steps + 1))  # rank 0 only
    check_stored(work, run)
    check_tensorboard(work, run)


# --- sweep ------------------------------------------------------------------------------------
@pytest.mark.parametrize("backend", BACKENDS)
def test_sweep(backend, workflow_work):
    work = workflow_work(backend, "sweep").run_phase()
    m = work.manifest
    runs = {r["key"]: r for r in m["runs"]}
    trials = [f"trial-{i}" for i in range(SIZES["sweep"]["trials"])]
    assert list(runs) == ["main", *trials]
    assert all(r["status"] == "FINISHED" for r in runs.values())
    assert [runs[k].get("parent") for k in trials] == ["main"] * len(trials)
    vals = {k: runs[k]["metrics"]["val_loss"][-1][1] for k in trials}
    best = min(vals, key=vals.get)
    assert m["facts"]["best"] == {"key": best, "metric": "val_loss", "value": vals[best]}
    assert runs["main"]["tags"]["best_trial"] == best
    for r in runs.values():
        check_stored(work, r, image=r["key"] == "main")
    parent_id = runs["main"]["runId"]
    if backend == "mlflow":
        from mlflow.tracking import MlflowClient

        client = MlflowClient(work.cfg["tracking_uri"])
        for k in trials:
            assert client.get_run(runs[k]["runId"]).data.tags["mlflow.parentRunId"] == parent_id
    elif backend == "wandb":
        assert {r["group"] for r in runs.values()} == {runs["main"]["group"]}
    else:
        for k in trials:
            task, _, _ = clearml_session(work.root, runs[k])
            assert task["parent"] == parent_id
        task, _, _ = clearml_session(work.root, runs["main"])
        assert task.get("parent") is None


# --- checkpoint -------------------------------------------------------------------------------
@pytest.mark.parametrize("backend", BACKENDS)
def test_checkpoint_resume_two_processes(backend, workflow_work):
    work = workflow_work(backend, "checkpoint").run_phase(phase=1)
    [first] = work.manifest["runs"]
    assert [p[0] for p in first["metrics"]["loss"]] == list(range(1, 11))
    work.run_phase(phase=2)
    m = work.manifest
    [run] = m["runs"]
    assert run["runId"] == first["runId"] and run["status"] == "FINISHED"
    steps, stop_at = SIZES["checkpoint"]["steps"], SIZES["checkpoint"]["stop_at"]
    for pts in run["metrics"].values():
        assert [p[0] for p in pts] == list(range(1, steps + 1))  # no gap, no duplicate
    ckpt = next(a for a in run["artifacts"] if a["path"] == f"checkpoints/step-{stop_at}.pt")
    resume = m["facts"]["resume"]
    received = resume.pop("received")
    assert resume == {"stopStep": stop_at, "resumeStep": stop_at + 1,
                      "checkpoint": ckpt["path"], "checkpointSha256": ckpt["sha256"]}
    assert received["path"] == ckpt["path"] and received["size"] == ckpt["size"]
    assert received["sha256"] == ckpt["sha256"] and received["source"] in ("backend-api", "offline-store")
    if backend == "wandb":
        paths = run["offlinePaths"]
        assert len(paths) == 2 and paths[0] == run["offlinePath"] and paths[0] != paths[1]
        assert all(p.endswith(run["runId"]) for p in paths)
    else:
        assert "offlinePaths" not in run
    check_stored(work, run)
    check_tensorboard(work, run)  # two event files in one folder, one per process


# --- scale ------------------------------------------------------------------------------------
@pytest.mark.parametrize("backend", BACKENDS)
def test_scale_10k_points(backend, workflow_work):
    work = workflow_work(backend, "scale").run_phase()
    [run] = work.manifest["runs"]
    pts = expected(run)
    assert len(pts) == 10000 and len({p[2] for p in pts}) == 10000
    assert sorted(run["metrics"]) == [f"series_{k}" for k in range(4)]
    check_stored(work, run)
