"""The recorder injected into a user's training process by `e2e run --script`.

It wraps the logging calls of MLflow, W&B and ClearML (sdk_*.py) as their modules are imported,
calls the SDK exactly as the script asked, and notes what each call handed over: params,
metric points with their steps, artifact bytes' size and sha256, tags, runs and their end.
Each process writes its own `<dir>/record-<pid>.json` (atomically): now and then while it
logs, when a run ends, at exit, on an uncaught exception and on SIGTERM. The harness merges the
records into a manifest (src/script/records.ts) and verifies the backend against it.

A recorder failure never reaches the script: it is written to the record's `errors` instead.
"""
import atexit
import json
import math
import os
import signal
import sys
import threading
import time

from .hooks import install_import_hooks

SCHEMA = 1
_recorder = None


def now_ms():
    return int(time.time() * 1000)


def json_number(v):
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "Infinity" if v > 0 else "-Infinity"
    return v


def as_number(v):
    """The float an SDK stores for a scalar (int, float, numpy scalar, one-element tensor), or None."""
    import numbers

    if isinstance(v, bool) or type(v).__name__ == "bool_":
        return None
    if isinstance(v, numbers.Number):
        try:
            return float(v)
        except (TypeError, ValueError):
            return None
    numel = getattr(v, "numel", None)  # torch
    size = getattr(v, "size", None)  # numpy
    if (callable(numel) and numel() == 1) or (isinstance(size, int) and size == 1):
        try:
            return as_number(v.item())
        except Exception:
            return None
    return None


