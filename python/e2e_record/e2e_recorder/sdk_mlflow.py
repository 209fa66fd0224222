"""MLflow: every fluent call (mlflow.log_metric, start_run, ...), every MlflowClient call and
Lightning's MLFlowLogger end in mlflow's TrackingServiceClient, so the recorder wraps that one
class: one place, whichever API the script used.

Recorded as MLflow stores it: params as str(value), metric values as float with step (default
0) and the exact timestamp sent (filled in here when the script gave none, as MLflow would), artifacts
at <artifact_path>/<file name> (directories walked), tags as str(value). MLflow 3 LoggedModels
(mlflow.<flavor>.log_model, create_external_model) are recorded apart from runs: their facts, params,
tags, metrics linked to them, every file uploaded from the model folder, and the runs they are an
output of; dataset inputs (log_input) with the run.
"""
import os
import posixpath

from . import as_number
from .wrap import arg, note_only, wrap

SDK = "mlflow"
_STATUS = {"FINISHED": "FINISHED", "FAILED": "FAILED", "KILLED": "FAILED", "RUNNING": "RUNNING",
           "SCHEDULED": "RUNNING"}


def _join(*parts):
    p = posixpath.join(*[x.replace(os.sep, "/").strip("/") for x in parts if x])
    return posixpath.normpath(p) if p else p


def _now_ms():
    from mlflow.utils.time import get_current_time_millis

    return get_current_time_millis()


def _active_model_id():
    try:
        from mlflow.tracking.fluent import get_active_model_id

        return get_active_model_id()
    except Exception:
        return None


def _model_status(status):
    if status is None:
        return None
    s = str(getattr(status, "name", None) or status).upper()
    return s.rsplit(".", 1)[-1]


def _media_kind(rec):
    return getattr(rec.local, "media", None) or "file"


_MEDIA = {"log_image": "image", "log_figure": "image", "log_table": "table"}


def patch_client(module, rec):
    """MlflowClient.log_image/log_figure/log_table write a file and call log_artifact: mark the
    files they upload as media (the call itself is recorded where it ends, in log_artifact)."""
    import functools

    for attr, kind in _MEDIA.items():
        original = module.MlflowClient.__dict__.get(attr)
        if original is None or getattr(original, "__e2e_wrapped__", False):
            continue

        def make(original, kind):
            @functools.wraps(original)
            def marked(*args, **kwargs):
                before = getattr(rec.local, "media", None)
                rec.local.media = kind
                try:
                    return original(*args, **kwargs)
                finally:
                    rec.local.media = before

            marked.__e2e_wrapped__ = True
            return marked

        setattr(module.MlflowClient, attr, make(original, kind))


