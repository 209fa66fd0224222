"""ClearML: Task.init, Logger.report_scalar, task.connect (and Task.init's argparse capture:
the task's parameters are read when the record is written and before close), upload_artifact
of a file, close / mark_completed / mark_failed; and, in the run's "clearml" entry (checked by
src/backends/clearml/script-checks.ts): report_single_value, report_text, report_image,
connect_configuration, upload_artifact of a dict / DataFrame / numpy array / folder, and
OutputModel.update_weights. Where ClearML serialises an object, the recorder serialises it the
same way (the rule is ClearML 2.1.12's, named beside each) or notes a digest of its content, so
the verifier compares the bytes ClearML stored, never ours.

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


def _expect(rec, task_id):
    """The run's ClearML-only expectations (kept apart from the SDK-neutral fields)."""
    run = rec.run(SDK, task_id)
    return run.setdefault("clearml", {"summaries": {}, "texts": [], "configurations": {}, "images": [],
                                       "objects": [], "models": []})


def _sha(data):
    import hashlib

    return hashlib.sha256(data).hexdigest()


def _object_expectation(name, obj, sort_keys):
    """What ClearML 2.1.12 stores for upload_artifact(name, obj) (binding/artifacts.py), or None."""
    import pathlib

    mod = type(obj).__module__
    if isinstance(obj, dict):
        # json.dumps(obj, sort_keys=sort_keys, indent=4) -> <name>.json, stored as is.
        import json

        data = json.dumps(obj, sort_keys=sort_keys, indent=4).encode()
        return {"name": name, "type": "dict", "file": f"{name}.json", "sha256": _sha(data), "size": len(data)}
    if mod.startswith("pandas") and type(obj).__name__ == "DataFrame":
        # DataFrame.to_csv() into a gzip stream (mtime=0) -> <name>.csv.gz: compared after gunzip.
        data = obj.to_csv().encode()
        return {"name": name, "type": "pandas", "file": f"{name}.csv.gz", "sha256": _sha(data), "size": len(data)}
    if mod.startswith("numpy") and type(obj).__name__ == "ndarray":
        # np.savez_compressed(file, **{name: obj}) -> <name>.npz; its member <name>.npy is what
        # np.save writes for the same array: compared after unzipping.
        import io

        import numpy

        buf = io.BytesIO()
        numpy.save(buf, obj)
        data = buf.getvalue()
        return {"name": name, "type": "numpy", "file": f"{name}.npz", "member": f"{name}.npy",
                "sha256": _sha(data), "size": len(data)}
    if isinstance(obj, (str, os.PathLike)) and os.path.isdir(obj):
        # A folder is zipped (every file under it, paths relative to it) -> <folder name>.zip.
        root = pathlib.Path(obj)
        files = {}
        for f in sorted(root.rglob("*")):
            if f.is_file():
                with open(f, "rb") as fh:
                    data = fh.read()
                files[f.relative_to(root).as_posix()] = {"sha256": _sha(data), "size": len(data)}
        return {"name": name, "type": "archive", "file": f"{root.absolute().name}.zip", "files": files}
    return None


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
        plain = not (k.get("serialization_function") or k.get("extension_name"))
        if result and path and os.path.isfile(path):
            rec.artifact(SDK, self.id, str(name), path)
            return
        exp = _object_expectation(str(name), obj, k.get("sort_keys", True)) if result and plain else None
        if exp is None:
            rec.note(SDK, "task.upload_artifact", f"{name}: a {type(obj).__name__} artifact (pickled or custom-serialised: not compared)")
            return
        with rec.lock:
            objs = _expect(rec, self.id)["objects"]
            objs[:] = [o for o in objs if o["name"] != exp["name"]] + [exp]

    def configured(result, self, *a, **k):
        conf, name = arg(a, k, 0, "configuration"), arg(a, k, 1, "name") or "General"
        with rec.lock:
            confs = _expect(rec, self.id)["configurations"]
        if isinstance(conf, (dict, list)):
            # Stored as config_dict_to_text(dict) (HOCON text); the proxy ClearML returns writes
            # later changes through, so the text is taken again at each record write.
            from clearml.utilities.config import config_dict_to_text

            def text():
                try:
                    confs[str(name)] = {"type": "dictionary", "text": config_dict_to_text(dict(result) if isinstance(result, dict) else conf)}
                except Exception as e:
                    rec.error("connect_configuration", e)

            text()
            rec.finalizers.append(text)
        elif isinstance(conf, (str, os.PathLike)) and os.path.isfile(conf):
            with open(conf, encoding="utf-8") as f:
                confs[str(name)] = {"type": "file", "text": f.read()}
        else:
            rec.note(SDK, "task.connect_configuration", f"{name}: a {type(conf).__name__} configuration (not compared)")

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
    wrap(rec, SDK, Task, "connect_configuration", configured, call="task.connect_configuration")
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

    def single(_r, self, *a, **k):
        name, value = str(arg(a, k, 0, "name")), as_number(arg(a, k, 1, "value"))
        task = getattr(self, "_task", None)
        if task is None or value is None:
            rec.note(SDK, "logger.report_single_value", f"{name}: not a number or no task")
            return
        # report_scalar(title="Summary", series=name, iteration=-2**31): NaN/Inf stored as 0.0
        with rec.lock:
            _expect(rec, task.id)["summaries"][name] = 0.0 if math.isnan(value) or math.isinf(value) else value

    def text(_r, self, *a, **k):
        task = getattr(self, "_task", None)
        if task is not None:
            with rec.lock:
                _expect(rec, task.id)["texts"].append(str(arg(a, k, 0, "msg")))

    def image(_r, self, *a, **k):
        task = getattr(self, "_task", None)
        title, series = str(arg(a, k, 0, "title")), str(arg(a, k, 1, "series"))
        iteration = int(arg(a, k, 2, "iteration") or 0)
        local, img = arg(a, k, 3, "local_path"), arg(a, k, 4, "image")
        img = img if img is not None else arg(a, k, 5, "matrix")
        data, source = _image_bytes(local, img)
        if task is None or data is None or arg(a, k, 8, "url") or arg(a, k, 6, "max_image_history") is not None:
            rec.note(SDK, "logger.report_image", f"{title}/{series}: an image by URL, with its own history size, or of an unknown type")
            return
        with rec.lock:
            _expect(rec, task.id)["images"].append({"title": title, "series": series, "iteration": iteration,
                                                    "sha256": _sha(data), "size": len(data), "source": source})

    wrap(rec, SDK, Logger, "report_scalar", scalar, call="logger.report_scalar")
    wrap(rec, SDK, Logger, "report_single_value", single, call="logger.report_single_value")
    wrap(rec, SDK, Logger, "report_text", text, call="logger.report_text")
    wrap(rec, SDK, Logger, "report_image", image, call="logger.report_image")
    for name in ("report_histogram", "report_table", "report_plotly", "report_matplotlib_figure",
                 "report_media", "report_scatter2d", "report_line_plot",
                 "report_confusion_matrix", "report_vector", "report_surface", "report_scatter3d"):
        note_only(rec, SDK, Logger, name, "plots, tables and media other than images are not read", call=f"logger.{name}")


