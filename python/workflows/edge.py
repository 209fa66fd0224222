"""Names and values a backend may reject or change: non-finite and extreme doubles, Unicode and
long keys, characters outside MLflow's key alphabet.

Each key is logged on its own through the SDK. A call the SDK refuses is not in the manifest's
metrics (the adapter records only what the SDK accepted) but in facts.rejected, so the verifier
checks that the backend holds none of it. A value the backend changes (ClearML stores NaN/Inf as
0.0; MLflow's SQL store clamps Inf to the largest double) is a failed check that says so: this
workflow is a probe, opt-in (`--workflow edge`), not part of `all`.
"""
import math
import os
import tempfile

from e2e_track import load_config, open_tracker, progress
from e2e_track.figures import plot_series

CASES = [
    ("finite/pi", math.pi),
    ("finite/tiny", 5e-324),          # the smallest subnormal double
    ("finite/huge", 1.7976931348623157e308),
    ("finite/negative_zero", -0.0),
    ("nonfinite/nan", math.nan),
    ("nonfinite/inf", math.inf),
    ("nonfinite/neg_inf", -math.inf),
    ("unicode/λ_loss_é", 0.25),
    ("long/" + "k" * 245, 1.5),       # 250 characters: MLflow's limit
    ("toolong/" + "k" * 300, 2.5),    # over MLflow's limit
    ("odd chars*?", 3.5),              # outside MLflow's ^[/\w.\- ]*$
]
STEPS = 3


def main():
    cfg = load_config()
    rejected = {}
    with open_tracker(cfg) as tracker:
        run = tracker.start_run("main", name=cfg["run_name"], tags={"workflow": "edge"})
        run.log_params({"cases": len(CASES), "steps": STEPS})
        for i, (key, value) in enumerate(CASES, 1):
            for step in range(1, STEPS + 1):
                try:
                    run.log_metric(key, value, step=step)
                except Exception as exc:  # the SDK refused it: that is the finding
                    rejected[key] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
                    break
            progress(i, len(CASES))
        with tempfile.TemporaryDirectory() as tmp:
            png = os.path.join(tmp, "cases.png")
            plot_series({"finite/pi": [(s, math.pi) for s in range(1, STEPS + 1)]}, png)
            run.log_artifact(png, "plots/cases.png", kind="image")
        tracker.facts["rejected"] = rejected
        run.finish()


if __name__ == "__main__":
    main()