def sha256_file(path):
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class Recorder:
    def __init__(self, folder):
        self.folder = folder
        self.lock = threading.RLock()
        self._reset()
        self.local = threading.local()

    def forked(self):
        self.lock = threading.RLock()  # another thread may have held it at fork
        self._reset()

    def _reset(self):
        self.pid = os.getpid()
        self.started = now_ms()
        self.runs = {}  # (sdk, run id) -> run dict
        self.order = []
        self.models = {}  # (sdk, model id) -> model dict (MLflow 3 LoggedModels)
        self.unverified = {}  # (sdk, call, what) -> count
        self.calls = {}
        self.errors = []
        self.sdks = {}
        self.exit = None
        self.last_write = 0.0
        self.last_write_start = None
        self.write_cost = 0.0
        self.finalizers = []  # callables run before each write (W&B pending rows, configs)
        self.signals_installed = False

    # --- what the hooks call -----------------------------------------------------------
    def run(self, sdk, run_id, **info):
        with self.lock:
            key = (sdk, str(run_id))
            r = self.runs.get(key)
            if r is None:
                r = {"sdk": sdk, "runId": str(run_id), "params": {}, "tags": {}, "metrics": {},
                     "artifacts": [], "status": "RUNNING", "firstSeen": now_ms()}
                self.runs[key] = r
                self.order.append(key)
            r.update({k: v for k, v in info.items() if v is not None})
            return r

    def metric(self, sdk, run_id, key, step, value, ts=None):
        with self.lock:
            r = self.run(sdk, run_id)
            r["metrics"].setdefault(str(key), []).append(
                [int(step), json_number(float(value)), int(ts if ts is not None else now_ms())])

    def param(self, sdk, run_id, key, value):
        with self.lock:
            self.run(sdk, run_id)["params"][str(key)] = str(value)

    def tag(self, sdk, run_id, key, value):
        with self.lock:
            self.run(sdk, run_id)["tags"][str(key)] = str(value)

    def artifact(self, sdk, run_id, path, local_file, kind="file"):
        size, digest = os.path.getsize(local_file), sha256_file(local_file)
        with self.lock:
            arts = self.run(sdk, run_id)["artifacts"]
            arts[:] = [a for a in arts if a["path"] != path]  # a re-upload replaces the file
            arts.append({"path": path, "size": size, "sha256": digest, "kind": kind})

    def model(self, sdk, model_id, **info):
        """A model stored apart from a run (MLflow 3 LoggedModel): its facts, files and metrics."""
        with self.lock:
            key = (sdk, str(model_id))
            m = self.models.get(key)
            if m is None:
                m = {"sdk": sdk, "modelId": str(model_id), "params": {}, "tags": {}, "metrics": {},
                     "files": [], "status": None}
                self.models[key] = m
            m.update({k: v for k, v in info.items() if v is not None})
            return m

    def model_file(self, sdk, model_id, path, local_file):
        size, digest = os.path.getsize(local_file), sha256_file(local_file)
        with self.lock:
            files = self.model(sdk, model_id)["files"]
            files[:] = [f for f in files if f["path"] != path]
            files.append({"path": path, "size": size, "sha256": digest})

    def model_metric(self, sdk, model_id, run_id, key, step, value, ts):
        with self.lock:
            self.model(sdk, model_id)["metrics"].setdefault(str(key), []).append(
                [int(step), json_number(float(value)), int(ts), str(run_id) if run_id else None])

    def output(self, sdk, run_id, model_id, step):
        with self.lock:
            outs = self.run(sdk, run_id).setdefault("outputs", [])
            if not any(o["modelId"] == str(model_id) for o in outs):
                outs.append({"modelId": str(model_id), "step": int(step or 0)})

    def dataset_input(self, sdk, run_id, dataset):
        with self.lock:
            ins = self.run(sdk, run_id).setdefault("inputs", [])
            same = (dataset["name"], dataset["digest"], dataset.get("context"))
            if not any((i["name"], i["digest"], i.get("context")) == same for i in ins):
                ins.append(dataset)

    def status(self, sdk, run_id, status):
        with self.lock:
            self.run(sdk, run_id)["status"] = status

    def note(self, sdk, call, what):
        """A call seen whose effect the verifiers cannot check."""
        with self.lock:
            k = (sdk, call, what)
            self.unverified[k] = self.unverified.get(k, 0) + 1

    def count(self, sdk, call, version=None):
        with self.lock:
            name = f"{sdk}:{call}"
            self.calls[name] = self.calls.get(name, 0) + 1
            if version and sdk not in self.sdks:
                self.sdks[sdk] = version

    def error(self, where, err):
        with self.lock:
            if len(self.errors) < 50:
                self.errors.append({"where": where, "error": repr(err)})

    # --- writing -----------------------------------------------------------------------
    def document(self):
        for fin in list(self.finalizers):
            try:
                fin()
            except Exception as e:
                self.error("finalizer", e)
        with self.lock:
            runs = [dict(self.runs[k]) for k in self.order]
            models = [dict(m) for m in self.models.values()]
            return {
                "schema": SCHEMA, "pid": self.pid, "ppid": os.getppid(), "argv": sys.argv,
                "rank": os.environ.get("RANK"), "started": self.started, "written": now_ms(),
                "exit": self.exit, "sdks": self.sdks, "calls": self.calls, "runs": runs, "models": models,
                "unverified": [{"sdk": s, "call": c, "what": w, "count": n}
                               for (s, c, w), n in self.unverified.items()],
                "errors": self.errors,
            }

    def write(self):
        with self.lock:
            if not (self.runs or self.models or self.unverified or self.calls or self.errors):
                return  # a process that never logged (launcher, data loader worker) leaves nothing
            self.last_write_start = time.monotonic()
            try:
                os.makedirs(self.folder, exist_ok=True)
                path = os.path.join(self.folder, f"record-{self.pid}.json")
                tmp = f"{path}.tmp"
                with open(tmp, "w") as f:
                    json.dump(self.document(), f, allow_nan=False, default=str)
                os.replace(tmp, path)
                done = time.monotonic()
                self.write_cost = done - (self.last_write_start or done)
                self.last_write = done
            except Exception as e:  # a full disk must not break training
                print(f"e2e_record: cannot write the record: {e!r}", file=sys.stderr)

    def maybe_write(self, every=1.0):
        # At most ~5% of the time goes to these interim writes, however big the record grows.
        if time.monotonic() - self.last_write >= max(every, 20 * self.write_cost):
            self.write()

    # --- process end -------------------------------------------------------------------
    def at_exit(self):
        if self.exit is None:
            self.exit = {"kind": "exit"}
        self.write()

    def install_signals(self):
        """SIGTERM (torchrun, the harness's timeout) kills without atexit: write first."""
        if self.signals_installed or threading.current_thread() is not threading.main_thread():
            return
        self.signals_installed = True
        try:
            if signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
                signal.signal(signal.SIGTERM, self._on_sigterm)
        except (ValueError, OSError):
            pass

    def _on_sigterm(self, signum, frame):
        self.exit = {"kind": "signal", "signal": "SIGTERM"}
        self.write()
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)


def recorder():
    return _recorder


def install(folder):
    global _recorder
    if _recorder is not None:
        return _recorder
    _recorder = Recorder(folder)
    # Registered first, so it runs last: after the SDKs' own exit hooks have ended their runs.
    atexit.register(_recorder.at_exit)
    previous = sys.excepthook

    def excepthook(tp, value, tb):
        _recorder.exit = {"kind": "exception", "error": f"{tp.__name__}: {value}"}
        _recorder.write()
        previous(tp, value, tb)

    sys.excepthook = excepthook
    if hasattr(os, "register_at_fork"):
        # A forked child (data loader worker) starts with an empty record of its own.
        os.register_at_fork(after_in_child=_recorder.forked)
    install_import_hooks(_recorder)
    return _recorder
