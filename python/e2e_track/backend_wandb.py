"""Weights & Biases in offline mode: wandb.init(mode="offline", dir=work_dir, ...).

Step mapping: every log_metrics(values, step) call is ONE run.log({**values, "step": step})
call, so each history row of the .wandb file holds the metric keys logged together plus
`step` (the workflow's step) and W&B's own `_step` (a row counter), `_runtime`, `_timestamp`.
A verifier recovers (key, step, value) from every row item whose key is neither `step` nor
starts with "_". Hence metric names "step" and "_..." are refused.

Files (kind file/image) are kept outside run.dir (<work>/wandb-saved/<run id>/<path>) and
handed to run.save(path, base_path=that folder): W&B itself links or copies them into
<run folder>/files/<path> and writes the `files` record `wandb sync` uploads from. The
verifier counts a file only with both (src/backends/wandb/stored.ts), so a run.save that does
nothing fails the artifact check. Checkpoints (kind model) go through W&B Artifacts as W&B's
docs store models: wandb.Artifact(<run id>-<path>, type="model").add_file(path, name=<path>)
and run.log_artifact; W&B stages a copy and writes the artifact record with its manifest.

TensorBoard: W&B's own capture (what sync_tensorboard / wandb.tensorboard.patch(root_logdir=)
do) is attached to each run whose event files the adapter writes: when the run's
SummaryWriter is created, the run gets W&B's tensorboard callback for that log dir with
root_logdir = cfg tensorboard_dir, exactly the call W&B's patch makes. It is made on this run
rather than through the global patch, which notifies `wandb.run` (the latest run, wrong for
a parent whose children ran in between). W&B's core then reads the event files into history
rows (keys "<run key>/<tag>", step in `global_step`, `_timestamp` the event wall time) and
links the files into files/<run key>/ with a `files` record each.
"""
import os
import re
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

    def _artifact_name(self, artifact_path):
        # W&B artifact names allow letters, digits, "-", "_" and "."; one name per path and run.
        return re.sub(r"[^A-Za-z0-9_.-]", "-", f"{self.run_id}-{artifact_path}")

    def _sdk_fetch(self, artifact_path, dest_dir):
        """A checkpoint back through W&B: by URL W&B's artifact API (use_artifact + download);
        offline, the staged copy the run's artifact record names (checked against the entry's
        md5), located through the .wandb logs: never the file the workflow handed over."""
        if not self.tracker.cfg.get("offline", True):
            art = self.run.use_artifact(f"{self._artifact_name(artifact_path)}:latest")
            root = art.download(root=os.path.join(dest_dir, "wandb-download"))
            self.fetch_source = ("backend-api", f"wandb use_artifact({art.name}).download()")
            return os.path.join(root, artifact_path)
        from .wandb_log import staged_copy

        work = self.tracker.cfg["work_dir"]
        folders = [os.path.join(work, f) for f in self.extra.get("offlinePaths") or [self.extra["offlinePath"]]]
        path = staged_copy(folders, artifact_path)
        self.fetch_source = ("offline-store", "wandb offline: the staged copy named by the artifact record in the .wandb log")
        return path

    @staticmethod
    def _wandb_tags(tags):
        # W&B tags are plain strings (at most 64 characters each): key=value.
        return [f"{k}={v}" for k, v in tags.items()]

    def capture_tensorboard(self, log_dir):
        """Attach W&B's TensorBoard capture to log_dir for this run (what W&B's patch does)."""
        root = self.tracker.cfg["tensorboard_dir"]
        self.run._tensorboard_callback(log_dir, save=True, root_logdir=root)
        # The history keys' prefix: the verifier needs it by URL, where no tbrecord is read.
        self.extra["tensorboardNamespace"] = os.path.relpath(log_dir, root).replace(os.sep, "/")

    def _writer(self):
        if self._tb is None:
            self.capture_tensorboard(self._tb_dir)
        return super()._writer()

    def _sdk_params(self, params):
        self.run.config.update(params)  # raw values; the .wandb config record holds their JSON

    def _sdk_metrics(self, values, step, ts):
        bad = [k for k in values if k == "step" or k.startswith("_")]
        if bad:
            raise ValueError(f"metric names reserved by the W&B step mapping: {bad}")
        self.run.log({**values, "step": step})

    def _sdk_artifact(self, local_path, artifact_path, kind):
        import wandb

        if kind == "model":
            art = wandb.Artifact(self._artifact_name(artifact_path), type="model")
            art.add_file(local_path, name=artifact_path)  # policy "mutable": W&B stages a copy
            self.run.log_artifact(art)
            return
        # A stable source outside run.dir (the workflow's own file may be a temp file): W&B
        # links it into files/ (symlink by default) and uploads it at sync time.
        base = os.path.join(self.tracker.cfg["work_dir"], "wandb-saved", self.run_id)
        src = os.path.join(base, artifact_path)
        os.makedirs(os.path.dirname(src), exist_ok=True)
        shutil.copyfile(local_path, src)
        self.run.save(src, base_path=base, policy="now")

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
