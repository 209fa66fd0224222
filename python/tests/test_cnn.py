"""Run the real cnn workflow against each backend and compare the manifest with the SDK's data."""
import glob
import hashlib
import json
import os
import struct
import tempfile
import zipfile
from pathlib import Path

import pytest

from conftest import SMALL
from readers import manifest_points, sha256, wandb_history, wandb_records, wandb_stored_bytes


def check_common(work):
    assert work.returncode == 0, work.stderr[-4000:]
    m = work.manifest
    assert m["schema"] == 1 and m["backend"] == work.backend and m["workflow"] == "cnn"
    assert m["environment"]["device"] == "cpu" and m["environment"]["torch"]
    [run] = m["runs"]
    assert run["key"] == "main" and run["name"] == "cnn" and run["status"] == "FINISHED"
    assert run["runId"]
    assert run["git"] == {"commit": work.commit, "branch": "main", "dirty": False}
    assert run["params"]["lr"] == "0.01" and run["params"]["steps"] == str(SMALL["steps"])
    assert run["tags"] == {"workflow": "cnn"}
    steps = SMALL["steps"]
    assert sorted(run["metrics"]) == ["accuracy", "loss", "lr"]
    for pts in run["metrics"].values():
        assert [p[0] for p in pts] == list(range(1, steps + 1))
    losses = [p[1] for p in run["metrics"]["loss"]]
    assert sum(losses[-5:]) / 5 < 0.5 * sum(losses[:5]) / 5, "the synthetic task must be learnable"
    arts = {a["path"]: a for a in run["artifacts"]}
    assert arts["checkpoints/model.pt"]["kind"] == "model"
    assert arts["plots/loss.png"]["kind"] == "image"
    progress = [json.loads(l[5:]) for l in work.stdout.splitlines() if l.startswith("@e2e ")]
    assert [p["step"] for p in progress] == list(range(1, steps + 1))
    check_tensorboard(work, run)
    return run


def check_tensorboard(work, run):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(Path(work.root) / run["tensorboardDir"]))
    acc.Reload()
    for key, pts in run["metrics"].items():
        events = acc.Scalars(key)
        assert [e.step for e in events] == [p[0] for p in pts]
        # TensorBoard keeps float32: compare with that rounding.
        assert [e.value for e in events] == pytest.approx([p[1] for p in pts], rel=1e-6)


def check_offline(work):
    assert work.outside_connections() == [], "offline run tried the network"
    # SDK state stays under work_dir: nothing in the (fake) home but matplotlib's font cache.
    home = Path(work.root) / "home"
    return [str(p.relative_to(home)) for p in home.rglob("*")
            if p.is_file() and ".cache/matplotlib" not in str(p)]


def test_mlflow(make_work, mlflow_server):
    from mlflow.tracking import MlflowClient

    work = make_work("mlflow", tracking_uri=mlflow_server).run()
    run = check_common(work)
    assert run["experiment"] == work.cfg["experiment"]
    client = MlflowClient(mlflow_server)
    stored = client.get_run(run["runId"])
    assert stored.info.status == "FINISHED"
    assert stored.data.params == run["params"]
    tags = stored.data.tags
    assert {k: tags[k] for k in run["tags"]} == run["tags"]
    assert tags["mlflow.source.git.commit"] == work.commit
    assert tags["mlflow.source.git.branch"] == "main"  # present since MLflow 3.x (3.17.2 here)
    assert tags["mlflow.runName"] == "cnn"
    assert tags["mlflow.source.name"].endswith("train.py")
    points = sorted((k, p.step, p.value, p.timestamp)
                    for k in run["metrics"] for p in client.get_metric_history(run["runId"], k))
    expected = sorted((k, *p) for k, pts in run["metrics"].items() for p in pts)
    assert points == [tuple(p) for p in expected]
    with tempfile.TemporaryDirectory() as tmp:
        for art in run["artifacts"]:
            local = client.download_artifacts(run["runId"], art["path"], tmp)
            data = Path(local).read_bytes()
            assert (len(data), sha256(data)) == (art["size"], art["sha256"])


