"""ClearML offline: Task.set_offline(True) + Task.init, zipped session on close.

Isolation (so nothing lands in ~ and nothing touches the network):
- CLEARML_CONFIG_FILE points at a config written under <work_dir>/clearml, which sets the
  cache dir (the offline session folder lives in <cache>/offline/<task id>) and turns off two
  things that deadlock or stall offline: async repo detection racing the reporting
  subprocess's fork (it hung close() for the 300 s detection timeout in clearml 2.1.12), and the
  reporting subprocess itself.
- clearml 2.1.12 always asks https://updates.clear.ml for a newer version, even offline, and has
  no setting for it: marking the check as done beforehand skips it.
- The session cache (~/.clearml/.session.json) is a hard-coded class attribute: redirected.
"""
import os

from .core import Run, Tracker, now_ms

_CONF = """\
# Written by e2e_track: keep ClearML's offline session and caches inside the work folder.
sdk {{
  storage.cache.default_base_dir: "{cache}"
  development {{
    vcs_repo_detect_async: false
    report_use_subprocess: false
  }}
}}
"""


def isolate(work_dir, offline=True):
    # Online (a server by URL) the same config applies: its two settings avoid a fork race of
    # the SDK, not an offline quirk. Server and keys come from CLEARML_API_HOST/WEB_HOST/
    # FILES_HOST and CLEARML_API_ACCESS_KEY/SECRET_KEY in the env, which override the file.
    root = os.path.join(work_dir, "clearml")
    cache = os.path.join(root, "cache")
    os.makedirs(cache, exist_ok=True)
    conf = os.path.join(root, "clearml.conf")
    with open(conf, "w") as f:
        f.write(_CONF.format(cache=cache))
    os.environ["CLEARML_CONFIG_FILE"] = conf
    os.environ["CLEARML_CACHE_DIR"] = cache
    if offline:
        os.environ["CLEARML_OFFLINE_MODE"] = "1"

    from clearml.config.cache import SessionCache
    from clearml.utilities.check_updates import CheckPackageUpdates

    SessionCache.SESSION_CACHE_FOLDER = root
    CheckPackageUpdates._package_version_checked = True


# Task.init's auto_connect_frameworks as a dict: a framework left out defaults to ON, so all
# are named. detect_repository stays on (it is the git capture).
_FRAMEWORKS = ("matplotlib", "tensorflow", "tensorboard", "pytorch", "xgboost", "scikit", "fastai",
               "lightgbm", "hydra", "tfdefines", "joblib", "megengine", "catboost", "gradio",
               "jsonargparse")


def _frameworks(tensorboard):
    conn = {name: False for name in _FRAMEWORKS}
    conn.update(tensorboard=bool(tensorboard), detect_repository=True)
    return conn


