"""Train, checkpoint, stop; a NEW process loads the checkpoint back from the backend and resumes.

Phase 1 (E2E_PHASE=1): steps 1..stop_at, torch.save({model, optimizer, step}) logged as artifact
checkpoints/step-<stop_at>.pt (kind model), the run finished, exit.
Phase 2 (E2E_PHASE=2, same config and manifest): the adapter reloads the manifest and resumes
the same run (MLflow start_run(run_id=...); W&B wandb.init(id=..., resume="allow"), which
offline writes a second run folder; ClearML Task.init(reuse_last_task_id=<id>,
continue_last_task=0), same task and session). The checkpoint comes back FROM THE BACKEND
(the backend's Run.fetch_artifact; how, in Run.fetch_source) and the sha256 and size of the
bytes received are reported as facts.resume.received; the verifier, not this workflow, compares
them with what the backend holds. Then steps stop_at+1..steps, a final checkpoint and a plot.
Each step's batch comes from a generator seeded by the step, so data do not depend on history.
"""
import os
import tempfile

import torch
from torch import nn

from e2e_track import load_config, open_tracker, progress, resolve_device
from e2e_track.core import sha256_file
from e2e_track.figures import plot_series

FEATURES, CLASSES = 16, 4


def build(device, lr):
    model = nn.Sequential(nn.Linear(FEATURES, 32), nn.ReLU(), nn.Linear(32, CLASSES)).to(device)
    return model, torch.optim.Adam(model.parameters(), lr=lr)


def train(run, model, opt, first, last, total, seed, device, centers):
    loss_fn = nn.CrossEntropyLoss()
    for step in range(first, last + 1):
        gen = torch.Generator().manual_seed(seed * 1_000_003 + step)
        y = torch.randint(CLASSES, (32,), generator=gen)
        x = centers[y] + 0.8 * torch.randn(32, FEATURES, generator=gen)
        logits = model(x.to(device))
        loss = loss_fn(logits, y.to(device))
        opt.zero_grad()
        loss.backward()
        opt.step()
        acc = (logits.argmax(1).cpu() == y).float().mean().item()
        run.log_metrics({"loss": loss.item(), "accuracy": acc}, step=step)
        progress(step, total)


def save(run, model, opt, step, artifact_path):
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, os.path.basename(artifact_path))
        torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "step": step}, path)
        run.log_artifact(path, artifact_path, kind="model")
        return sha256_file(path)


def logged_sha(run, artifact_path):
    """sha256 of the bytes phase 1 handed the SDK (the manifest's record of the artifact)."""
    return next(a["sha256"] for a in run.artifacts if a["path"] == artifact_path)


def main():
    cfg = load_config()
    sizes = cfg.get("sizes") or {}
    steps, stop_at = int(sizes.get("steps", 20)), int(sizes.get("stop_at", 10))
    if not 1 <= stop_at < steps:
        raise SystemExit("checkpoint: need 1 <= stop_at < steps")
    seed = int(cfg.get("seed", 0))
    device = resolve_device(cfg)
    torch.manual_seed(seed)
    centers = 1.5 * torch.randn(CLASSES, FEATURES, generator=torch.Generator().manual_seed(seed))
    lr = 0.01
    ckpt_path = f"checkpoints/step-{stop_at}.pt"
    with open_tracker(cfg) as tracker:
        if tracker.phase == 1:
            run = tracker.start_run("main", name=cfg["run_name"], tags={"workflow": "checkpoint"})
            run.log_params({"lr": lr, "optimizer": "adam", "steps": steps, "stop_at": stop_at,
                            "seed": seed, "device": device})
            model, opt = build(device, lr)
            train(run, model, opt, 1, stop_at, steps, seed, device, centers)
            sha = save(run, model, opt, stop_at, ckpt_path)
            tracker.facts["resume"] = {"stopStep": stop_at, "checkpoint": ckpt_path,
                                       "checkpointSha256": sha}
            run.finish()
            return
        run = tracker.resume_run("main")
        with tempfile.TemporaryDirectory() as tmp:
            local = run.fetch_artifact(ckpt_path, tmp)
            # What came back, reported for the TypeScript verifier to compare with what the
            # backend holds (src/verify/workflow-checks.ts): the workflow judges nothing itself.
            # Written before torch.load, so damaged bytes are still reported when loading fails.
            source, api = run.fetch_source
            received = {"source": source, "api": api, "path": ckpt_path,
                        "sha256": sha256_file(local), "size": os.path.getsize(local)}
            tracker.facts["resume"] = {"stopStep": stop_at, "checkpoint": ckpt_path,
                                       "checkpointSha256": logged_sha(run, ckpt_path),
                                       "received": received}
            tracker.write_manifest()
            state = torch.load(local, map_location=device)
        model, opt = build(device, lr)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        resume_at = int(state["step"]) + 1
        train(run, model, opt, resume_at, steps, steps, seed, device, centers)
        save(run, model, opt, steps, "checkpoints/final.pt")
        with tempfile.TemporaryDirectory() as tmp:
            png = plot_series({"loss": [p[1] for p in run.metrics["loss"]]},
                              os.path.join(tmp, "loss.png"), ylabel="loss")
            run.log_artifact(png, "plots/loss.png", kind="image")
        tracker.facts["resume"]["resumeStep"] = resume_at
        run.finish()


if __name__ == "__main__":
    main()
