"""The recorder (python/e2e_record) inside real processes: what it records, when it writes,
and that the script behaves as without it. MLflow runs against a SQLite store (no server)."""
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from readers import wandb_records

RECORD_PATH = Path(__file__).resolve().parents[1] / "e2e_record"


def run(tmp_path, source, extra_env=None, extra_path=(), args=(), wait=True):
    script = tmp_path / "script.py"
    script.write_text(textwrap.dedent(source))
    env = {**os.environ, "E2E_RECORD_DIR": str(tmp_path / "rec"),
           "PYTHONPATH": os.pathsep.join([str(RECORD_PATH), *map(str, extra_path)]),
           "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path}/m.db", "HOME": str(tmp_path),
           "WANDB_MODE": "offline", "WANDB_DIR": str(tmp_path), "WANDB_SILENT": "true",
           **(extra_env or {})}
    cmd = [sys.executable, str(script), *args]
    if not wait:
        return subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240)


def records(tmp_path):
    return {int(p.stem.split("-")[1]): json.loads(p.read_text())
            for p in sorted((tmp_path / "rec").glob("record-*.json"))}


def only(tmp_path):
    recs = records(tmp_path)
    assert len(recs) == 1, recs
    return next(iter(recs.values()))


def points(run_):
    return {k: [p[:2] for p in pts] for k, pts in run_["metrics"].items()}


def test_no_sdk_no_record_and_output_unchanged(tmp_path):
    p = run(tmp_path, "import json; print(json.dumps([1, 2]))")
    assert p.returncode == 0 and p.stdout == "[1, 2]\n" and p.stderr == ""
    assert not (tmp_path / "rec").exists()


def test_mlflow_values_as_stored_and_failed_calls_left_out(tmp_path):
    p = run(tmp_path, """
        import mlflow, numpy as np, torch
        with mlflow.start_run() as r:
            mlflow.log_param("a", 1e-05)
            try:
                mlflow.log_param("a", 2)  # MLflow refuses to change a param: not recorded
            except Exception:
                pass
            mlflow.log_metric("np", np.float32(0.1), step=3)
            mlflow.log_metric("t", torch.tensor(2.5))
            mlflow.log_metric("nan", float("nan"), step=1)
    """)
    assert p.returncode == 0, p.stderr
    [r] = only(tmp_path)["runs"]
    assert r["params"] == {"a": "1e-05"}
    assert points(r) == {"np": [[3, float(__import__("numpy").float32(0.1))]], "t": [[0, 2.5]], "nan": [[1, "NaN"]]}
    assert r["status"] == "FINISHED"


def test_mlflow_timestamps_are_the_ones_sent_and_models_recorded(tmp_path):
    """log_metric without a timestamp: the recorder stamps it as MLflow would, so the record holds
    the timestamp the store keeps (identical points can then be matched as the store matches them)."""
    p = run(tmp_path, """
        import json, mlflow
        with mlflow.start_run() as r:
            for i in range(3):
                mlflow.log_metric("loss", 1.0 / (i + 1), step=i)
            m = mlflow.create_external_model(name="ext", params={"k": "v"})
            mlflow.log_metric("acc", 0.5, step=1, model_id=m.model_id)
        stored = mlflow.MlflowClient().get_metric_history(r.info.run_id, "loss")
        print(json.dumps([[x.step, x.value, x.timestamp] for x in stored]))
    """)
    assert p.returncode == 0, p.stderr
    rec = only(tmp_path)
    [r] = rec["runs"]
    assert sorted(r["metrics"]["loss"]) == sorted(json.loads(p.stdout.strip().splitlines()[-1]))
    [m] = rec["models"]
    assert m["name"] == "ext" and m["params"] == {"k": "v"} and m["sourceRunId"] == r["runId"]
    assert [pt[:2] for pt in m["metrics"]["acc"]] == [[1, 0.5]]


