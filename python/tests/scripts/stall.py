"""Test workflow: one key's report stalls inside the SDK, after the SDK stamped it.

A loaded machine can stall a logging call (ClearML flushing its event queue to disk); the keys
reported after it in the same row are stamped later by the SDK. The stall is planted after the
stamp (in ClearML's Reporter._report, which files the event ScalarEvent has just stamped), so it
is the adapter's own clock reads that must follow it: log_metrics, and log_metrics_batch through
the default per-row path.
"""
import time

from e2e_track import load_config, open_tracker

STALL_S = 0.2

cfg = load_config()
with open_tracker(cfg) as tracker:
    if cfg["backend"] == "clearml":
        from clearml.backend_interface.metrics.reporter import Reporter

        report = Reporter._report

        def stalled(self, ev):
            report(self, ev)
            if getattr(ev, "metric", None) == "a":
                time.sleep(STALL_S)

        Reporter._report = stalled
    run = tracker.start_run("main", name=cfg["run_name"])
    run.log_metrics({"a": 1.0, "b": 2.0, "c": 3.0}, step=1)
    run.log_metrics_batch([(2, {"a": 1.5, "b": 2.5}), (3, {"c": 3.5, "a": 4.5, "b": 5.5})])
    run.finish()
