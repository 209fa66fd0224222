"""ClearML: Task.init, Logger.report_scalar, task.connect (and Task.init's argparse capture:
the task's parameters are read when the record is written and before close), upload_artifact
of a file, close / mark_completed / mark_failed.

Metric key as the verifier reads it: title, or "title/series" when they differ; step =
iteration. ClearML stores NaN and +-Inf as 0.0 (Logger.set_reporting_nan_value /
set_reporting_inf_value defaults), so those are recorded as 0.0. Scalars from ClearML's own
resource monitor are not the script's and are not recorded.
"""
import math
import os

from . import as_number
from .wrap import arg, caller_module, note_only, wrap

SDK = "clearml"
_ISOLATE = "E2E_RECORD_CLEARML_HOME"


def isolate_update_check(module, rec):
    # clearml asks updates.clear.ml for a newer version even offline, and has no setting for it.
    if os.environ.get(_ISOLATE):
        module.CheckPackageUpdates._package_version_checked = True


def isolate_session_cache(module, rec):
    # ~/.clearml/.session.json is a class attribute, not a setting: keep it in the work folder.
    if os.environ.get(_ISOLATE):
        module.SessionCache.SESSION_CACHE_FOLDER = os.environ[_ISOLATE]


_tasks = {}


def _snapshot(rec, task):
    try:
        flat = task.get_parameters() or {}
    except Exception:
        return  # closed: keep the last snapshot
    params = {k: "" if v is None else str(v) for k, v in flat.items() if not k.startswith("properties/")}
    rec.run(SDK, task.id)["params"] = params


def patch_task(module, rec):
    Task = module.Task

    def started(task, *a, **k):
        if task is None:
            return
        folder = None
        try:
            folder = task.get_offline_mode_folder()
        except Exception:
            pass
        rec.run(SDK, task.id, name=task.name, project=_project(task),
                offlinePath=f"{folder}.zip" if folder else None)
        if task.id not in _tasks:
            _tasks[task.id] = task
            rec.finalizers.append(lambda: _snapshot(rec, task))

    def connected(_r, self, *a, **k):
        _snapshot(rec, self)

    def uploaded(result, self, *a, **k):
        name, obj = arg(a, k, 0, "name"), arg(a, k, 1, "artifact_object")
        path = os.fspath(obj) if isinstance(obj, (str, os.PathLike)) else None
        if result and path and os.path.isfile(path):
            rec.artifact(SDK, self.id, str(name), path)
        else:
            rec.note(SDK, "task.upload_artifact", f"{name}: an artifact made from an object or folder (ClearML serialises it)")

    def closing(self, *a, **k):
        _snapshot(rec, self)

    def closed(_r, self, *a, **k):
        rec.status(SDK, self.id, "FINISHED")
        rec.write()

    def failed(_r, self, *a, **k):
        rec.status(SDK, self.id, "FAILED")

    wrap(rec, SDK, Task, "init", started, call="Task.init", kind="classmethod")
    wrap(rec, SDK, Task, "connect", connected, call="task.connect")
    wrap(rec, SDK, Task, "upload_artifact", uploaded, call="task.upload_artifact")
    wrap(rec, SDK, Task, "close", closed, call="task.close", before=closing)
    wrap(rec, SDK, Task, "mark_completed", closed, call="task.mark_completed", before=closing)
    wrap(rec, SDK, Task, "mark_failed", failed, call="task.mark_failed")
    note_only(rec, SDK, Task, "connect_configuration", "a configuration object", call="task.connect_configuration")
    note_only(rec, SDK, Task, "register_artifact", "a live (dynamic) artifact", call="task.register_artifact")


def _project(task):
    try:
        return task.get_project_name()
    except Exception:
        return None


def patch_logger(module, rec):
    Logger = module.Logger

    def scalar(_r, self, *a, **k):
        if caller_module(3).startswith("clearml.utilities.resource_monitor"):
            return
        title, series = str(arg(a, k, 0, "title")), str(arg(a, k, 1, "series"))
        value, iteration = arg(a, k, 2, "value"), arg(a, k, 3, "iteration")
        task = getattr(self, "_task", None)
        x = as_number(value)
        if task is None or x is None:
            rec.note(SDK, "logger.report_scalar", f"{title}/{series}: not a number or no task")
            return
        if math.isnan(x) or math.isinf(x):
            x = 0.0
        key = title if series in (title, "") else f"{title}/{series}"
        rec.metric(SDK, task.id, key, int(iteration or 0), x)

    wrap(rec, SDK, Logger, "report_scalar", scalar, call="logger.report_scalar")
    for name in ("report_image", "report_histogram", "report_table", "report_plotly", "report_matplotlib_figure",
                 "report_media", "report_text", "report_single_value", "report_scatter2d", "report_line_plot",
                 "report_confusion_matrix", "report_vector", "report_surface", "report_scatter3d"):
        note_only(rec, SDK, Logger, name, "plots, media, text and single values are not read", call=f"logger.{name}")
