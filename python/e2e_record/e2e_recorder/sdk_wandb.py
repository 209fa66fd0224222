"""W&B: wandb.init, Run.log (wandb.log is a run's bound log), Run.save, Run.finish, and the run's
config (wandb.init(config=...), run.config.update / [k] = v), read when the record is written.

Which history row a point lands in follows W&B's own step rule (Run._log): a call without step
and commit commits a row at the current step and moves on; step=N above the current step
commits what was pending and moves to N; commit=False accumulates; a step below the current
one is dropped by W&B (listed as unverifiable). A row's metric step is its "step" value when it
has a numeric one (the verifier's convention, src/backends/wandb/reader.ts), else W&B's _step.
Keys "step" and "_*" are not metrics; nested dicts are flattened with ".".

Beyond metrics, the run's "wandb" entry notes (src/backends/wandb/expect.ts):
- artifacts: each logged wandb.Artifact (name, type) and what add_file / add_dir /
  add_reference handed it: entry path -> sha256 and size of the source file, or the URI;
- media: wandb.Image (sha256 of the file W&B made when the object was built, before logging),
  wandb.Table (rows, columns), wandb.Histogram (its bins and counts), each with its key and
  W&B's row (_step);
- summary: the final value of every numeric key by W&B's rule, in order: a committed row sets
  summary[key] to its value; run.summary[key] = v / run.summary.update sets it explicitly;
- used: each artifact run.use_artifact returned (source collection, version, digest, type,
  source entity/project), checked by URL against the run's inputArtifacts. Offline W&B refuses
  the call (nothing is stored): noted as unverifiable with that reason.
Tags (wandb.init(tags=...), run.tags = ...) are the run's tags as the verifier maps them:
"k=v" -> k: v, a plain tag t -> t: "".
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
        """Returns the W&B row (_step) the data went to, or None when W&B drops it."""
        flat = _flatten(dict(data))
        if step is not None:
            step = int(step)
            if step < self.cur:
                self.rec.note(SDK, "run.log", "a row whose step is below W&B's current step (W&B drops it)")
                return None
            if step > self.cur:
                self.flush()
                self.cur = step
        row = self.cur
        self.pending.update(flat)
        if (step is None and commit is None) or commit:
            self.flush()
            self.cur += 1
        return row

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
                if not _media_kind(v):
                    self.rec.note(SDK, "run.log", f"{k}: a value that is not a number (text, or media other than Image/Table/Histogram)")
                continue
            yield k, int(step), x, ts

    def flush(self):
        if self.pending:
            summary = _entry(self.rec, self.id)["summary"]
            for k, step, x, ts in self.points(self.pending, self.cur):
                self.rec.metric(SDK, self.id, k, step, x, ts)
                summary[k] = x  # W&B's implicit summary: the last committed value
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


def _entry(rec, run_id):
    r = rec.run(SDK, run_id)
    return r.setdefault("wandb", {"artifacts": [], "media": [], "summary": {}})


def _media_kind(v):
    """W&B's _type for the media e2e verifies, else None."""
    t = getattr(type(v), "_log_type", None)
    return {"image-file": "image-file", "table": "table-file", "histogram": "histogram"}.get(t)


def _media_note(key, v):
    """What the script handed W&B in a media value, taken before W&B processes it."""
    kind = _media_kind(v)
    if kind == "image-file":
        path = getattr(v, "_path", None)
        if not path or not os.path.isfile(path):
            return None
        from . import sha256_file

        return {"key": key, "type": kind, "sha256": sha256_file(path), "size": os.path.getsize(path)}
    if kind == "table-file":
        return {"key": key, "type": kind, "nrows": len(v.data), "ncols": len(v.columns)}
    if kind == "histogram":
        return {"key": key, "type": kind, "values": [float(x) for x in v.histogram],
                "bins": [float(x) for x in v.bins]}
    return None


def _path_artifact(run, path, name, kind):
    """The artifact W&B makes from a path (Run._prepare_artifact): name default
    run-<id>-<basename>; a file is one entry, a folder every file under it."""
    from . import sha256_file

    path = os.fspath(path)
    entries = []
    if os.path.isdir(path):
        for root, _dirs, files in os.walk(path):
            for f in files:
                src = os.path.join(root, f)
                entries.append({"path": os.path.relpath(src, path).replace(os.sep, "/"),
                                "sha256": sha256_file(src), "size": os.path.getsize(src)})
    elif os.path.isfile(path):
        entries.append({"path": os.path.basename(path), "sha256": sha256_file(path), "size": os.path.getsize(path)})
    return {"name": name or f"run-{run.id}-{os.path.basename(path)}", "type": kind,
            "entries": sorted(entries, key=lambda e: e["path"])}


def used_note(artifact):
    """The identity of an artifact run.use_artifact returned, as W&B lists a run's used artifacts
    (RunInputArtifacts: the source sequence, its version index, the digest and the source project):
    a name or alias the script asked for ("my-model:latest", a registry link) resolves to it."""
    name = getattr(artifact, "source_name", None) or getattr(artifact, "name", None)
    if not name:
        return None
    collection, _, version = str(name).partition(":")
    try:
        version = artifact.source_version
    except Exception:
        pass
    note = {"name": collection, "version": version, "digest": artifact.digest, "type": artifact.type}
    for field, attr in (("entity", "source_entity"), ("project", "source_project")):
        try:
            note[field] = getattr(artifact, attr)
        except Exception:
            pass
    return note


