"""Post-import hooks: when one of the SDK modules below has been executed, patch it.

A meta-path finder that asks the other finders for the real spec and wraps only its loader's
exec_module, so the module loads exactly as it would and is patched before anything imports
names from it (wandb/__init__ binds `Run.log` at import time: the patch must come first).
"""
import importlib
import importlib.abc
import sys
import threading

# module -> (our module, function) called as function(module, recorder) once it has loaded.
TARGETS = {
    "mlflow.tracking._tracking_service.client": ("sdk_mlflow", "patch_tracking_client"),
    "mlflow.tracking.client": ("sdk_mlflow", "patch_client"),
    "wandb.sdk.wandb_run": ("sdk_wandb", "patch_run"),
    "wandb.sdk.wandb_init": ("sdk_wandb", "patch_init"),
    "clearml.task": ("sdk_clearml", "patch_task"),
    "clearml.logger": ("sdk_clearml", "patch_logger"),
    "clearml.model": ("sdk_clearml", "patch_model"),
    "clearml.utilities.check_updates": ("sdk_clearml", "isolate_update_check"),
    "clearml.config.cache": ("sdk_clearml", "isolate_session_cache"),
}


def _apply(name, module, rec):
    ours, fn = TARGETS[name]
    try:
        getattr(importlib.import_module(f"{__package__}.{ours}"), fn)(module, rec)
    except Exception as e:  # a changed SDK must not break the script: the record says so
        rec.error(f"patching {name}", e)


class _PatchingLoader:
    def __init__(self, loader, name, rec):
        self._loader, self._name, self._rec = loader, name, rec

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        self._loader.exec_module(module)
        _apply(self._name, module, self._rec)

    def __getattr__(self, attr):
        return getattr(self._loader, attr)


class _Finder(importlib.abc.MetaPathFinder):
    def __init__(self, rec):
        self.rec = rec
        self.busy = threading.local()

    def find_spec(self, name, path, target=None):
        if name not in TARGETS or getattr(self.busy, "on", False):
            return None
        self.busy.on = True
        try:
            spec = None
            for finder in sys.meta_path:
                if finder is self or not hasattr(finder, "find_spec"):
                    continue
                spec = finder.find_spec(name, path, target)
                if spec is not None:
                    break
        finally:
            self.busy.on = False
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        spec.loader = _PatchingLoader(spec.loader, name, self.rec)
        return spec


def install_import_hooks(rec):
    sys.meta_path.insert(0, _Finder(rec))
    for name in TARGETS:  # already imported (not at start-up, but install() may come late)
        if name in sys.modules:
            _apply(name, sys.modules[name], rec)
