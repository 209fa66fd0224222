"""MLflow through its fluent API, as users write it.

The fluent mlflow.start_run is what sets MLflow's own context tags (mlflow.source.name,
mlflow.source.type, mlflow.source.git.commit, mlflow.user, mlflow.runName and, for nested
runs, mlflow.parentRunId), so the verifiers can check those too. Every call names run_id so
that a parent and its children can be logged to in any order.
"""
import os
import shutil
import tempfile

import mlflow
import mlflow.artifacts
from mlflow.tracking import MlflowClient

from .core import Run, Tracker


class MlflowRun(Run):
    def _sdk_start(self):
        parent_id = self.parent.run_id if self.parent is not None else None
        active = mlflow.start_run(run_name=self.name, tags=self.tags or None,
                                  nested=parent_id is not None, parent_run_id=parent_id)
        self.run_id = active.info.run_id
        self.extra["experiment"] = self.tracker.cfg["experiment"]

    def _sdk_resume(self):
        # The same run, continued: MLflow sets it RUNNING again; metrics append to its history.
        mlflow.start_run(run_id=self.run_id)

    def _sdk_adopt(self, run_id, **extra):
        self.run_id = run_id
        self.extra["experiment"] = self.tracker.cfg["experiment"]

    fetch_source = ("backend-api", "mlflow.artifacts.download_artifacts(run_id=...) through the server")

    def _sdk_fetch(self, artifact_path, dest_dir):
        return mlflow.artifacts.download_artifacts(run_id=self.run_id, artifact_path=artifact_path,
                                                   dst_path=dest_dir)

    def _sdk_metrics_batch(self, rows):
        # log_batch takes at most 1000 metrics per call (the server's limit).
        from mlflow.entities import Metric

        metrics = [Metric(k, v, ts, step) for step, values, ts, _stamps in rows for k, v in values.items()]
        client = MlflowClient()
        for i in range(0, len(metrics), 1000):
            client.log_batch(self.run_id, metrics=metrics[i:i + 1000])

    def _on_top(self):
        """Whether this run is the fluent API's active run: then it is logged to without run_id=,
        the way users log. MLflow 3.17's fluent log_metrics/log_params given run_id= fetch the run
        (a blocking GET runs/get) on every call, which doubles the requests per step."""
        active = mlflow.active_run()
        return active is not None and active.info.run_id == self.run_id

    def _sdk_params(self, params):
        if self._on_top():
            mlflow.log_params(params)
        else:
            mlflow.log_params(params, run_id=self.run_id)

    def _sdk_metrics(self, values, step, ts):
        # Same timestamp as the manifest, so (step, value, timestamp) match exactly.
        if self._on_top():
            mlflow.log_metrics(values, step=step, timestamp=ts)
        else:
            mlflow.log_metrics(values, step=step, timestamp=ts, run_id=self.run_id)

    def _sdk_artifact(self, local_path, artifact_path, kind):
        # log_artifact keeps the local file name: stage a copy when the wanted name differs.
        folder, base = os.path.split(artifact_path)
        with tempfile.TemporaryDirectory() as tmp:
            if os.path.basename(local_path) != base:
                local_path = shutil.copyfile(local_path, os.path.join(tmp, base))
            mlflow.log_artifact(local_path, artifact_path=folder or None, run_id=self.run_id)

    def _sdk_tags(self, tags):
        client = MlflowClient()
        for k, v in tags.items():
            client.set_tag(self.run_id, k, v)

    def _sdk_finish(self, status):
        # The TensorBoard event files (closed by now) go to the run as artifacts under
        # tensorboard/, as users keep them with MLflow: the verifier downloads them through the
        # server and parses those bytes. A resumed run uploads the folder again, new file included.
        if os.path.isdir(self._tb_dir) and any(files for _r, _d, files in os.walk(self._tb_dir)):
            mlflow.log_artifacts(self._tb_dir, artifact_path="tensorboard", run_id=self.run_id)
        if self._on_top():
            mlflow.end_run(status)
        else:  # not on top of the fluent stack (e.g. ended out of order)
            MlflowClient().set_terminated(self.run_id, status)


class MlflowTracker(Tracker):
    run_class = MlflowRun
    backend = "mlflow"

    def __init__(self, cfg, **options):
        super().__init__(cfg, **options)
        mlflow.set_tracking_uri(cfg["tracking_uri"])
        exp = mlflow.set_experiment(cfg["experiment"])
        # Workflows run at once share the experiment: in mlflow 3.17 the process that loses the
        # race to create it gets RESOURCE_ALREADY_EXISTS and set_experiment returns the one the
        # other made WITHOUT making it active (runs would go to experiment 0). By id it is set.
        mlflow.set_experiment(experiment_id=exp.experiment_id)