def test_crash_writes_the_record_with_the_error(tmp_path):
    p = run(tmp_path, """
        import mlflow
        mlflow.start_run()
        mlflow.log_metric("x", 1.0, step=0)
        raise ValueError("boom")
    """)
    assert p.returncode == 1 and "ValueError: boom" in p.stderr  # the script's own traceback
    rec = only(tmp_path)
    assert rec["exit"] == {"kind": "exception", "error": "ValueError: boom"}
    assert points(rec["runs"][0]) == {"x": [[0, 1.0]]}


def test_sigterm_writes_the_record_then_dies_of_sigterm(tmp_path):
    proc = run(tmp_path, """
        import mlflow, sys, time
        mlflow.start_run()
        for i in range(3):
            mlflow.log_metric("x", i, step=i)
        print("ready", flush=True)
        time.sleep(60)
    """, wait=False)
    assert proc.stdout.readline() == b"ready\n"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == -signal.SIGTERM
    proc.stdout.close(), proc.stderr.close()
    rec = only(tmp_path)
    assert rec["exit"] == {"kind": "signal", "signal": "SIGTERM"}
    assert points(rec["runs"][0]) == {"x": [[0, 0.0], [1, 1.0], [2, 2.0]]}


def test_children_keep_their_own_record_and_forks_start_empty(tmp_path):
    p = run(tmp_path, """
        import mlflow, os, subprocess, sys
        run = mlflow.start_run()
        mlflow.log_metric("parent", 1.0)
        pid = os.fork()
        if pid == 0:  # a forked worker that logs nothing must not repeat the parent's calls
            os._exit(0)
        os.waitpid(pid, 0)
        subprocess.run([sys.executable, "-c",
                        f"import mlflow; mlflow.log_metric('child', 2.0, run_id='{run.info.run_id}')"], check=True)
        mlflow.end_run()
    """)
    assert p.returncode == 0, p.stderr
    recs = records(tmp_path)
    assert len(recs) == 2
    by_metric = {k: r for r in recs.values() for k in r["runs"][0]["metrics"]}
    assert by_metric["child"]["ppid"] == by_metric["parent"]["pid"]