def _tag_map(tags):
    out = {}
    for t in tags or ():
        t = str(t)
        k, eq, v = t.partition("=")
        out.update({k: v} if eq and k else {t: ""})
    return out


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
        r = rec.run(SDK, run.id)
        r["tags"] = _tag_map(getattr(run, "tags", None) or ())

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

    handed = {}  # id(run) -> media notes taken before W&B processed them

    def before_log(self, data, step=None, commit=None, *a, **k):
        notes = []
        for key, v in _flatten(dict(data)).items():
            n = _media_note(key, v)
            if n:
                notes.append(n)
        handed[id(self)] = notes

    def logged(_r, self, data, step=None, commit=None, *a, **k):
        row = hist(self).log(data, step, commit)
        notes = handed.pop(id(self), [])
        if row is not None:
            _entry(rec, self.id)["media"].extend({**n, "step": row} for n in notes)

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

    def artifact_logged(_r, self, artifact, name=None, type=None, *a, **k):
        if isinstance(artifact, (str, os.PathLike)):  # log_artifact(path, name=, type=)
            _entry(rec, self.id)["artifacts"].append(_path_artifact(self, artifact, name, type or "unspecified"))
            return
        entries = getattr(artifact, "_e2e_entries", {})
        _entry(rec, self.id)["artifacts"].append({
            "name": artifact.name.split(":")[0], "type": artifact.type,
            "entries": [{"path": p, **e} for p, e in sorted(entries.items())]})

    def model_logged(_r, self, path, name=None, *a, **k):
        _entry(rec, self.id)["artifacts"].append(_path_artifact(self, path, name, "model"))

    def tags_set(_r, self, tags):
        rec.run(SDK, self.id)["tags"] = _tag_map(tags)

    wrap(rec, SDK, Run, "log", logged, call="run.log (wandb.log)", before=before_log)
    wrap(rec, SDK, Run, "log_artifact", artifact_logged, call="run.log_artifact")
    wrap(rec, SDK, Run, "log_model", model_logged, call="run.log_model")
    prop = Run.__dict__.get("tags")
    if isinstance(prop, property) and prop.fset and not getattr(prop.fset, "__e2e_wrapped__", False):
        fset = prop.fset

        def set_tags(self, tags):  # run.tags = (...): the property's setter, noted after it ran
            fset(self, tags)
            try:
                tags_set(None, self, tags)
            except Exception as e:
                rec.error("run.tags", e)

        set_tags.__e2e_wrapped__ = True
        Run.tags = property(prop.fget, set_tags, prop.fdel, prop.__doc__)
    _patch_summary(rec)
    _patch_artifact(rec)
    wrap(rec, SDK, Run, "save", saved, call="run.save (wandb.save)")
    wrap(rec, SDK, Run, "finish", finished, call="run.finish (wandb.finish)")
    def before_use(self, *a, **k):
        settings = getattr(self, "_settings", None)
        if getattr(settings, "_offline", False) or getattr(settings, "mode", None) == "offline":
            # wandb 0.31 raises TypeError('Cannot use artifact when in offline mode.'): nothing stored.
            rec.note(SDK, "run.use_artifact", "offline W&B refuses it ('Cannot use artifact when in offline mode'): nothing is stored; with --url the run's used artifacts are verified")

    def artifact_used(artifact, self, *a, **k):
        used = used_note(artifact)
        if used:
            _entry(rec, self.id).setdefault("used", []).append(used)

    wrap(rec, SDK, Run, "use_artifact", artifact_used, call="run.use_artifact", before=before_use)
    note_only(rec, SDK, Run, "watch", "gradient and parameter histograms", call="run.watch")
    note_only(rec, SDK, Run, "alert", "an alert", call="run.alert")


def _patch_summary(rec):
    from wandb.sdk import wandb_summary

    def updated(_r, self, d, *a, **k):
        cb = object.__getattribute__(self, "_update_callback")
        run = getattr(cb, "__self__", None)
        if run is None or not getattr(run, "id", None):
            return
        summary = _entry(rec, run.id)["summary"]
        for key, v in dict(d).items():
            x = _scalar(v)
            if x is None:
                rec.note(SDK, "run.summary", f"{key}: a summary value that is not a number")
                summary.pop(str(key), None)
            else:
                summary[str(key)] = x

    # run.summary[k] = v and run.summary.k = v both end in update(); nested dicts are not wrapped.
    wrap(rec, SDK, wandb_summary.Summary, "update", updated, call="run.summary.update")


def _patch_artifact(rec):
    from wandb.sdk.artifacts.artifact import Artifact

    from . import sha256_file

    def entries(art):
        got = art.__dict__.get("_e2e_entries")
        if got is None:
            got = {}
            art.__dict__["_e2e_entries"] = got
        return got

    def file_added(_r, self, local_path, name=None, *a, **k):
        path = (name or os.path.basename(local_path)).replace(os.sep, "/")
        entries(self)[path] = {"sha256": sha256_file(local_path), "size": os.path.getsize(local_path)}

    def dir_added(_r, self, local_path, name=None, *a, **k):
        for root, _dirs, files in os.walk(local_path):
            for f in files:
                src = os.path.join(root, f)
                rel = os.path.relpath(src, local_path).replace(os.sep, "/")
                path = f"{name.rstrip('/')}/{rel}" if name else rel
                entries(self)[path] = {"sha256": sha256_file(src), "size": os.path.getsize(src)}

    def reference_added(result, self, uri, name=None, *a, **k):
        for e in result or ():
            entries(self)[e.path] = {"ref": str(uri) if not e.ref else e.ref}

    wrap(rec, SDK, Artifact, "add_file", file_added, call="Artifact.add_file")
    wrap(rec, SDK, Artifact, "add_dir", dir_added, call="Artifact.add_dir")
    wrap(rec, SDK, Artifact, "add_reference", reference_added, call="Artifact.add_reference")
