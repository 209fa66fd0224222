"""The manifest's time for a point the SDK stamps itself is read just before that point's call."""
import json
import zipfile
from pathlib import Path

from readers import wandb_records

SCRIPT = Path(__file__).parent / "scripts" / "stall.py"
STALL_MS = 200  # scripts/stall.py's STALL_S
ROWS = [(1, ["a", "b", "c"]), (2, ["a", "b"]), (3, ["c", "a", "b"])]


def manifest_stamps(run):
    return {(k, p[0]): p[2] for k, pts in run["metrics"].items() for p in pts}


def test_clearml_stamp_per_key_follows_a_stalled_report(make_work):
    work = make_work("clearml", script=SCRIPT).run()
    assert work.returncode == 0, work.stderr[-3000:]
    [run] = work.manifest["runs"]
    with zipfile.ZipFile(Path(work.root) / run["offlinePath"]) as z:
        events = [e for line in z.read("metrics.jsonl").decode().splitlines() if line
                  for e in json.loads(line)]
    stored = {(e["metric"], e["iter"]): e["timestamp"] for e in events
              if e["type"] == "training_stats_scalar" and e["metric"] == e["variant"]}
    want = manifest_stamps(run)
    assert set(stored) == set(want)
    for step, keys in ROWS:
        for i, k in enumerate(keys):
            # Read before ClearML's own stamp of the same event...
            assert want[(k, step)] <= stored[(k, step)], (k, step)
            # ...and after the report before it in the row returned: a stall after "a" was
            # stamped (planted by the script) is not charged to the keys that follow it.
            if i and keys[i - 1] == "a":
                assert want[(k, step)] >= stored[("a", step)] + STALL_MS, (k, step)


def test_wandb_keeps_one_time_per_row(make_work):
    # W&B stamps the whole row once (publish_partial_history's _timestamp): the manifest keeps
    # one time per row, as before, for every key of it.
    work = make_work("wandb", script=SCRIPT).run()
    assert work.returncode == 0, work.stderr[-3000:]
    [run] = work.manifest["runs"]
    want = manifest_stamps(run)
    for step, keys in ROWS:
        assert len({want[(k, step)] for k in keys}) == 1, step
    folder = Path(work.root) / run["offlinePath"]
    rows = [{i.key or "/".join(i.nested_key): json.loads(i.value_json) for i in r.history.item}
            for r in wandb_records(folder / f"run-{run['runId']}.wandb")
            if r.WhichOneof("record_type") == "history"]
    rows = {r["step"]: r for r in rows if "step" in r and "global_step" not in r}
    for step, keys in ROWS:
        assert rows[step]["_timestamp"] * 1000 >= want[(keys[0], step)], step
