"""Test workflow: logs a few points (NaN and infinities included), then crashes."""
from e2e_track import load_config, open_tracker

cfg = load_config()
with open_tracker(cfg) as tracker:
    run = tracker.start_run("main", name=cfg["run_name"])
    run.log_params({"flag": True, "rate": 1e-05, "n": 3, "none": None})
    run.log_metric("loss", 0.5, step=1)
    run.log_metrics({"loss": float("nan"), "edge": float("inf")}, step=2)
    run.log_metric("edge", float("-inf"), step=3)
    raise RuntimeError("boom")
