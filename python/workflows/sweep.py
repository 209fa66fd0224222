"""A hyperparameter search: one parent run, one child run per trial, the best trial reported.

Grid over the learning rate; each trial trains a small classifier for `steps` steps (train
loss per step) and ends with `val_loss` on a held-out set at step = steps. The parent logs the
search space, each finished trial's val_loss (metric `trial_val_loss`, step = trial index), a
bar chart, and tag best_trial=<trial key>; facts.best names the trial with the lowest val_loss.

Grouping per backend: MLflow nested runs (mlflow.parentRunId); W&B every trial in the parent's
group; ClearML offline holds one live task per process, so the parent task is closed while each
trial task runs and continued afterwards (Task.init(reuse_last_task_id=<id>,
continue_last_task=0): same task id and session), and each trial task gets ClearML's own parent
link (task.set_parent -> task.json "parent" = the parent task id), as ClearML's optimizer does.
"""
import os
import tempfile

import torch
from torch import nn

from e2e_track import load_config, open_tracker, progress, resolve_device
from e2e_track.figures import plot_series

FEATURES, CLASSES = 16, 4
GRID = [0.3, 0.1, 0.03, 0.01, 0.003, 0.001, 0.0003, 0.0001]


def data(n, gen, centers):
    y = torch.randint(CLASSES, (n,), generator=gen)
    return centers[y] + 1.0 * torch.randn(n, FEATURES, generator=gen), y


def train_trial(run, lr, steps, seed, device, centers):
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(FEATURES, 32), nn.ReLU(), nn.Linear(32, CLASSES)).to(device)
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(seed + 1)
    for step in range(1, steps + 1):
        x, y = data(32, gen, centers)
        loss = loss_fn(model(x.to(device)), y.to(device))
        opt.zero_grad()
        loss.backward()
        opt.step()
        run.log_metric("train_loss", loss.item(), step=step)
    vx, vy = data(256, torch.Generator().manual_seed(seed + 2), centers)
    with torch.no_grad():
        val = loss_fn(model(vx.to(device)), vy.to(device)).item()
    run.log_metric("val_loss", val, step=steps)
    return val


def main():
    cfg = load_config()
    sizes = cfg.get("sizes") or {}
    trials, steps = int(sizes.get("trials", 3)), int(sizes.get("steps", 10))
    if not 1 <= trials <= len(GRID):
        raise SystemExit(f"sweep: trials must be 1..{len(GRID)}")
    seed = int(cfg.get("seed", 0))
    device = resolve_device(cfg)
    centers = 1.0 * torch.randn(CLASSES, FEATURES, generator=torch.Generator().manual_seed(seed))
    grid = GRID[:trials]
    # sequential_children: ClearML offline closes the parent task while a trial runs.
    with open_tracker(cfg, sequential_children=True) as tracker:
        parent = tracker.start_run("main", name=cfg["run_name"], tags={"workflow": "sweep"})
        parent.log_params({"trials": trials, "steps": steps, "search": "grid", "param": "lr",
                           "grid": ",".join(str(v) for v in grid), "metric": "val_loss",
                           "goal": "minimize", "seed": seed, "device": device})
        results = {}
        for i, lr in enumerate(grid):
            key = f"trial-{i}"
            trial = tracker.start_run(key, name=f"{cfg['run_name']}-{key}", parent=parent,
                                      tags={"workflow": "sweep", "trial": i})
            trial.log_params({"lr": lr, "steps": steps, "seed": seed})
            results[key] = train_trial(trial, lr, steps, seed, device, centers)
            trial.finish()
            parent.log_metric("trial_val_loss", results[key], step=i)
            progress(i + 1, trials)
        best = min(results, key=results.get)
        parent.set_tags({"best_trial": best})
        parent.log_metric("best_val_loss", results[best], step=0)
        with tempfile.TemporaryDirectory() as tmp:
            png = plot_series(results, os.path.join(tmp, "val_loss.png"), xlabel="trial",
                              ylabel="val_loss", kind="bar")
            parent.log_artifact(png, "plots/val_loss.png", kind="image")
        tracker.facts["best"] = {"key": best, "metric": "val_loss", "value": results[best]}
        tracker.facts["trials"] = {k: {"lr": grid[int(k.split("-")[1])], "val_loss": v}
                                   for k, v in results.items()}
        parent.finish()


if __name__ == "__main__":
    main()