def test_shadowed_sitecustomize_still_runs(tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    (other / "sitecustomize.py").write_text("import os\nos.environ['OTHER_SITE'] = 'ran'\n")
    p = run(tmp_path, "import os; print(os.environ.get('OTHER_SITE'))", extra_path=[other])
    assert p.stdout == "ran\n", p.stderr


def test_wandb_rows_follow_wandbs_step_rule(tmp_path):
    p = run(tmp_path, """
        import wandb
        run = wandb.init(project="p")
        wandb.log({"a": 1})                   # row 0
        run.log({"b": 2}, commit=False)       # pending in row 1
        run.log({"c": 3})                     # row 1: b and c
        run.log({"d": 4}, step=5)             # pending at 5
        run.log({"e": 5}, step=7)             # 5 committed; pending at 7
        run.log({"f": 6}, step=2)             # below the current step: W&B drops it
        run.finish()                          # 7 committed
    """)
    assert p.returncode == 0, p.stderr
    [r] = only(tmp_path)["runs"]
    expected = {"a": [[0, 1.0]], "b": [[1, 2.0]], "c": [[1, 3.0]], "d": [[5, 4.0]], "e": [[7, 5.0]]}
    assert points(r) == expected
    folder = Path(r["offlinePath"])
    stored = {}
    for rec in wandb_records(next(folder.glob("run-*.wandb"))):
        if rec.WhichOneof("record_type") == "history":
            row = {i.key or ".".join(i.nested_key): json.loads(i.value_json) for i in rec.history.item}
            for k, v in row.items():
                if not k.startswith("_"):
                    stored.setdefault(k, []).append([row["_step"], float(v)])
    assert stored == expected
    assert only(tmp_path)["unverified"][0]["what"].startswith("a row whose step is below")


def test_recorder_writes_now_and_then_not_per_call(tmp_path):
    """3000 W&B rows: each call is noted in memory; the record reaches the disk at most once a
    second while the script logs (the interim writes), then at the run's end. What this costs per
    call is a benchmark's business, not a test's: asserted here is the rule, not a time."""
    p = run(tmp_path, """
        import json, time, wandb, e2e_recorder
        rec = e2e_recorder.recorder()
        starts = []
        real_write = rec.write
        def counted():
            starts.append(time.monotonic())
            real_write()
        rec.write = counted
        run = wandb.init(project="p")
        before = len(starts)
        t = time.monotonic()
        for i in range(3000):
            run.log({"x": i})
        loop = time.monotonic() - t
        during = starts[before:]
        run.finish()
        print(json.dumps({"during": during, "loop": loop, "after": len(starts) - before - len(during)}))
    """)
    assert p.returncode == 0, p.stderr
    seen = json.loads(p.stdout.strip().splitlines()[-1])
    during, loop = seen["during"], seen["loop"]
    gaps = [b - a for a, b in zip(during, during[1:])]
    assert all(g >= 1.0 for g in gaps), gaps  # maybe_write: at most one interim write a second
    assert len(during) <= 1 + loop, (len(during), loop)  # so far fewer writes than the 3000 calls
    assert seen["after"] >= 1  # the run's end writes the record
    rec = only(tmp_path)
    assert rec["calls"]["wandb:run.log (wandb.log)"] == 3000  # every call noted
    [r] = rec["runs"]
    assert [v for _, v in points(r)["x"]] == list(range(3000))

def test_wandb_use_artifact_identity_and_offline_refusal(tmp_path):
    """What use_artifact returned, read from a real wandb Artifact as the public API builds it from
    the server's answer (Artifact._from_attrs, the ArtifactFragment of RunInputArtifacts); and the
    offline refusal noted with its reason, the script still seeing wandb's own error."""
    r = run(tmp_path, """
        import json, wandb
        from e2e_recorder.sdk_wandb import used_note
        from wandb.sdk.artifacts.artifact import Artifact
        from wandb.sdk.artifacts._generated.fragments import ArtifactFragment
        from wandb.sdk.artifacts._validators import FullArtifactPath
        proj = {"id": "UHJvamVjdDox", "internalId": "1", "name": "data-proj", "entity": {"name": "team"}}
        frag = ArtifactFragment.model_validate({
            "id": "QXJ0aWZhY3Q6MQ==", "artifactSequence": {"__typename": "ArtifactSequence", "name": "mnist", "project": proj},
            "versionIndex": 3, "artifactType": {"name": "dataset"}, "description": None, "metadata": "{}",
            "ttlDurationSeconds": -2, "ttlIsInherited": True, "tags": [], "historyStep": None, "state": "COMMITTED",
            "size": 10, "digest": "0123abcd", "commitHash": None, "fileCount": 1, "createdAt": "2026-01-01T00:00:00", "updatedAt": None})
        # The script asked for "mnist:latest" from its own project: the server's answer names the source.
        art = Artifact._from_attrs(FullArtifactPath(prefix="team", project="other", name="mnist:latest"), frag, None)
        print(json.dumps(used_note(art)))
        run = wandb.init(project="p")
        try:
            run.use_artifact("mnist:latest")
        except TypeError as e:
            print("refused:", e)
        run.finish()
    """)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.strip().splitlines()
    assert json.loads(lines[0]) == {"name": "mnist", "version": "v3", "digest": "0123abcd", "type": "dataset", "entity": "team", "project": "data-proj"}
    assert lines[1] == "refused: Cannot use artifact when in offline mode."
    rec = only(tmp_path)
    notes = [u for u in rec["unverified"] if u["call"] == "run.use_artifact"]
    assert len(notes) == 1 and "offline W&B refuses it" in notes[0]["what"], rec["unverified"]
    assert not rec["runs"][0].get("wandb", {}).get("used")
