"""Weights & Biases in offline mode: wandb.init(mode="offline", dir=work_dir, ...).

Step mapping: every log_metrics(values, step) call is ONE run.log({**values, "step": step})
call, so each history row of the .wandb file holds the metric keys logged together plus
`step` (the workflow's step) and W&B's own `_step` (a row counter), `_runtime`, `_timestamp`.
A verifier recovers (key, step, value) from every row item whose key is neither `step` nor
starts with "_". Hence metric names "step" and "_..." are refused.

Artifacts are copied to <run folder>/files/<artifact path> and published with run.save, so
the offline run folder holds the exact bytes; the .wandb file gets a `files` record each.
"""
import os
import shutil

from .core import Run, Tracker


class WandbRun(Run):
    def _sdk_start(self):
        import wandb

        cfg = self.tracker.cfg
        # A child shares its parent's group; a root run groups by its own name.
        self.group = self.parent.group if self.parent is not None else self.name
        active = any(r.status == "RUNNING" and r is not self for r in self.tracker.runs)
        self.run = wandb.init(
            mode="offline" if cfg.get("offline", True) else "online",
            dir=cfg["work_dir"], project=cfg["experiment"], group=self.group, name=self.name,
            tags=self._wandb_tags(self.tags),
            # create_new lets a child run live beside its parent in one process.
            reinit="create_new" if active else "default")
        self.run_id = self.run.id
        self.extra.update(project=cfg["experiment"], group=self.group)
        run_folder = os.path.dirname(self.run.dir)  # run.dir is <run folder>/files
        self.extra["offlinePath"] = os.path.relpath(run_folder, cfg["work_dir"])

    def _sdk_resume(self):
        # W&B 0.31 offline: wandb.init(id=..., resume="allow") starts a SECOND offline run folder
        # (offline-run-<time>-<same id>) holding only what this process logs; `wandb sync` of
        # both folders makes one run. Config is not read back offline and `_step` restarts at 0
        # in the new file; the logged `step` key carries on. offlinePath stays the first folder,
        # offlinePaths lists every folder in order.
        import wandb

        cfg = self.tracker.cfg
        self.group = self.extra.get("group", self.name)
        active = any(r.status == "RUNNING" and r is not self for r in self.tracker.runs)
        self.run = wandb.init(
            mode="offline" if cfg.get("offline", True) else "online", dir=cfg["work_dir"],
            project=cfg["experiment"], group=self.group, name=self.name, id=self.run_id,
            resume="allow", tags=self._wandb_tags(self.tags),
            reinit="create_new" if active else "default")
        assert self.run.id == self.run_id, (self.run.id, self.run_id)
        folder = os.path.relpath(os.path.dirname(self.run.dir), cfg["work_dir"])
        paths = list(self.extra.get("offlinePaths") or [self.extra["offlinePath"]])
        self.extra["offlinePaths"] = paths + [folder]

    def _sdk_adopt(self, run_id, run=None, **extra):
        # A run WandbLogger made with wandb.init: log to that same object.
        cfg = self.tracker.cfg
        self.run = run
        self.run_id = run.id
        self.group = run.group
        self.extra.update(project=cfg["experiment"], group=run.group, **extra)
        self.extra["offlinePath"] = os.path.relpath(os.path.dirname(run.dir), cfg["work_dir"])

    def _sdk_fetch(self, artifact_path, dest_dir):
        # Offline there is no server to ask: the run folder's files/ is what W&B stored and
        # would upload (run.save copied the bytes there); first folder that has it.
        for folder in self.extra.get("offlinePaths") or [self.extra["offlinePath"]]:
            path = os.path.join(self.tracker.cfg["work_dir"], folder, "files", artifact_path)
            if os.path.isfile(path):
                return path
        raise FileNotFoundError(f"{artifact_path} is in no offline run folder of {self.run_id}")

    @staticmethod
    def _wandb_tags(tags):
        # W&B tags are plain strings (at most 64 characters each): key=value.
        return [f"{k}={v}" for k, v in tags.items()]

    def _sdk_params(self, params):
        self.run.config.update(params)  # raw values; the .wandb config record holds their JSON

    def _sdk_metrics(self, values, step, ts):
        bad = [k for k in values if k == "step" or k.startswith("_")]
        if bad:
            raise ValueError(f"metric names reserved by the W&B step mapping: {bad}")
        self.run.log({**values, "step": step})

    def _sdk_artifact(self, local_path, artifact_path, kind):
        dest = os.path.join(self.run.dir, artifact_path)
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        shutil.copyfile(local_path, dest)
        self.run.save(dest, base_path=self.run.dir, policy="now")

    def _sdk_tags(self, tags):
        merged = {**self.tags, **tags}
        self.run.tags = tuple(self._wandb_tags(merged))

    def _sdk_finish(self, status):
        self.run.finish(exit_code=0 if status == "FINISHED" else 1)


class WandbTracker(Tracker):
    run_class = WandbRun
    backend = "wandb"

    def __init__(self, cfg, **options):
        super().__init__(cfg, **options)
        if cfg.get("offline", True):
            # W&B's caches and staging default to ~/.cache and ~/.local/share: keep them here.
            base = os.path.join(cfg["work_dir"], "wandb-home")
            for var, sub in (("WANDB_CACHE_DIR", "cache"), ("WANDB_DATA_DIR", "data"),
                             ("WANDB_CONFIG_DIR", "config")):
                os.environ[var] = os.path.join(base, sub)
            os.environ["WANDB_MODE"] = "offline"