def patch_tracking_client(module, rec):
    TSC = module.TrackingServiceClient

    def created(run, self, *a, **k):
        tags = arg(a, k, 2, "tags") or {}
        info = run.info
        rec.run(SDK, info.run_id, name=info.run_name, experiment=str(info.experiment_id),
                trackingUri=str(self.tracking_uri))
        for key, value in dict(tags).items():
            rec.tag(SDK, info.run_id, key, value)

    def stamp(args, kwargs):
        # TrackingServiceClient.log_metric(self, run_id, key, value, timestamp=None, ...): MLflow
        # stamps a missing timestamp itself; stamping it here first keeps the exact value sent.
        if len(args) > 4:
            if args[4] is None:
                args = (*args[:4], _now_ms(), *args[5:])
        elif kwargs.get("timestamp") is None:
            kwargs = {**kwargs, "timestamp": _now_ms()}
        return args, kwargs

    def metric(_r, self, run_id, key, value, *a, **k):
        ts, step, model_id = arg(a, k, 0, "timestamp"), arg(a, k, 1, "step"), arg(a, k, 5, "model_id")
        v = as_number(value)
        if v is None:
            rec.note(SDK, "log_metric", f"metric {key}: a value that is not a number")
            return
        rec.metric(SDK, run_id, key, step or 0, v, ts)
        if model_id:
            rec.model_metric(SDK, model_id, run_id, key, step or 0, v, ts)
        _uri(self, run_id)

    def param(_r, self, run_id, key, value, *a, **k):
        rec.param(SDK, run_id, key, value)
        _uri(self, run_id)

    def tag(_r, self, run_id, key, value, *a, **k):
        rec.tag(SDK, run_id, key, value)

    def untag(_r, self, run_id, key, *a, **k):
        with rec.lock:
            rec.run(SDK, run_id)["tags"].pop(str(key), None)

    def batch(_r, self, run_id, *a, **k):
        metrics, params, tags = arg(a, k, 0, "metrics", ()), arg(a, k, 1, "params", ()), arg(a, k, 2, "tags", ())
        for m in metrics or ():
            v = as_number(m.value)
            if v is None:
                rec.note(SDK, "log_batch", f"metric {m.key}: a value that is not a number")
                continue
            rec.metric(SDK, run_id, m.key, m.step or 0, v, m.timestamp)
            # TrackingServiceClient.log_batch links a metric to the active model when it names none.
            model_id = getattr(m, "model_id", None) or _active_model_id()
            if model_id:
                rec.model_metric(SDK, model_id, run_id, m.key, m.step or 0, v, m.timestamp)
        for p in params or ():
            rec.param(SDK, run_id, p.key, p.value)
        for t in tags or ():
            rec.tag(SDK, run_id, t.key, t.value)
        _uri(self, run_id)

    def status(_r, self, run_id, status=None, *a, **k):
        if status is not None:
            rec.status(SDK, run_id, _STATUS.get(str(status).upper(), "FAILED"))

    def terminated(_r, self, run_id, status=None, *a, **k):
        rec.status(SDK, run_id, _STATUS.get(str(status or "FINISHED").upper(), "FAILED"))

    def artifact(_r, self, run_id, local_path, artifact_path=None, *a, **k):
        local_path = os.fspath(local_path)
        if os.path.isdir(local_path):
            _walk(run_id, local_path, _join(artifact_path or "", os.path.basename(os.path.normpath(local_path))))
        else:
            rec.artifact(SDK, run_id, _join(artifact_path or "", os.path.basename(local_path)), local_path, _media_kind(rec))

    def artifacts(_r, self, run_id, local_dir, artifact_path=None, *a, **k):
        _walk(run_id, os.fspath(local_dir), artifact_path or "")

    def _walk(run_id, local_dir, prefix):
        for root, _dirs, files in os.walk(local_dir):
            for f in files:
                full = os.path.join(root, f)
                rec.artifact(SDK, run_id, _join(prefix, os.path.relpath(full, local_dir)), full, _media_kind(rec))

    def logged_model(model, self, *a, **k):
        rec.model(SDK, model.model_id, name=model.name, experimentId=str(model.experiment_id),
                  sourceRunId=model.source_run_id, modelType=model.model_type,
                  artifactLocation=model.artifact_location, status=_model_status(model.status))
        with rec.lock:
            m = rec.model(SDK, model.model_id)
            m["params"].update({str(p): str(v) for p, v in (model.params or {}).items()})
            m["tags"].update({str(t): str(v) for t, v in (model.tags or {}).items()})

    def model_params(_r, self, model_id, params, *a, **k):
        with rec.lock:
            rec.model(SDK, model_id)["params"].update({str(p): str(v) for p, v in dict(params).items()})

    def model_tags(_r, self, model_id, tags, *a, **k):
        with rec.lock:
            rec.model(SDK, model_id)["tags"].update({str(t): str(v) for t, v in dict(tags).items()})

    def model_untag(_r, self, model_id, key, *a, **k):
        with rec.lock:
            rec.model(SDK, model_id)["tags"].pop(str(key), None)

    def finalized(model, self, model_id, status, *a, **k):
        rec.model(SDK, model_id, status=_model_status(getattr(model, "status", None) or status))

    def model_files(_r, self, model_id, local_dir, artifact_path=None, *a, **k):
        local_dir = os.fspath(local_dir)
        for root, _dirs, files in os.walk(local_dir):
            for f in files:
                full = os.path.join(root, f)
                rec.model_file(SDK, model_id, _join(artifact_path or "", os.path.relpath(full, local_dir)), full)

    def outputs(_r, self, run_id, models=None, *a, **k):
        for o in models or ():
            rec.output(SDK, run_id, o.model_id, getattr(o, "step", 0))

    def inputs(_r, self, run_id, datasets=None, models=None, *a, **k):
        for d in datasets or ():
            ds = d.dataset
            tags = {t.key: t.value for t in (d.tags or ())}
            rec.dataset_input(SDK, run_id, {
                "name": ds.name, "digest": ds.digest, "sourceType": ds.source_type, "source": ds.source,
                "schema": ds.schema, "profile": ds.profile, "context": tags.get("mlflow.data.context"),
                "tags": tags})
        if models:
            rec.note(SDK, "log_inputs", "a logged model as a run input (only datasets are verified)")

    def follow_async(self, run_id, *a, **k):
        """log_image(key=..., step=...) hands the image to a background queue, which saves it to a
        temporary file and uploads it with the run's artifact repository: record that file, in
        that thread, when the repository uploads it (the exact bytes sent)."""
        repo = self._get_artifact_repo(run_id)
        if getattr(repo, "__e2e_followed__", False):
            return
        upload = repo.log_artifact

        def log_artifact(local_file, artifact_path=None, *args, **kwargs):
            result = upload(local_file, artifact_path, *args, **kwargs)
            if not getattr(rec.local, "depth", 0):  # the queue's thread, not a recorded call
                try:
                    local_file = os.fspath(local_file)
                    rec.artifact(SDK, run_id, _join(artifact_path or "", os.path.basename(local_file)), local_file, "image")
                    rec.maybe_write()
                except Exception as e:
                    rec.error("log_image (async)", e)
            return result

        repo.log_artifact = log_artifact
        repo.__e2e_followed__ = True

    def _uri(self, run_id):
        r = rec.runs.get((SDK, str(run_id)))
        if r is not None and "trackingUri" not in r:
            r["trackingUri"] = str(self.tracking_uri)

    wrap(rec, SDK, TSC, "create_run", created, call="create_run (mlflow.start_run, MlflowClient.create_run)")
    wrap(rec, SDK, TSC, "log_metric", metric, call="log_metric", prepare=stamp)
    wrap(rec, SDK, TSC, "log_param", param, call="log_param")
    wrap(rec, SDK, TSC, "set_tag", tag, call="set_tag")
    wrap(rec, SDK, TSC, "delete_tag", untag, call="delete_tag")
    wrap(rec, SDK, TSC, "log_batch", batch, call="log_batch (log_metrics, log_params, set_tags)")
    wrap(rec, SDK, TSC, "update_run", status, call="update_run")
    wrap(rec, SDK, TSC, "set_terminated", terminated, call="set_terminated (mlflow.end_run)")
    wrap(rec, SDK, TSC, "log_artifact", artifact, call="log_artifact (log_text, log_dict, log_figure)")
    wrap(rec, SDK, TSC, "log_artifacts", artifacts, call="log_artifacts")
    wrap(rec, SDK, TSC, "_log_artifact_async", before=follow_async, call="log_image (async)")
    wrap(rec, SDK, TSC, "log_inputs", inputs, call="log_input(s)")
    wrap(rec, SDK, TSC, "log_outputs", outputs, call="log_outputs (log_model)")
    wrap(rec, SDK, TSC, "create_logged_model", logged_model, call="create_logged_model (log_model)")
    wrap(rec, SDK, TSC, "log_model_params", model_params, call="log_model_params")
    wrap(rec, SDK, TSC, "set_logged_model_tags", model_tags, call="set_logged_model_tags")
    wrap(rec, SDK, TSC, "delete_logged_model_tag", model_untag, call="delete_logged_model_tag")
    wrap(rec, SDK, TSC, "finalize_logged_model", finalized, call="finalize_logged_model")
    wrap(rec, SDK, TSC, "log_model_artifacts", model_files, call="log_model_artifacts (log_model)")