def test_wandb(make_work):
    work = make_work("wandb").run()
    run = check_common(work)
    assert check_offline(work) == []
    folder = Path(work.root) / run["offlinePath"]
    assert folder.name.startswith("offline-run-") and folder.name.endswith(run["runId"])
    records = list(wandb_records(folder / f"run-{run['runId']}.wandb"))
    assert wandb_history(records) and sorted(wandb_history(records)) == manifest_points(run)
    [info] = [r.run for r in records if r.WhichOneof("record_type") == "run"][:1]
    assert (info.run_id, info.project, info.run_group) == (run["runId"], run["project"], run["group"])
    assert info.git.commit == work.commit
    assert list(info.tags) == ["workflow=cnn"]
    config = {}
    for r in records:
        kind = r.WhichOneof("record_type")
        if kind in ("run", "config"):
            for item in (r.run.config if kind == "run" else r.config).update:
                config[item.key] = json.loads(item.value_json)
    for k, v in run["params"].items():
        assert str(config[k]) == v, k  # raw values in W&B; str() gives MLflow's form
    saved = {f.path for r in records if r.WhichOneof("record_type") == "files" for f in r.files.files}
    models = {e.path for r in records if r.WhichOneof("record_type") == "artifact"
              for e in r.artifact.manifest.contents}
    for art in run["artifacts"]:
        # Checkpoints go through W&B Artifacts, the rest through run.save's files records.
        assert art["path"] in (models if art["kind"] == "model" else saved)
        data = wandb_stored_bytes([folder], art["path"])
        assert (len(data), sha256(data)) == (art["size"], art["sha256"])
    assert any(r.WhichOneof("record_type") == "exit" and r.exit.exit_code == 0 for r in records)


def test_clearml(make_work):
    work = make_work("clearml").run()
    run = check_common(work)
    assert check_offline(work) == []
    zpath = Path(work.root) / run["offlinePath"]
    assert run["runId"].startswith("offline-") and zpath.name == f"{run['runId']}.zip"
    with zipfile.ZipFile(zpath) as z:
        names = set(z.namelist())
        task = json.loads(z.read("task.json"))
        events = [e for line in z.read("metrics.jsonl").decode().splitlines() if line
                  for e in json.loads(line)]
        assert task["id"] == run["runId"] and task["name"] == "cnn"
        assert task["project_name"] == run["project"]
        assert task["script"]["version_num"] == work.commit and task["script"]["branch"] == "main"
        assert {k: v["value"] for k, v in task["hyperparams"]["General"].items()} == run["params"]
        assert {k: v["value"] for k, v in task["hyperparams"]["properties"].items()} == run["tags"]
        # The adapter's reports (title = series = key) and, apart from them, ClearML's TensorBoard
        # capture of the mirrored event files (title "Scalars", series = tag).
        assert run["tensorboardCapture"] == {"bareTagTitle": "Scalars"}
        own = [e for e in events if e["type"] == "training_stats_scalar" and e["metric"] != "Scalars"]
        captured = [e for e in events if e["type"] == "training_stats_scalar" and e["metric"] == "Scalars"]
        scalars = sorted((e["metric"], e["iter"], e["value"]) for e in own)
        assert all(e["metric"] == e["variant"] for e in own)
        assert scalars == manifest_points(run)
        f32 = lambda v: struct.unpack("f", struct.pack("f", v))[0]  # noqa: E731
        assert sorted((e["variant"], e["iter"], f32(e["value"])) for e in captured) == \
            [(k, s, f32(v)) for k, s, v in manifest_points(run)]
        offline_folder = task["offline_folder"]
        arts = {a["key"]: a for a in task["execution"]["artifacts"]}
        for art in run["artifacts"]:
            stored = arts[art["path"]]
            assert (stored["content_size"], stored["hash"]) == (art["size"], art["sha256"])
            inner = os.path.relpath(stored["uri"], offline_folder)
            assert inner in names, (inner, sorted(names))
            assert sha256(z.read(inner)) == art["sha256"]
