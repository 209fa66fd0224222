"""DistributedDataParallel over torch.distributed.run (gloo on CPU, nccl on CUDA).

Launched by the harness as `python -m torch.distributed.run --standalone --nproc-per-node 2
train.py`; multi-node: replace --standalone with torchrun's rendezvous flags (E2E_TORCHRUN_ARGS,
e.g. `--nnodes 2 --node-rank 0 --rdzv-backend c10d --rdzv-endpoint host:29400`), same script.

Ranks policy: every rank trains on its own seeded shard; ONLY global rank 0 opens the tracker,
logs and writes the manifest. Each step's metrics are all_reduce'd (mean over ranks) first, so the
one logged run is the whole job's view: loss/accuracy averaged over all ranks, samples_seen the
global count. Other ranks import no tracking SDK. Params record world_size and the backend; the
fact `ddp` says who logged and that the replicas' weights agree at the end.
"""
import gc
import hashlib
import os
import tempfile

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel as DDP

from e2e_track import load_config, progress, resolve_device

FEATURES, CLASSES = 16, 4


def main():
    cfg = load_config()
    sizes = cfg.get("sizes") or {}
    steps, batch = int(sizes.get("steps", 20)), int(sizes.get("batch_size", 16))
    seed = int(cfg.get("seed", 0))
    device = resolve_device(cfg)
    cuda = device.startswith("cuda")
    backend = "nccl" if cuda else "gloo"
    dist.init_process_group(backend)
    rank, world = dist.get_rank(), dist.get_world_size()
    local_rank = int(os.environ.get("LOCAL_RANK", 0))
    if cuda:
        torch.cuda.set_device(local_rank)
        device = f"cuda:{local_rank}"
    torch.manual_seed(seed)  # same initial weights everywhere (DDP also broadcasts rank 0's)
    model = nn.Sequential(nn.Linear(FEATURES, 32), nn.ReLU(), nn.Linear(32, CLASSES)).to(device)
    ddp = DDP(model, device_ids=[local_rank] if cuda else None)
    lr = 0.05
    opt = torch.optim.SGD(ddp.parameters(), lr=lr, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    centers = 1.5 * torch.randn(CLASSES, FEATURES, generator=torch.Generator().manual_seed(seed))
    gen = torch.Generator().manual_seed(seed + 1000 * (rank + 1))  # each rank its own shard

    tracker = run = None
    if rank == 0:
        from e2e_track import open_tracker

        ctx = open_tracker(cfg)
        tracker = ctx.__enter__()
        run = tracker.start_run("main", name=cfg["run_name"], tags={"workflow": "ddp"})
        run.log_params({"lr": lr, "optimizer": "sgd", "steps": steps, "batch_size": batch,
                        "world_size": world, "dist_backend": backend, "seed": seed,
                        "device": device, "logging_ranks": "0"})
    try:
        losses = []
        for step in range(1, steps + 1):
            labels = torch.randint(CLASSES, (batch,), generator=gen)
            x = centers[labels] + 0.7 * torch.randn(batch, FEATURES, generator=gen)
            x, labels = x.to(device), labels.to(device)
            logits = ddp(x)
            loss = loss_fn(logits, labels)
            opt.zero_grad()
            loss.backward()  # DDP all-reduces the gradients
            opt.step()
            stats = torch.tensor([loss.item(), (logits.argmax(1) == labels).float().mean().item()],
                                 dtype=torch.float64, device=device)
            dist.all_reduce(stats)  # sum over ranks
            stats /= world
            if rank == 0:
                mean_loss, mean_acc = stats.tolist()
                losses.append(mean_loss)
                run.log_metrics({"loss": mean_loss, "accuracy": mean_acc,
                                 "samples_seen": step * batch * world}, step=step)
                progress(step, steps)
        # The replicas must hold identical weights: compare a digest across ranks.
        flat = torch.cat([p.detach().double().cpu().flatten() for p in model.parameters()])
        digest = hashlib.sha256(flat.numpy().tobytes()).hexdigest()
        digests = [None] * world
        dist.all_gather_object(digests, digest)
        if rank == 0:
            from e2e_track.figures import plot_series

            with tempfile.TemporaryDirectory() as tmp:
                ckpt = os.path.join(tmp, "model.pt")
                torch.save(model.state_dict(), ckpt)
                run.log_artifact(ckpt, "checkpoints/model.pt", kind="model")
                png = plot_series({"loss (mean over ranks)": losses}, os.path.join(tmp, "loss.png"),
                                  ylabel="loss")
                run.log_artifact(png, "plots/loss.png", kind="image")
            tracker.facts["ddp"] = {"worldSize": world, "loggingRanks": [0],
                                    "distBackend": backend,
                                    "paramsInSync": len(set(digests)) == 1}
            run.finish()
        # Every rank leaves together: a rank that tears gloo down while rank 0 still finishes
        # its run can die with "terminate called without an active exception" (SIGABRT).
        dist.barrier()
    finally:
        if rank == 0:
            import sys

            ctx.__exit__(*sys.exc_info())
        # DDP's reducer holds the process group and gloo's pending work (tensors with Python
        # references): freed at interpreter teardown instead, gloo's threads can abort the
        # process (SIGABRT, "terminate called without an active exception"). Free it now.
        del ddp, opt
        gc.collect()
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
