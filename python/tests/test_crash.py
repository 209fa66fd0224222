"""A workflow that crashes still leaves a truthful manifest; special floats are pinned down."""
import json
import math
import zipfile
from pathlib import Path

import pytest

from readers import wandb_history, wandb_records

SCRIPT = Path(__file__).parent / "scripts" / "crash.py"
EXPECTED = {"loss": [[1, 0.5], [2, "NaN"]], "edge": [[2, "Infinity"], [3, "-Infinity"]]}


def as_manifest(v):
    return {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}.get(str(v), v)


@pytest.mark.parametrize("backend", ["mlflow", "wandb", "clearml"])
def test_crash_leaves_failed_manifest(backend, make_work, request):
    uri = request.getfixturevalue("mlflow_server") if backend == "mlflow" else None
    work = make_work(backend, tracking_uri=uri, script=SCRIPT).run()
    assert work.returncode != 0 and "boom" in work.stderr
    [run] = work.manifest["runs"]
    assert run["status"] == "FAILED" and run["runId"]
    assert {k: [p[:2] for p in pts] for k, pts in run["metrics"].items()} == EXPECTED
    # str() as MLflow stores params.
    assert run["params"] == {"flag": "True", "rate": "1e-05", "n": "3", "none": "None"}
    stored = {}
    if backend == "mlflow":
        from mlflow.tracking import MlflowClient

        client = MlflowClient(uri)
        info = client.get_run(run["runId"])
        assert info.info.status == "FAILED" and info.data.params == run["params"]
        for k in EXPECTED:
            stored[k] = [[p.step, as_manifest(p.value)]
                         for p in client.get_metric_history(run["runId"], k)]
        # MLflow's SQL store keeps NaN but clamps +-inf to +-sys.float_info.max.
        big = 1.7976931348623157e308
        assert stored == {**EXPECTED, "edge": [[2, big], [3, -big]]}
    elif backend == "wandb":
        folder = Path(work.root) / run["offlinePath"]
        records = list(wandb_records(folder / f"run-{run['runId']}.wandb"))
        for k, step, v in wandb_history(records):
            stored.setdefault(k, []).append([step, as_manifest(v)])
        assert stored == EXPECTED
        assert any(r.WhichOneof("record_type") == "exit" and r.exit.exit_code == 1 for r in records)
    else:
        with zipfile.ZipFile(Path(work.root) / run["offlinePath"]) as z:
            events = [e for line in z.read("metrics.jsonl").decode().splitlines() if line
                      for e in json.loads(line)]
            hyper = json.loads(z.read("task.json"))["hyperparams"]["General"]
        # The adapter reports its own points as title = series = key; ClearML's TensorBoard
        # binding files the same points again under the bare-tag title ("Scalars"): not ours.
        captured = (run.get("tensorboardCapture") or {}).get("bareTagTitle")
        for e in events:
            if e["type"] == "training_stats_scalar" and e["metric"] != captured:
                stored.setdefault(e["metric"], []).append([e["iter"], e["value"]])
        # ClearML replaces NaN and +-inf with 0.0 (Logger.set_reporting_nan_value /
        # set_reporting_inf_value): the verifier must map manifest specials to 0.0.
        assert stored == {"loss": [[1, 0.5], [2, 0.0]], "edge": [[2, 0.0], [3, 0.0]]}
        # ClearML's connect() stores None as "" (other values as str()).
        assert {k: v["value"] for k, v in hyper.items()} == {**run["params"], "none": ""}
