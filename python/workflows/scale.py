"""Metric logging at scale: `points` metric points over `keys` keys, every one verifiable exactly.

Point i of key k (step s = 1..n_k, n_k = points // keys, the first points % keys keys one more)
has value k + s / (n_k + 1) + 0.5 / (s + 1): deterministic, distinct across all points (k picks
the integer part), not a round number. Logged through the SDK's batch path: MLflow
MlflowClient.log_batch (1000 metrics a call), W&B one run.log row per step holding every key,
ClearML report_scalar per point. Rows are logged in chunks so progress can be reported.
"""
import os
import tempfile

from e2e_track import load_config, open_tracker, progress
from e2e_track.figures import plot_series

CHUNK = 250  # steps per log_metrics_batch call (x keys points: 1000 for 4 keys)


def value(k, s, n):
    return k + s / (n + 1) + 0.5 / (s + 1)


def main():
    cfg = load_config()
    sizes = cfg.get("sizes") or {}
    points, keys = int(sizes.get("points", 10000)), int(sizes.get("keys", 4))
    counts = [points // keys + (1 if k < points % keys else 0) for k in range(keys)]
    names = [f"series_{k}" for k in range(keys)]
    total_steps = max(counts)
    with open_tracker(cfg) as tracker:
        run = tracker.start_run("main", name=cfg["run_name"], tags={"workflow": "scale"})
        run.log_params({"points": points, "keys": keys, "chunk": CHUNK})
        for start in range(1, total_steps + 1, CHUNK):
            rows = []
            for s in range(start, min(start + CHUNK, total_steps + 1)):
                rows.append((s, {names[k]: value(k, s, counts[k])
                                 for k in range(keys) if s <= counts[k]}))
            run.log_metrics_batch(rows)
            progress(rows[-1][0], total_steps)
        logged = run.point_count()
        assert logged == points, (logged, points)
        stride = max(1, counts[0] // 500)
        with tempfile.TemporaryDirectory() as tmp:
            # From the formula: past the inline limit the points are on disk, not in run.metrics.
            png = plot_series({n: [value(k, s, counts[k]) for s in range(1, counts[k] + 1, stride)]
                               for k, n in enumerate(names)}, os.path.join(tmp, "series.png"))
            run.log_artifact(png, "plots/series.png", kind="image")
        tracker.facts["scale"] = {"points": points, "keys": keys,
                                  "pointsPerKey": dict(zip(names, counts))}
        run.finish()


if __name__ == "__main__":
    main()
