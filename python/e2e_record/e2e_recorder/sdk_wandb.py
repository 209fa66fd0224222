"""W&B: wandb.init, Run.log (wandb.log is a run's bound log), Run.save, Run.finish, and the run's
config (wandb.init(config=...), run.config.update / [k] = v), read when the record is written.

Which history row a point lands in follows W&B's own step rule (Run._log): a call without step
and commit commits a row at the current step and moves on; step=N above the current step
commits what was pending and moves to N; commit=False accumulates; a step below the current
one is dropped by W&B (listed as unverifiable). A row's metric step is its "step" value when it
has a numeric one (the verifier's convention, src/backends/wandb/reader.ts), else W&B's _step.
Keys "step" and "_*" are not metrics; nested dicts are flattened with ".".
"""
import json
import os

from . import as_number, now_ms
from .wrap import note_only, wrap

SDK = "wandb"


def _scalar(v):
    """A value W&B keeps as a JSON number: Python numbers, numpy scalars, 0-d tensors."""
    if getattr(v, "ndim", 0) != 0:
        return None
    return as_number(v)


def _flatten(d, prefix=""):
    out = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_flatten(v, f"{key}."))
        else:
            out[key] = v
    return out


class _History:
    def __init__(self, rec, run):
        self.rec, self.run = rec, run
        self.id = run.id
        self.cur = int(getattr(run, "_starting_step", 0) or 0)
        self.pending = {}
        self.finished = False

    def log(self, data, step, commit):
        flat = _flatten(dict(data))
        if step is not None:
            step = int(step)
            if step < self.cur:
                self.rec.note(SDK, "run.log", "a row whose step is below W&B's current step (W&B drops it)")
                return
            if step > self.cur:
                self.flush()
                self.cur = step
        self.pending.update(flat)
        if (step is None and commit is None) or commit:
            self.flush()
            self.cur += 1

    def points(self, row, step):
        own = row.get("step")
        if as_number(own) is not None and not isinstance(own, bool):
            step = own
        ts = now_ms()
        for k, v in row.items():
            if k == "step" or k.startswith("_"):
                continue
            x = _scalar(v)
            if x is None:
                self.rec.note(SDK, "run.log", f"{k}: a value that is not a number (media, histogram, text)")
                continue
            yield k, int(step), x, ts

    def flush(self):
        if self.pending:
            for k, step, x, ts in self.points(self.pending, self.cur):
                self.rec.metric(SDK, self.id, k, step, x, ts)
        self.pending = {}

    def snapshot(self):
        """Config as params, and the row W&B still holds (it writes it when the run ends)."""
        r = self.rec.run(SDK, self.id)
        try:
            items = dict(self.run.config._items)
        except Exception:
            items = None
        if items is not None:
            params = {}
            for k, v in items.items():
                if k == "_wandb":
                    continue
                if isinstance(v, dict):
                    params.update({f"{k}.{kk}": _param(vv) for kk, vv in _flatten(v).items()})
                else:
                    params[k] = _param(v)
            r["params"] = params
        pending = {}
        if not self.finished:
            for k, step, x, ts in self.points(dict(self.pending), self.cur):
                pending.setdefault(k, []).append([step, x, ts])
        r["pending"] = pending


def _param(v):
    """How the verifier prints a config value (Python's str of the JSON value)."""
    if isinstance(v, (list, tuple)):
        return json.dumps(_jsonable(v), separators=(",", ":"), ensure_ascii=False)
    x = as_number(v)
    if x is not None and not isinstance(v, (int, float)):
        return str(x)  # numpy scalars reach W&B as Python floats
    return str(v)


def _jsonable(v):
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, float) and v.is_integer():
        return int(v)  # JSON.stringify prints 2.0 as 2
    return v


_histories = {}


def patch_init(module, rec):
    def started(run, *a, **k):
        if run is None or not getattr(run, "id", None):
            return
        rec.run(SDK, run.id, name=getattr(run, "name", None), project=getattr(run, "project", None),
                group=getattr(run, "group", None) or None,
                offlinePath=os.path.dirname(os.path.abspath(run.dir)) if getattr(run, "dir", None) else None)
        if run.id not in _histories:
            h = _histories[run.id] = _History(rec, run)
            rec.finalizers.append(h.snapshot)

    wrap(rec, SDK, module, "init", started, call="wandb.init", kind="function")


def patch_run(module, rec):
    Run = module.Run

    def hist(run):
        h = _histories.get(run.id)
        if h is None:  # a run made without wandb.init (attached): track it from here
            h = _histories[run.id] = _History(rec, run)
            rec.run(SDK, run.id, name=run.name, offlinePath=os.path.dirname(os.path.abspath(run.dir)))
            rec.finalizers.append(h.snapshot)
        return h

    def logged(_r, self, data, step=None, commit=None, *a, **k):
        hist(self).log(data, step, commit)

    def saved(result, self, *a, **k):
        files_dir = os.path.abspath(self.dir)  # relative when wandb.init(dir=".")
        for p in result if isinstance(result, list) else ():
            p = os.fspath(p)
            real = os.path.realpath(p)
            if os.path.isfile(real):
                rel = os.path.relpath(os.path.abspath(p), files_dir).replace(os.sep, "/")
                rec.artifact(SDK, self.id, rel, real)

    def finished(_r, self, exit_code=None, *a, **k):
        h = hist(self)
        h.flush()
        h.snapshot()
        h.finished = True
        rec.status(SDK, self.id, "FINISHED" if not exit_code else "FAILED")
        rec.write()

    wrap(rec, SDK, Run, "log", logged, call="run.log (wandb.log)")
    wrap(rec, SDK, Run, "save", saved, call="run.save (wandb.save)")
    wrap(rec, SDK, Run, "finish", finished, call="run.finish (wandb.finish)")
    note_only(rec, SDK, Run, "log_artifact", "a W&B Artifact (offline artifacts are not read)", call="run.log_artifact")
    note_only(rec, SDK, Run, "log_model", "a W&B model artifact", call="run.log_model")
    note_only(rec, SDK, Run, "watch", "gradient and parameter histograms", call="run.watch")
    note_only(rec, SDK, Run, "alert", "an alert", call="run.alert")
