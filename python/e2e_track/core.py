"""Backend-neutral bookkeeping: the manifest, git facts, TensorBoard mirroring.

Each backend module subclasses Run and implements the `_sdk_*` hooks; everything the
verifiers compare against (the manifest) is recorded here, from the exact values handed
to the SDK, so the expectation never depends on what the backend did with them.
"""
import atexit
import contextlib
import gc
import hashlib
import json
import math
import os
import platform
import subprocess
import sys
import time
from importlib import metadata

from .points import INLINE_MAX, PointsFile

STATUSES = ("FINISHED", "FAILED")


def now_ms():
    return int(time.time() * 1000)


def json_value(v):
    # JSON has no NaN/Infinity; the manifest type spells them as strings.
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "Infinity" if v > 0 else "-Infinity"
    return v


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _git(*args):
    try:
        out = subprocess.run(["git", *args], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def git_facts():
    """Facts about the repository in cwd (the harness runs train.py from its throwaway repo)."""
    commit = _git("rev-parse", "HEAD")
    if not commit:
        return None
    facts = {"commit": commit, "dirty": bool(_git("status", "--porcelain"))}
    branch = _git("rev-parse", "--abbrev-ref", "HEAD")
    if branch and branch != "HEAD":  # "HEAD" means detached: no branch to expect
        facts["branch"] = branch
    remote = _git("config", "--get", "remote.origin.url")
    if remote:
        facts["remote"] = remote
    return facts


def resolve_device(cfg):
    want = cfg.get("device") or "auto"
    if want != "auto":
        return want
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def environment(cfg):
    import torch

    env = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "torch": torch.__version__,
        "cuda_available": torch.cuda.is_available(),
        "cuda": torch.version.cuda,
        "device": resolve_device(cfg),
    }
    # Versions from package metadata: importing every SDK just to read a version is slow.
    for pkg in ("mlflow", "wandb", "clearml", "lightning", "tensorboard"):
        try:
            env[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            env[pkg] = None
    return env


class Run:
    """One backend run. Subclasses implement the _sdk_* hooks with the backend's own SDK."""

    def __init__(self, tracker, key, name, tags, parent):
        self.tracker, self.key, self.name, self.parent = tracker, key, name, parent
        self.run_id = None
        self.status = "RUNNING"
        self.params, self.tags, self.metrics, self.artifacts = {}, {}, {}, []
        # Past INLINE_MAX points the run's points go to a file beside the manifest (points.py)
        # and self.metrics stays empty: point_count() and points() see both.
        self._points = None
        self._n_inline = 0
        self.extra = {}  # backend fields: group, project, experiment, offlinePath
        self.git = git_facts()
        self.tags.update({k: str(v) for k, v in (tags or {}).items()})
        self._tb = None
        self._tb_dir = os.path.join(tracker.cfg["tensorboard_dir"], key)
        self.tb_used = False  # set when TensorBoard files exist without our writer (resume, Lightning)

    # --- public API -------------------------------------------------------------------
    def log_params(self, params):
        # MLflow stores str(value) (mlflow.tracking.fluent.log_params); keep the same.
        with self.tracker.timed("sdkLogMs"):
            self._sdk_params(dict(params))
        self.params.update({k: str(v) for k, v in params.items()})

    def log_metric(self, key, value, step):
        self.log_metrics({key: value}, step)

    def log_metrics(self, metrics, step):
        step = int(step)
        values = {k: float(v) for k, v in metrics.items()}  # float(): tensors, ints, numpy
        ts = now_ms()
        with self.tracker.timed("sdkLogMs"):
            stamps = self._sdk_metrics(values, step, ts) or {}
        tb = self._writer()
        for k, v in values.items():
            t = stamps.get(k, ts)
            self._add_point(k, step, v, t)
            tb.add_scalar(k, v, step, walltime=t / 1000)

    def log_metrics_batch(self, rows):
        """Many steps at once through the SDK's batch path, where it has one.

        rows: [(step, {key: value}), ...] in logging order. Every point gets its own timestamp
        (one per row, or per key where the SDK stamps each key itself), recorded in the manifest
        as handed to the SDK; TensorBoard mirrors all.
        """
        base = now_ms()
        # Lists [step, values, ts, stamps], so an SDK path that stamps points itself (no
        # timestamp argument) can put the time of its own call in the manifest instead of
        # base + i, per row (ts) or per key (stamps: {key: ms}); see _sdk_metrics_batch.
        prepared = [[int(step), {k: float(v) for k, v in values.items()}, base + i, None]
                    for i, (step, values) in enumerate(rows)]
        with self.tracker.timed("sdkLogMs"):
            self._sdk_metrics_batch(prepared)
        tb = self._writer()
        for step, values, ts, stamps in prepared:
            stamps = stamps or {}
            for k, v in values.items():
                t = stamps.get(k, ts)
                self._add_point(k, step, v, t)
                tb.add_scalar(k, v, step, walltime=t / 1000)

    def record_metrics(self, values, step, ts=None):
        """Observer path: a framework integration (a Lightning logger) sent these to the SDK
        itself; only the manifest records them (no SDK call, no TensorBoard mirror)."""
        ts = now_ms() if ts is None else int(ts)
        for k, v in values.items():
            self._add_point(k, int(step), float(v), ts)

    def _add_point(self, key, step, value, ts):
        if self._points is None:
            self.metrics.setdefault(key, []).append([step, json_value(value), ts])
            self._n_inline += 1
            if self._n_inline > INLINE_MAX:
                self._spill()
        else:
            self._points.add(key, step, value, ts)

    def _spill(self):
        order = self.tracker._order.index(self.key) if self.key in self.tracker._order else len(self.tracker._order)
        pf = PointsFile.create(self.tracker.cfg["manifest"], order, self.key)
        for k, pts in self.metrics.items():
            for step, v, ts in pts:
                pf.add(k, step, float(v), ts)  # float("NaN") etc.: the manifest's spelling back
        self._points, self.metrics = pf, {}

    def point_count(self):
        """Points recorded in the manifest so far, inline or in the points file."""
        return sum(len(p) for p in self.metrics.values()) + (self._points.count() if self._points else 0)

    def record_params(self, params):
        """Observer path for params an integration logged itself (already stringified)."""
        self.params.update({k: str(v) for k, v in params.items()})

    # How _sdk_fetch gets bytes back, reported by the checkpoint workflow beside the sha256 of
    # what it received (facts.resume.received.{source, api}): source "backend-api" when an SDK
    # or server API returned them, "offline-store" when read from the SDK's offline files with
    # no API between; api names the call. Each backend states its own.
    fetch_source = ("backend-api", "")

    def fetch_artifact(self, artifact_path, dest_dir):
        """Get an artifact this run logged back FROM THE BACKEND (not from the local file that
        was logged): returns a local path under dest_dir or one the SDK manages."""
        return self._sdk_fetch(artifact_path.replace(os.sep, "/").strip("/"), dest_dir)

    def log_artifact(self, local_path, artifact_path, kind="file"):
        if kind not in ("file", "model", "image"):
            raise ValueError(f"kind must be file, model or image, not {kind!r}")
        artifact_path = artifact_path.replace(os.sep, "/").strip("/")
        with self.tracker.timed("sdkLogMs"):
            self._sdk_artifact(local_path, artifact_path, kind)
        self.artifacts.append({"path": artifact_path, "size": os.path.getsize(local_path),
                               "sha256": sha256_file(local_path), "kind": kind})

    def set_tags(self, tags):
        tags = {k: str(v) for k, v in tags.items()}
        with self.tracker.timed("sdkLogMs"):
            self._sdk_tags(tags)
        self.tags.update(tags)

    def finish(self, status="FINISHED"):
        if status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}")
        if self.status != "RUNNING":
            return
        try:
            if self._tb:
                self._tb.close()
            with self.tracker.timed("sdkFinishMs"):
                self._sdk_finish(status)
        finally:
            self.status = status
            self.tracker.write_manifest()

    # --- helpers ----------------------------------------------------------------------
    def _writer(self):
        if self._tb is None:
            from torch.utils.tensorboard import SummaryWriter

            self._tb = SummaryWriter(log_dir=self._tb_dir)
        return self._tb

    def to_manifest(self):
        work = self.tracker.cfg["work_dir"]
        out = {"key": self.key, "runId": self.run_id or "", "name": self.name}
        if self.parent is not None:
            out["parent"] = self.parent.key
        out.update(self.extra)
        out.update(params=self.params, tags=self.tags, metrics=self.metrics,
                   artifacts=self.artifacts, status=self.status)
        if self._points is not None:
            self._points.sync()
            out["pointsFile"] = self._points.describe()
        if self.git:
            out["git"] = self.git
        if self._tb is not None or self.tb_used:
            out["tensorboardDir"] = os.path.relpath(self._tb_dir, work).replace(os.sep, "/")
        return out

    def restore(self, doc):
        """Continue a run recorded by an earlier phase's manifest (same key, same backend run)."""
        self.run_id = doc.get("runId") or None
        self.params = dict(doc.get("params", {}))
        self.tags = dict(doc.get("tags", {}))
        self.metrics = {k: [list(p) for p in pts] for k, pts in doc.get("metrics", {}).items()}
        self._n_inline = sum(len(p) for p in self.metrics.values())
        if "pointsFile" in doc:
            self._points = PointsFile.resume(self.tracker.cfg["manifest"], doc["pointsFile"])
        self.artifacts = [dict(a) for a in doc.get("artifacts", [])]
        for k in ("group", "project", "experiment", "offlinePath", "offlinePaths", "stepKey",
                  "tensorboardNamespace"):
            if k in doc:
                self.extra[k] = doc[k]
        if "tensorboardDir" in doc:
            self._tb_dir = os.path.join(self.tracker.cfg["work_dir"], doc["tensorboardDir"])
            self.tb_used = True

    # --- backend hooks ----------------------------------------------------------------
    def _sdk_params(self, params): raise NotImplementedError
    # Returns None when the SDK takes ts (or stamps the whole call at once), or {key: ms} when
    # it stamps each key itself: the time read just before that key was handed over, which the
    # manifest then records instead of ts (a stall while one key is reported must not shift the
    # next key's expected time).
    def _sdk_metrics(self, values, step, ts): raise NotImplementedError
    def _sdk_artifact(self, local_path, artifact_path, kind): raise NotImplementedError
    def _sdk_tags(self, tags): raise NotImplementedError
    def _sdk_finish(self, status): raise NotImplementedError
    def _sdk_resume(self): raise NotImplementedError
    def _sdk_adopt(self, run_id, **extra): raise NotImplementedError
    def _sdk_fetch(self, artifact_path, dest_dir): raise NotImplementedError

    def _sdk_metrics_batch(self, rows):
        for row in rows:  # no batch path: one call per step, stamped when it is made
            row[2] = now_ms()
            row[3] = self._sdk_metrics(row[1], row[0], row[2])


