"""MLflow: every fluent call (mlflow.log_metric, start_run, ...), every MlflowClient call and
Lightning's MLFlowLogger end in mlflow's TrackingServiceClient, so the recorder wraps that one
class: one place, whichever API the script used.

Recorded as MLflow stores it: params as str(value), metric values as float with step (default
0), artifacts at <artifact_path>/<file name> (directories walked), tags as str(value).
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


def patch_tracking_client(module, rec):
    TSC = module.TrackingServiceClient

    def created(run, self, *a, **k):
        tags = arg(a, k, 2, "tags") or {}
        info = run.info
        rec.run(SDK, info.run_id, name=info.run_name, experiment=str(info.experiment_id),
                trackingUri=str(self.tracking_uri))
        for key, value in dict(tags).items():
            rec.tag(SDK, info.run_id, key, value)

    def metric(_r, self, run_id, key, value, *a, **k):
        ts, step = arg(a, k, 0, "timestamp"), arg(a, k, 1, "step")
        v = as_number(value)
        if v is None:
            rec.note(SDK, "log_metric", f"metric {key}: a value that is not a number")
            return
        rec.metric(SDK, run_id, key, step or 0, v, ts)
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
            rec.artifact(SDK, run_id, _join(artifact_path or "", os.path.basename(local_path)), local_path)

    def artifacts(_r, self, run_id, local_dir, artifact_path=None, *a, **k):
        _walk(run_id, os.fspath(local_dir), artifact_path or "")

    def _walk(run_id, local_dir, prefix):
        for root, _dirs, files in os.walk(local_dir):
            for f in files:
                full = os.path.join(root, f)
                rec.artifact(SDK, run_id, _join(prefix, os.path.relpath(full, local_dir)), full)

    def _uri(self, run_id):
        r = rec.runs.get((SDK, str(run_id)))
        if r is not None and "trackingUri" not in r:
            r["trackingUri"] = str(self.tracking_uri)

    wrap(rec, SDK, TSC, "create_run", created, call="create_run (mlflow.start_run, MlflowClient.create_run)")
    wrap(rec, SDK, TSC, "log_metric", metric, call="log_metric")
    wrap(rec, SDK, TSC, "log_param", param, call="log_param")
    wrap(rec, SDK, TSC, "set_tag", tag, call="set_tag")
    wrap(rec, SDK, TSC, "delete_tag", untag, call="delete_tag")
    wrap(rec, SDK, TSC, "log_batch", batch, call="log_batch (log_metrics, log_params, set_tags)")
    wrap(rec, SDK, TSC, "update_run", status, call="update_run")
    wrap(rec, SDK, TSC, "set_terminated", terminated, call="set_terminated (mlflow.end_run)")
    wrap(rec, SDK, TSC, "log_artifact", artifact, call="log_artifact (log_text, log_dict, log_figure)")
    wrap(rec, SDK, TSC, "log_artifacts", artifacts, call="log_artifacts")
    note_only(rec, SDK, TSC, "_log_artifact_async", "an artifact made from an in-memory object (log_image, log_table)", call="log_image/log_table")
    note_only(rec, SDK, TSC, "log_inputs", "dataset and model inputs", call="log_input(s)")
    note_only(rec, SDK, TSC, "log_outputs", "logged models (mlflow.<flavor>.log_model)", call="log_outputs")
    note_only(rec, SDK, TSC, "log_model_artifacts", "a logged model's files (stored with the model, not the run)", call="log_model")
