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

from .core import Run, Tracker

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


def _isolate(work_dir):
    root = os.path.join(work_dir, "clearml")
    cache = os.path.join(root, "cache")
    os.makedirs(cache, exist_ok=True)
    conf = os.path.join(root, "clearml.conf")
    with open(conf, "w") as f:
        f.write(_CONF.format(cache=cache))
    os.environ["CLEARML_CONFIG_FILE"] = conf
    os.environ["CLEARML_CACHE_DIR"] = cache
    os.environ["CLEARML_OFFLINE_MODE"] = "1"

    from clearml.config.cache import SessionCache
    from clearml.utilities.check_updates import CheckPackageUpdates

    SessionCache.SESSION_CACHE_FOLDER = root
    CheckPackageUpdates._package_version_checked = True


class ClearmlRun(Run):
    def _sdk_start(self):
        Task = self.tracker.Task
        if self.parent is not None:
            # Offline ClearML has one task per process (Task.create raises "Creating task in
            # offline mode. Use 'Task.init' instead."), so a child task cannot coexist with its
            # parent.
            raise NotImplementedError("ClearML offline mode cannot create child tasks")
        self.task = Task.init(
            project_name=self.tracker.cfg["experiment"], task_name=self.name,
            reuse_last_task_id=False,
            # Off so the task holds only what the adapter logged: the TensorBoard binding
            # would re-report the mirrored scalars, torch.save would register output models,
            # matplotlib would report the loss plot, and the monitor adds :monitor: scalars.
            auto_connect_frameworks=False, auto_resource_monitoring=False)
        self.run_id = self.task.id
        self.extra["project"] = self.tracker.cfg["experiment"]
        # Known up front, so a crash manifest still points at the session ClearML zips at exit.
        folder = self.task.get_offline_mode_folder()
        if folder:
            zip_path = f"{folder}.zip"
            self.extra["offlinePath"] = os.path.relpath(zip_path, self.tracker.cfg["work_dir"])
        if self.tags:
            self.task.set_user_properties(**self.tags)

    def _sdk_params(self, params):
        # connect() files a dict under the "General" hyperparameter section, value str(v).
        self.task.connect(params)

    def _sdk_metrics(self, values, step, ts):
        logger = self.task.get_logger()
        for k, v in values.items():
            logger.report_scalar(title=k, series=k, value=v, iteration=step)

    def _sdk_artifact(self, local_path, artifact_path, kind):
        self.task.upload_artifact(artifact_path, artifact_object=local_path, wait_on_upload=True)

    def _sdk_tags(self, tags):
        self.task.set_user_properties(**tags)

    def _sdk_finish(self, status):
        # Offline sessions carry no task status; FAILED is known from the manifest only.
        self.task.close()  # flushes events and writes <session folder>.zip


class ClearmlTracker(Tracker):
    run_class = ClearmlRun
    backend = "clearml"

    def __init__(self, cfg):
        super().__init__(cfg)
        if cfg.get("offline", True):
            _isolate(cfg["work_dir"])
        from clearml import Task

        Task.set_offline(bool(cfg.get("offline", True)))
        self.Task = Task
