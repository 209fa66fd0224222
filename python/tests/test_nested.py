"""Parent/child runs: MLflow nested runs and W&B groups (offline ClearML cannot do this)."""
from pathlib import Path

import pytest

from readers import wandb_records

SCRIPT = Path(__file__).parent / "scripts" / "nested.py"


@pytest.mark.parametrize("backend", ["mlflow", "wandb"])
def test_nested(backend, make_work, request):
    uri = request.getfixturevalue("mlflow_server") if backend == "mlflow" else None
    work = make_work(backend, tracking_uri=uri, script=SCRIPT).run()
    assert work.returncode == 0, work.stderr[-3000:]
    runs = {r["key"]: r for r in work.manifest["runs"]}
    assert list(runs) == ["main", "trial-0", "trial-1"]
    assert all(r["status"] == "FINISHED" for r in runs.values())
    assert [runs[k].get("parent") for k in runs] == [None, "main", "main"]
    if backend == "mlflow":
        from mlflow.tracking import MlflowClient

        client = MlflowClient(uri)
        for key in ("trial-0", "trial-1"):
            tags = client.get_run(runs[key]["runId"]).data.tags
            assert tags["mlflow.parentRunId"] == runs["main"]["runId"]
        assert "mlflow.parentRunId" not in client.get_run(runs["main"]["runId"]).data.tags
    else:
        assert {r["group"] for r in runs.values()} == {"parent"}
        for r in runs.values():
            folder = Path(work.root) / r["offlinePath"]
            [info] = [x.run for x in wandb_records(folder / f"run-{r['runId']}.wandb")
                      if x.WhichOneof("record_type") == "run"][:1]
            assert (info.run_id, info.run_group) == (r["runId"], "parent")


def test_clearml_children_refused(make_work):
    work = make_work("clearml", script=SCRIPT).run()
    assert work.returncode != 0 and "cannot create child tasks" in work.stderr
    # The refused child never existed in ClearML, so only the parent is listed.
    assert [(r["key"], r["status"]) for r in work.manifest["runs"]] == [("main", "FAILED")]
