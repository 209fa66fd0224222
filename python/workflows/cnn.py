"""Small CNN on synthetic images: params, per-step metrics, a checkpoint and a plot.

The data is generated in-process (no downloads): each class is a fixed random pattern, every
sample is its class pattern plus noise, so the task is learnable and the loss falls within a
few dozen steps.
"""
import os
import tempfile

import torch
from torch import nn

from e2e_track import load_config, open_tracker, progress, resolve_device


def make_batch(patterns, batch_size, gen, noise=0.8):
    labels = torch.randint(len(patterns), (batch_size,), generator=gen)
    images = patterns[labels] + noise * torch.randn(patterns[labels].shape, generator=gen)
    return images, labels


def build_model(classes):
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(2),
        nn.Flatten(), nn.Linear(64, classes))


def plot_losses(losses, path):
    import matplotlib

    matplotlib.use("Agg")  # no display on CI or in containers
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4, 3))
    ax.plot(range(1, len(losses) + 1), losses)
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main():
    cfg = load_config()
    sizes = cfg["sizes"]
    steps, batch, size, classes = (int(sizes[k]) for k in
                                   ("steps", "batch_size", "image_size", "classes"))
    seed = int(cfg.get("seed", 0))
    torch.manual_seed(seed)
    device = resolve_device(cfg)
    gen = torch.Generator().manual_seed(seed)
    patterns = torch.randn(classes, 1, size, size, generator=gen)
    model = build_model(classes).to(device)
    lr = 0.01
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=max(1, steps // 2), gamma=0.5)
    loss_fn = nn.CrossEntropyLoss()

    with open_tracker(cfg) as tracker:
        run = tracker.start_run("main", name=cfg["run_name"], tags={"workflow": "cnn"})
        run.log_params({"lr": lr, "optimizer": "adam", "steps": steps, "batch_size": batch,
                        "image_size": size, "classes": classes, "seed": seed,
                        "device": device})
        losses = []
        for step in range(1, steps + 1):
            images, labels = make_batch(patterns, batch, gen)
            images, labels = images.to(device), labels.to(device)
            logits = model(images)
            loss = loss_fn(logits, labels)
            opt.zero_grad()
            loss.backward()
            opt.step()
            current_lr = opt.param_groups[0]["lr"]  # the lr this step trained with
            sched.step()
            acc = (logits.argmax(1) == labels).float().mean().item()
            losses.append(loss.item())
            run.log_metrics({"loss": loss.item(), "accuracy": acc, "lr": current_lr}, step=step)
            progress(step, steps)

        with tempfile.TemporaryDirectory() as tmp:
            ckpt = os.path.join(tmp, "model.pt")
            torch.save(model.state_dict(), ckpt)
            run.log_artifact(ckpt, "checkpoints/model.pt", kind="model")
            plot = os.path.join(tmp, "loss.png")
            plot_losses(losses, plot)
            run.log_artifact(plot, "plots/loss.png", kind="image")
        tracker.facts["final_loss"] = losses[-1]
        tracker.facts["first_loss"] = losses[0]
        run.finish()


if __name__ == "__main__":
    main()