class Tracker:
    run_class = Run
    backend = ""

    def __init__(self, cfg, sequential_children=False):
        # Where this process's time goes (listed in e2e's --json perf): startup is the interpreter
        # and the imports of torch, the SDK and the workflow, from the harness's spawn to here.
        self._t0 = time.time()
        spawned = os.environ.get("E2E_SPAWNED_AT_MS")
        self.timing = {"startupMs": round(self._t0 * 1000 - int(spawned)) if spawned else None,
                       "sdkStartMs": 0.0, "sdkLogMs": 0.0, "sdkFinishMs": 0.0}
        self._prior_phases = []
        self.cfg = cfg
        self.runs = []
        self.facts = {}
        self.env = environment(cfg)
        # Backends with one live run per process (ClearML offline) may suspend a parent while
        # its child runs and continue it afterwards; off unless a workflow asks, so misuse is loud.
        self.sequential_children = sequential_children
        # Phases (python/README.md): phase N > 1 continues the manifest phase N-1 wrote.
        self.phase = int(os.environ.get("E2E_PHASE") or 1)
        self.prior = {}  # key -> run dict from the earlier phase, until resumed
        self._order = []  # run keys in manifest order
        if self.phase > 1:
            with open(cfg["manifest"]) as f:
                doc = json.load(f)
            if doc.get("backend") != self.backend:
                raise SystemExit(f"manifest {cfg['manifest']} is for {doc.get('backend')}, not {self.backend}")
            for r in doc.get("runs", []):
                self.prior[r["key"]] = r
                self._order.append(r["key"])
            self.facts = dict(doc.get("facts", {}))
            self._prior_phases = list(doc.get("phases", []))
        # The harness may see a crash at any point: make the manifest truthful at exit too.
        atexit.register(self._at_exit)

    def start_run(self, key, name, tags=None, parent=None, **backend_options):
        """backend_options go to the backend's _sdk_start (e.g. ClearML capture_tensorboard)."""
        if any(r.key == key for r in self.runs) or key in self.prior:
            raise ValueError(f"run key {key!r} already used")
        run = self.run_class(self, key, name, tags, parent)
        run.backend_options = backend_options
        with self.timed("sdkStartMs"):
            run._sdk_start()  # listed only once the backend has a run to compare against
        self._add(run)
        return run

    def adopt_run(self, key, name, run_id, tags=None, parent=None, **extra):
        """A run an integration created itself (Lightning's MLFlowLogger/WandbLogger): the
        adapter records it and can log to it, but does not create it."""
        if any(r.key == key for r in self.runs) or key in self.prior:
            raise ValueError(f"run key {key!r} already used")
        run = self.run_class(self, key, name, tags, parent)
        run.backend_options = {}
        with self.timed("sdkStartMs"):
            run._sdk_adopt(run_id, **extra)
        self._add(run)
        return run

    def resume_run(self, key):
        """Continue the run an earlier phase recorded under key (same backend run id)."""
        doc = self.prior.get(key)
        if doc is None:
            raise ValueError(f"no run {key!r} in the earlier phase's manifest")
        parent = next((r for r in self.runs if r.key == doc.get("parent")), None)
        run = self.run_class(self, key, doc["name"], doc.get("tags"), parent)
        run.backend_options = {}
        run.restore(doc)
        with self.timed("sdkStartMs"):
            run._sdk_resume()
        del self.prior[key]
        self._add(run)
        return run

    def _add(self, run):
        self.runs.append(run)
        if run.key not in self._order:
            self._order.append(run.key)
        self.write_manifest()

    def close(self):
        # Children first: a backend may require them to end before their parent.
        for run in reversed(self.runs):
            if run.status == "RUNNING":
                try:
                    run.finish("FAILED")
                except Exception as e:  # keep closing the others; the manifest says FAILED
                    print(f"e2e_track: closing run {run.key} failed: {e!r}", file=sys.stderr)
                    run.status = "FAILED"
        self.write_manifest()

    def _at_exit(self):
        for run in self.runs:
            if run.status == "RUNNING":
                run.status = "FAILED"
        self.write_manifest()
        # Last: the interpreter's teardown, whose garbage collections over every object torch,
        # sympy and the SDKs' pydantic models made cost about 1 s of CPU per process (5-7 s on a
        # loaded 2-core box); frozen, those objects are skipped by the collector. The SDKs' exit
        # hooks still run (those registered after this one, at run start, already have; those
        # registered at import run next) and objects still go when their last reference does.
        gc.freeze()

    @contextlib.contextmanager
    def timed(self, what):
        t = time.perf_counter()
        try:
            yield
        finally:
            self.timing[what] += (time.perf_counter() - t) * 1000

    def phases(self):
        """One entry per process (a resumed workflow has two): startup, SDK start, logging calls,
        SDK finish, and training (the rest of the process's time since start-up, logging included)."""
        wall = (time.time() - self._t0) * 1000
        t = self.timing
        mine = {"phase": self.phase, "startupMs": t["startupMs"],
                **{k: round(t[k], 1) for k in ("sdkStartMs", "sdkLogMs", "sdkFinishMs")},
                "trainMs": round(wall - t["sdkStartMs"] - t["sdkFinishMs"], 1)}
        return self._prior_phases + [mine]

    def write_manifest(self):
        live = {r.key: r for r in self.runs}
        runs = [live[k].to_manifest() if k in live else self.prior[k] for k in self._order]
        doc = {"schema": 1, "backend": self.backend, "workflow": self.cfg.get("workflow", ""),
               "environment": self.env, "runs": runs, "phases": self.phases()}
        if self.facts:
            doc["facts"] = self.facts
        path = self.cfg["manifest"]
        tmp = f"{path}.tmp{os.getpid()}"
        with open(tmp, "w") as f:
            json.dump(doc, f, indent=1, allow_nan=False)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
