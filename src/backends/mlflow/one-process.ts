/**
 * `mlflow server` in one interpreter. MLflow's CLI imports MLflow, prepares the store, then starts
 * uvicorn as a second Python (`python -m uvicorn ... mlflow.server.fastapi_app:app`) that imports
 * MLflow all over again: about 3 s of CPU on a 2-core box, on the critical path of every native
 * run. This runs the same CLI command with the same options; only its one-worker uvicorn command
 * runs inside the CLI's process (uvicorn's own `main` with the very arguments MLflow built, the
 * environment MLflow gave the child set here) instead of a child. The app, its store and its
 * routes are MLflow's own. Anything else (more workers, gunicorn, an MLflow without that hook)
 * runs exactly as `mlflow server` would.
 *
 * argv: python -c ONE_PROCESS_MLFLOW mlflow server [options] (reads like the command it runs).
 */
export const ONE_PROCESS_MLFLOW = `
import os, sys
import mlflow.server as server
from mlflow.cli import cli

spawn = getattr(server, "_exec_cmd", None)


class InProcess:
    """What MLflow expects back from _exec_cmd (a Popen): uvicorn serves in this process."""

    def __init__(self, args):
        self.args, self.code = args, None

    def poll(self):
        return self.code

    def send_signal(self, signum):
        pass  # uvicorn handles SIGTERM and SIGINT itself while it serves

    def wait(self):
        from uvicorn.main import main as uvicorn_cli
        try:
            uvicorn_cli.main(args=self.args, prog_name="uvicorn", standalone_mode=False)
            self.code = 0
        except SystemExit as e:
            self.code = e.code if isinstance(e.code, int) else 1
            raise
        return self.code


def one_worker(cmd):
    return "--workers" in cmd and cmd[cmd.index("--workers") + 1 :][:1] == ["1"]


def exec_cmd(cmd, *args, extra_env=None, synchronous=True, **kwargs):
    if not synchronous and list(cmd[1:3]) == ["-m", "uvicorn"] and one_worker(list(cmd)):
        os.environ.update(extra_env or {})
        return InProcess(list(cmd[3:]))
    return spawn(cmd, *args, extra_env=extra_env, synchronous=synchronous, **kwargs)


if spawn is not None:
    server._exec_cmd = exec_cmd
cli.main(args=sys.argv[2:], prog_name=sys.argv[1])
`;
