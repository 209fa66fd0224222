"""Fixtures: a throwaway git repo per run, the real workflow, a real MLflow server.

Runs go through the same steps as the harness (python/README.md): train.py committed in a
fresh repo, config.json, E2E_CONFIG, PYTHONPATH=python/. Offline backends run without a
network (unshare -n) where possible, and every connection attempt is audited.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

PYDIR = Path(__file__).resolve().parents[1]  # python/
HERE = Path(__file__).resolve().parent
SMALL = {"steps": 30, "batch_size": 16, "image_size": 12, "classes": 3}


def git(repo, *args):
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                          text=True).stdout.strip()


def can_unshare():
    return shutil.which("unshare") and subprocess.run(
        ["unshare", "-n", "true"], capture_output=True).returncode == 0


class Work:
    def __init__(self, root, backend, tracking_uri=None, script=None, sizes=None):
        self.root, self.backend = root, backend
        self.repo = root / "repo"
        self.repo.mkdir(parents=True)
        shutil.copyfile(script or PYDIR / "workflows" / "cnn.py", self.repo / "train.py")
        git(self.repo, "init", "-q", "-b", "main")
        git(self.repo, "add", "train.py")
        git(self.repo, "-c", "user.name=e2e", "-c", "user.email=e2e@example.invalid",
            "commit", "-q", "-m", "train")
        self.commit = git(self.repo, "rev-parse", "HEAD")
        self.cfg = {
            "backend": backend, "workflow": "cnn", "tracking_uri": tracking_uri,
            "offline": tracking_uri is None, "experiment": f"e2e-test-{root.name}",
            "run_name": "cnn", "manifest": str(root / "manifest.json"),
            "work_dir": str(root), "tensorboard_dir": str(root / "tb"),
            "sizes": sizes or SMALL, "seed": 0, "device": "auto"}
        (root / "config.json").write_text(json.dumps(self.cfg))
        self.net_log = root / "net.log"
        self.strace_log = root / "strace.log"

    def run(self, offline_net=None, timeout=300):
        if offline_net is None:  # offline backends get no network; MLflow needs its server
            offline_net = self.cfg["offline"]
        home = self.root / "home"  # nothing may rely on (or write to) the real ~
        home.mkdir(exist_ok=True)
        env = {**os.environ, "E2E_CONFIG": str(self.root / "config.json"),
               # HERE first: its sitecustomize audits every socket the process opens.
               "PYTHONPATH": os.pathsep.join([str(HERE / "netaudit"), str(PYDIR)]),
               "E2E_NET_LOG": str(self.net_log), "HOME": str(home),
               "WANDB_SILENT": "true"}
        cmd = [sys.executable, "train.py"]
        if offline_net and shutil.which("strace"):
            # Also sees non-Python processes (wandb-core is a Go binary).
            cmd = ["strace", "-f", "-qq", "-e", "trace=connect", "-o", str(self.strace_log), *cmd]
        if offline_net and can_unshare():
            cmd = ["unshare", "-n", "sh", "-c", 'ip link set lo up && exec "$@"', "sh", *cmd]
        proc = subprocess.run(cmd, cwd=self.repo, env=env, capture_output=True, text=True,
                              timeout=timeout)
        self.stdout, self.stderr, self.returncode = proc.stdout, proc.stderr, proc.returncode
        mpath = Path(self.cfg["manifest"])
        self.manifest = json.loads(mpath.read_text()) if mpath.exists() else None
        return self

    def outside_connections(self):
        found = []
        if self.net_log.exists():
            found += [line for line in self.net_log.read_text().splitlines() if line]
        if self.strace_log.exists():
            for line in self.strace_log.read_text().splitlines():
                if "connect(" in line and ("AF_INET" in line) and not any(
                        local in line for local in ('"127.', '"::1"', '"::ffff:127.')):
                    found.append(line)
        return found


@pytest.fixture
def make_work(tmp_path):
    def make(backend, **kw):
        return Work(tmp_path / backend, backend, **kw)
    return make


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory):
    root = tmp_path_factory.mktemp("mlflow")
    port = free_port()
    mlflow_bin = Path(sys.executable).with_name("mlflow")
    log = open(root / "server.log", "w")
    proc = subprocess.Popen(
        [str(mlflow_bin), "server", "--backend-store-uri", f"sqlite:///{root}/mlflow.db",
         "--serve-artifacts", "--artifacts-destination", str(root / "artifacts"),
         "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    uri = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 120
        while True:
            try:
                if urllib.request.urlopen(f"{uri}/health", timeout=2).read() == b"OK":
                    break
            except OSError:
                pass
            if proc.poll() is not None or time.time() > deadline:
                raise RuntimeError(f"mlflow server did not start: {(root / 'server.log').read_text()}")
            time.sleep(0.5)
        yield uri
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # its own session: the uvicorn worker goes too
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()
