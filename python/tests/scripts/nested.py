"""Test workflow: a parent run with two children logged while the parent is open."""
from e2e_track import load_config, open_tracker

cfg = load_config()
with open_tracker(cfg) as tracker:
    parent = tracker.start_run("main", name="parent")
    for i in range(2):
        child = tracker.start_run(f"trial-{i}", name=f"trial-{i}", parent=parent)
        child.log_metric("score", float(i), step=0)
        child.finish()
    parent.log_metric("best", 1.0, step=0)
    parent.finish()
