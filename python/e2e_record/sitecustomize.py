"""Loaded by Python's `site` at start-up because `e2e run --script` puts this folder first on
PYTHONPATH. With E2E_RECORD_DIR set it installs the recorder's import hooks (e2e_recorder);
either way it then runs the sitecustomize this one shadows, so a venv's or distribution's own
start-up code still runs."""
import os
import sys


def _chain():
    """Run the next sitecustomize on sys.path (the one ours hides), if there is one."""
    import importlib.machinery
    import importlib.util

    here = os.path.dirname(os.path.abspath(__file__))
    rest = [p for p in sys.path if os.path.abspath(p or ".") != here]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", rest)
    if spec is None or spec.loader is None:
        return
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)


if os.environ.get("E2E_RECORD_DIR"):
    try:
        import e2e_recorder

        e2e_recorder.install(os.environ["E2E_RECORD_DIR"])
    except Exception as e:  # the user's script must run even if the recorder cannot
        print(f"e2e_record: recorder not installed: {e!r}", file=sys.stderr)
try:
    _chain()
except Exception as e:
    print(f"e2e_record: the shadowed sitecustomize failed: {e!r}", file=sys.stderr)