class ClearmlRun(Run):
    """One ClearML task. Offline ClearML holds ONE live task per process (Task.create raises
    "Creating task in offline mode. Use 'Task.init' instead."). With the tracker's
    sequential_children, a child's start closes ("suspends") the open task and a later call
    on the suspended task continues it with Task.init(reuse_last_task_id=<id>,
    continue_last_task=0): same task id, same offline folder, events appended, zip rewritten
    (continue_last_task=0 keeps iterations absolute; True would shift them by last_iteration+1,
    which offline is 0, so every continued step would land one too high).
    """

    task = None
    open = False

    def _init(self, **kw):
        cfg = self.tracker.cfg
        # ClearML's TensorBoard binding is on for every run: what it captures from the event
        # files the adapter mirrors is compared with those files (src/backends/clearml/
        # tensorboard-capture.ts). In a Lightning run it is the integration itself (the adapter
        # reports nothing); elsewhere the adapter also calls report_scalar(title=k, series=k),
        # so the binding must not name its copy the same: Logger.tensorboard_auto_group_scalars
        # makes a tag without "/" title "Scalars", series <tag> (a tag "a/b" is title "a",
        # series "b" either way), and the manifest says which naming was used.
        lightning = bool(self.backend_options.get("capture_tensorboard"))
        self.tracker.Logger.tensorboard_auto_group_scalars(not lightning)
        self.extra["tensorboardCapture"] = {"bareTagTitle": None if lightning else "Scalars"}
        self.task = self.tracker.Task.init(
            project_name=cfg["experiment"], task_name=self.name,
            # Off (but the git capture and TensorBoard) so the task holds only what the adapter
            # logged: torch.save would register output models, matplotlib would report the loss
            # plot, the monitor adds :monitor:.
            auto_connect_frameworks=_frameworks(True),
            auto_resource_monitoring=False, **kw)
        self.open = True
        self.tracker.active = self

    def _sdk_start(self):
        if self.parent is not None and not self.tracker.sequential_children:
            raise NotImplementedError("ClearML offline mode cannot create child tasks")
        self.tracker.suspend_active()
        self._init(reuse_last_task_id=False)
        self.run_id = self.task.id
        if self.parent is not None:
            # ClearML's own parent link (what its HyperParameterOptimizer sets on trial tasks):
            # task.json "parent" = the parent task id.
            self.task.set_parent(self.parent.run_id)
        self.extra["project"] = self.tracker.cfg["experiment"]
        # Known up front, so a crash manifest still points at the session ClearML zips at exit.
        folder = self.task.get_offline_mode_folder()
        if folder:
            zip_path = f"{folder}.zip"
            self.extra["offlinePath"] = os.path.relpath(zip_path, self.tracker.cfg["work_dir"])
        if self.tags:
            self.task.set_user_properties(**self.tags)

    def _sdk_resume(self):
        self._use()

    def _use(self):
        """Make this run's task the open one (continuing it if an earlier close ended it)."""
        if self.open:
            return
        self.tracker.suspend_active()
        self._init(reuse_last_task_id=self.run_id, continue_last_task=0)
        if self.task.id != self.run_id:
            raise RuntimeError(f"ClearML continued {self.task.id}, not {self.run_id}")

    def _suspend(self):
        if self._tb is not None:
            # Flush what the binding captures while this task is still open, and let the next
            # write make a new SummaryWriter: the binding ties a writer to the task current when
            # it was made, and a continued task is a new Task object.
            self._tb.close()
            self._tb = None
            self.tb_used = True
        if self.open:
            self.task.close()  # flushes events and (re)writes <session folder>.zip
            self.open = False
        if self.tracker.active is self:
            self.tracker.active = None

    fetch_source = ("backend-api", "Task.artifacts[name].get_local_copy()")

    def _sdk_fetch(self, artifact_path, dest_dir):
        # The SDK's own way back: the task's artifact entry (task.json execution.artifacts,
        # reloaded from the offline session when the task is continued) and get_local_copy().
        self._use()
        return self.task.artifacts[artifact_path].get_local_copy()

    def _sdk_params(self, params):
        self._use()
        # connect() files a dict under the "General" hyperparameter section, value str(v).
        self.task.connect(params)

    def _sdk_metrics(self, values, step, ts):
        self._use()
        logger = self.task.get_logger()
        # ClearML stamps each scalar event itself, when report_scalar creates it (clearml 2.1.12
        # Reporter.report_scalar -> ScalarEvent -> MetricsEventAdapter: int(time.time() * 1000)).
        # One clock read per key, just before its call: a report that stalls (a flush of the
        # event queue on a loaded box) then shifts neither the next key's expected time nor its
        # verdict. The verifier still holds each event to its stamp within the tolerance.
        stamps = {}
        for k, v in values.items():
            stamps[k] = now_ms()
            logger.report_scalar(title=k, series=k, value=v, iteration=step)
        return stamps

    def _sdk_artifact(self, local_path, artifact_path, kind):
        self._use()
        self.task.upload_artifact(artifact_path, artifact_object=local_path, wait_on_upload=True)

    def _sdk_tags(self, tags):
        self._use()
        self.task.set_user_properties(**tags)

    def _sdk_finish(self, status):
        # Offline sessions carry no task status; FAILED is known from the manifest only.
        # A suspended task was already closed and zipped: nothing to reopen.
        self._suspend()


class ClearmlTracker(Tracker):
    run_class = ClearmlRun
    backend = "clearml"

    def __init__(self, cfg, **options):
        super().__init__(cfg, **options)
        self.active = None  # the run whose task is open
        isolate(cfg["work_dir"], offline=bool(cfg.get("offline", True)))
        from clearml import Logger, Task

        Task.set_offline(bool(cfg.get("offline", True)))
        self.Task, self.Logger = Task, Logger

    def suspend_active(self):
        if self.active is not None:
            self.active._suspend()
