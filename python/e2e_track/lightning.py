"""Lightning integration per backend, observed so the manifest records what reached the SDK.

    run, loggers = lightning_loggers(tracker, "main", name=..., tags=...)
    trainer = Trainer(logger=loggers, ...)

- mlflow: lightning's MLFlowLogger creates the run (MlflowClient.create_run with MLflow's
  context tags, git commit included) and sends metrics with MlflowClient.log_batch; the
  observer wraps that client's log_batch, so keys (after Lightning's sanitising), values,
  steps and the timestamps Lightning chose are recorded exactly. MLflow's store drops a metric
  identical in (key, value, timestamp, step) to one in the same batch or already stored; the
  observer drops those too (Lightning logs `epoch` with every call, so a train and a
  validation call at one step within one millisecond repeat it).
- wandb: WandbLogger(offline=True, ...) makes the wandb.init run; every row it logs carries
  `trainer/global_step`, recorded as the manifest run's stepKey (the step of each point is that
  key's value in the row; the key itself is not a metric in the manifest).
- clearml: ClearML has no Lightning logger: Task.init with its TensorBoard binding on captures
  what TensorBoardLogger writes. A tag "a/b" becomes title "a", series "b"; a tag without "/"
  becomes title = series = tag. The observer records TensorBoardLogger.log_metrics calls.
  Values are what ClearML stores from the summary TensorBoard wrote: the float32's shortest
  decimal form read as a double (see _clearml_value).
A TensorBoardLogger (save_dir = cfg tensorboard_dir, name = run key) is always one of the
loggers; the manifest's tensorboardDir points at its version folder.
"""
import os
import struct

from .core import now_ms


def _f32(v):
    return struct.unpack("f", struct.pack("f", float(v)))[0]


def _tensorboard_logger(tracker, key, on_metrics=None):
    from lightning.pytorch.loggers import TensorBoardLogger

    class ObservedTB(TensorBoardLogger):
        def log_metrics(self, metrics, step=None):
            super().log_metrics(metrics, step)
            if on_metrics is not None:
                on_metrics(metrics, step)

    # default_hp_metric=False: no placeholder `hp_metric` scalar that no other backend gets.
    return ObservedTB(save_dir=tracker.cfg["tensorboard_dir"], name=key, version=0,
                      default_hp_metric=False)


def _point_tb_dir(run, tb):
    run._tb_dir = tb.log_dir
    run.tb_used = True


def lightning_loggers(tracker, key, name, tags=None):
    backend = tracker.backend
    cfg = tracker.cfg
    tags = {k: str(v) for k, v in (tags or {}).items()}
    if backend == "mlflow":
        from lightning.pytorch.loggers import MLFlowLogger

        logger = MLFlowLogger(experiment_name=cfg["experiment"], run_name=name,
                                tracking_uri=cfg["tracking_uri"], tags=tags or None,
                                log_model=False)
        client = logger.experiment  # creates the run now
        run = tracker.adopt_run(key, name, logger.run_id, tags=tags)
        seen = set()
        inner = client.log_batch

        def log_batch(run_id, metrics=(), params=(), tags=(), **kw):
            out = inner(run_id, metrics=metrics, params=params, tags=tags, **kw)
            if run_id == run.run_id:
                for m in metrics:
                    ident = (m.key, float(m.value), int(m.timestamp), int(m.step))
                    if ident not in seen:  # MLflow's store de-duplicates these
                        seen.add(ident)
                        run.record_metrics({m.key: m.value}, m.step, m.timestamp)
                run.record_params({p.key: p.value for p in params})
                tracker.write_manifest()
            return out

        client.log_batch = log_batch
        tb = _tensorboard_logger(tracker, key)
        _point_tb_dir(run, tb)
        return run, [logger, tb]

    if backend == "wandb":
        from lightning.pytorch.loggers import WandbLogger
        from lightning.fabric.utilities.logger import _convert_params, _sanitize_callable_params

        holder = {}

        class ObservedWandb(WandbLogger):
            def log_metrics(self, metrics, step=None):
                super().log_metrics(metrics, step)
                if step is None:
                    raise RuntimeError("WandbLogger got no step: the manifest needs one per row")
                holder["run"].record_metrics(dict(metrics), step)
                tracker.write_manifest()

            def log_hyperparams(self, params):
                super().log_hyperparams(params)
                # What WandbLogger hands config.update (raw values; str() is MLflow's form).
                params = _sanitize_callable_params(_convert_params(params))
                holder["run"].record_params(params)
                tracker.write_manifest()

        logger = ObservedWandb(offline=cfg.get("offline", True), save_dir=cfg["work_dir"],
                               project=cfg["experiment"], name=name, group=name,
                               tags=[f"{k}={v}" for k, v in tags.items()], log_model=False)
        run = tracker.adopt_run(key, name, None, tags=tags, run=logger.experiment,
                                stepKey="trainer/global_step")
        holder["run"] = run
        tb = _tensorboard_logger(tracker, key)
        _point_tb_dir(run, tb)
        run.capture_tensorboard(tb.log_dir)  # W&B's own capture of what TensorBoardLogger writes
        return run, [logger, tb]

    if backend == "clearml":
        run = tracker.start_run(key, name=name, tags=tags, capture_tensorboard=True)

        def observe(metrics, step):
            run.record_metrics({k: _clearml_value(v) for k, v in metrics.items()}, step)
            tracker.write_manifest()

        tb = _tensorboard_logger(tracker, key, on_metrics=observe)
        _point_tb_dir(run, tb)
        return run, [tb]

    raise ValueError(f"unknown backend {backend!r}")


def _clearml_value(v):
    # ClearML's binding reads the scalar back out of the Summary proto TensorBoard built (a
    # float32) and stores its shortest decimal form: 1.2449803352355957 arrives as 1.2449803.
    import numpy

    return float(str(numpy.float32(_f32(v))))
