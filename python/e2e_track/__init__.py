"""Tracking adapter used by the workflows; python/README.md is its contract."""
import contextlib
import json
import os
import signal
import sys

from .core import Run, Tracker, resolve_device  # noqa: F401  (re-exported for workflows)


def load_config(path=None):
    path = path or os.environ.get("E2E_CONFIG")
    if not path:
        raise SystemExit("E2E_CONFIG is not set: it must name the run's config.json")
    with open(path) as f:
        return json.load(f)


def progress(step, total, **extra):
    """One machine-readable line for the harness; everything else on stdout is log."""
    line = json.dumps({"event": "progress", "step": step, "total": total, **extra})
    print(f"@e2e {line}", flush=True)


def _tracker_class(backend):
    # Imported lazily: each SDK is slow to import and only one is used per process.
    if backend == "mlflow":
        from .backend_mlflow import MlflowTracker as cls
    elif backend == "wandb":
        from .backend_wandb import WandbTracker as cls
    elif backend == "clearml":
        from .backend_clearml import ClearmlTracker as cls
    else:
        raise ValueError(f"unknown backend {backend!r}")
    return cls


@contextlib.contextmanager
def open_tracker(cfg, **options):
    # A SIGTERM from the harness (timeout) should still run the finally below.
    if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    tracker = _tracker_class(cfg["backend"])(cfg, **options)
    try:
        yield tracker
    finally:
        tracker.close()  # runs still open here (an exception escaped) end as FAILED