def _image_bytes(local_path, image):
    """The bytes ClearML 2.1.12 uploads for report_image (backend_interface/metrics/events.py
    ImageEvent): a local file as is; an array (or PIL image, made an array first) as uint8 (float
    <= 1.0 scaled by 255), one channel squeezed, saved by PIL in metrics.images.format (JPEG) at
    metrics.images.quality (87)."""
    if local_path:
        p = os.fspath(local_path)
        if not os.path.isfile(p):
            return None, None
        with open(p, "rb") as f:
            return f.read(), "file"
    if image is None:
        return None, None
    import io

    import numpy as np
    from PIL import Image
    from clearml.backend_interface.metrics.events import ImageEvent

    data = np.array(image) if isinstance(image, Image.Image) else image
    if not isinstance(data, np.ndarray):
        return None, None
    data = np.atleast_3d(data)
    if data.dtype != np.uint8:
        data = (data * 255).astype(np.uint8) if np.issubdtype(data.dtype, np.floating) and data.max() <= 1.0 else data.astype(np.uint8)
    h, w, c = data.shape[:3]
    if c == 1:
        data = np.reshape(data, (h, w))
    fmt = str(ImageEvent._format).lower()
    out = io.BytesIO()
    Image.fromarray(data).save(out, format=Image.registered_extensions().get(fmt, "JPEG"), quality=int(ImageEvent._quality))
    return out.getvalue(), "array"


def patch_model(module, rec):
    """OutputModel.update_weights: the weights file's size and sha256 before the call, and whether
    the SDK stored it or raised (offline, clearml 2.1.12 raises AttributeError "'DummyModel' object
    has no attribute 'locked'" before storing anything: recorded as the SDK's failure)."""
    OutputModel = module.OutputModel

    def entry(self, a, k):
        task = getattr(self, "_task", None)
        path = arg(a, k, 0, "weights_filename")
        if task is None or not path or not os.path.isfile(os.fspath(path)):
            return None
        with open(os.fspath(path), "rb") as f:
            data = f.read()
        with rec.lock:
            models = _expect(rec, task.id)["models"]
            try:
                name = str(self.name or "")
            except Exception:
                name = ""
            m = {"name": name, "file": os.path.basename(os.fspath(path)),
                 "sha256": _sha(data), "size": len(data), "stored": False, "error": None}
            models.append(m)
            return m

    inner = OutputModel.__dict__.get("update_weights")
    if inner is None or getattr(inner, "__e2e_wrapped__", False):
        return

    def update_weights(self, *a, **k):
        m = None
        try:
            m = entry(self, a, k)
        except Exception as e:
            rec.error("OutputModel.update_weights", e)
        rec.count(SDK, "OutputModel.update_weights")
        if m is None:
            rec.note(SDK, "OutputModel.update_weights", "a model without a local weights file (register_uri, a folder)")
        try:
            out = inner(self, *a, **k)
        except Exception as e:
            if m is not None:
                m["error"] = f"{type(e).__name__}: {e}"
            rec.write()
            raise
        if m is not None:
            m["stored"] = True
        rec.maybe_write()
        return out

    update_weights.__e2e_wrapped__ = True
    OutputModel.update_weights = update_weights
