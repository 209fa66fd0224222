"""A LightningModule trained by a Trainer with the backend's own Lightning integration.

MLflow: lightning's MLFlowLogger; W&B: WandbLogger(offline=True); ClearML: Task.init with its
TensorBoard binding capturing TensorBoardLogger. A TensorBoardLogger (cfg tensorboard_dir) runs
beside the backend's logger. e2e_track.lightning observes each logger so the manifest records
exactly what reached the SDK. Data: seeded synthetic features, each class a fixed random
direction plus noise (learnable in a few dozen steps).
"""
import os
import tempfile

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from e2e_track import load_config, open_tracker, progress, resolve_device
from e2e_track.figures import plot_series
from e2e_track.lightning import lightning_loggers

FEATURES, CLASSES = 16, 4


def make_data(n, gen, centers):
    labels = torch.randint(CLASSES, (n,), generator=gen)
    x = centers[labels] + 0.7 * torch.randn(n, FEATURES, generator=gen)
    return TensorDataset(x, labels)


def build_module(lr, hidden, batch_size, steps, seed):
    import lightning.pytorch as pl

    class Classifier(pl.LightningModule):
        def __init__(self, lr, hidden, batch_size, steps, seed):
            super().__init__()
            self.save_hyperparameters()  # -> every logger's log_hyperparams
            self.net = nn.Sequential(nn.Linear(FEATURES, hidden), nn.ReLU(), nn.Linear(hidden, CLASSES))
            self.loss_fn = nn.CrossEntropyLoss()

        def training_step(self, batch, _):
            x, y = batch
            logits = self.net(x)
            loss = self.loss_fn(logits, y)
            self.log("train/loss", loss, on_step=True, on_epoch=False)
            self.log("train/acc", (logits.argmax(1) == y).float().mean(), on_step=True, on_epoch=False)
            return loss

        def validation_step(self, batch, _):
            x, y = batch
            self.log("val/loss", self.loss_fn(self.net(x), y), on_step=False, on_epoch=True)

        def configure_optimizers(self):
            return torch.optim.Adam(self.parameters(), lr=self.hparams.lr)

    return Classifier(lr, hidden, batch_size, steps, seed)


def main():
    import lightning.pytorch as pl

    cfg = load_config()
    sizes = cfg.get("sizes") or {}
    steps, batch = int(sizes.get("steps", 40)), int(sizes.get("batch_size", 16))
    seed = int(cfg.get("seed", 0))
    device = resolve_device(cfg)
    pl.seed_everything(seed, workers=True, verbose=False)
    gen = torch.Generator().manual_seed(seed)
    centers = 1.5 * torch.randn(CLASSES, FEATURES, generator=gen)
    train = DataLoader(make_data(batch * 8, gen, centers), batch_size=batch, shuffle=True,
                       generator=torch.Generator().manual_seed(seed))
    val = DataLoader(make_data(batch * 2, gen, centers), batch_size=batch)
    lr, hidden = 0.01, 32

    class Progress(pl.Callback):
        def on_train_batch_end(self, trainer, *_):
            progress(trainer.global_step, steps)

    with open_tracker(cfg) as tracker:
        run, loggers = lightning_loggers(tracker, "main", name=cfg["run_name"],
                                         tags={"workflow": "lightning"})
        if tracker.backend == "clearml":
            # ClearML has no Lightning logger to receive save_hyperparameters: connect them,
            # the way a ClearML user does.
            run.log_params({"lr": lr, "hidden": hidden, "batch_size": batch, "steps": steps,
                            "seed": seed})
        model = build_module(lr, hidden, batch, steps, seed)
        trainer = pl.Trainer(
            max_steps=steps, accelerator="gpu" if device.startswith("cuda") else "cpu", devices=1,
            logger=loggers, log_every_n_steps=1, enable_progress_bar=False,
            enable_checkpointing=False, enable_model_summary=False, num_sanity_val_steps=0,
            callbacks=[Progress()], default_root_dir=os.path.join(cfg["work_dir"], "lightning"))
        trainer.fit(model, train, val)
        for lg in loggers:
            lg.save()  # flush TensorBoard's writer before ClearML's close reads its events
        with tempfile.TemporaryDirectory() as tmp:
            losses = [p[1] for p in run.metrics.get("train/loss", [])]
            png = plot_series({"train/loss": losses}, os.path.join(tmp, "loss.png"), ylabel="loss")
            run.log_artifact(png, "plots/loss.png", kind="image")
        tracker.facts["lightning"] = {"globalStep": trainer.global_step,
                                      "epochs": trainer.current_epoch}
        run.finish()


if __name__ == "__main__":
    main()
