"""One way to wrap an SDK function: call it unchanged, then note what it was handed."""
import functools
import sys


def wrap(rec, sdk, owner, attr, after=None, call=None, kind="method", before=None, prepare=None):
    """Replace owner.attr with a wrapper that calls the original, then after(result, *args, **kw).

    Only the outermost wrapped call of a thread records (an SDK function calling another
    wrapped one is one call, not two). A call that raises records nothing: the script saw the
    error. before(*args, **kw), when given, runs first (a snapshot of state the call ends).
    prepare(args, kw) -> (args, kw), when given, may fill in a default the SDK would compute
    itself (MLflow's timestamp), so the record holds the exact value the SDK sends.
    kind is "method", "classmethod" or "function".
    """
    raw = owner.__dict__.get(attr) if isinstance(owner, type) else getattr(owner, attr, None)
    if raw is None and isinstance(owner, type) and kind == "method":
        raw = getattr(owner, attr, None)  # inherited: wrapped on this class, the base untouched
    if raw is None:
        return  # not in this SDK version: nothing to wrap
    if getattr(raw, "__e2e_wrapped__", False) or getattr(getattr(raw, "__func__", None), "__e2e_wrapped__", False):
        return
    original = raw.__func__ if kind == "classmethod" else raw
    name = call or f"{getattr(owner, '__name__', sdk)}.{attr}"

    @functools.wraps(original)
    def wrapper(*args, **kwargs):
        local = rec.local
        depth = getattr(local, "depth", 0)
        if depth:
            return original(*args, **kwargs)
        rec.count(sdk, name, _version(sdk))
        local.depth = 1
        try:
            if prepare is not None:
                try:
                    args, kwargs = prepare(args, kwargs)
                except Exception as e:
                    rec.error(name, e)
            if before is not None:
                try:
                    before(*args, **kwargs)
                except Exception as e:
                    rec.error(name, e)
            result = original(*args, **kwargs)
            if after is not None:
                try:
                    after(result, *args, **kwargs)
                except Exception as e:
                    rec.error(name, e)
        finally:
            local.depth = 0
        rec.install_signals()
        rec.maybe_write()
        return result

    wrapper.__e2e_wrapped__ = True
    setattr(owner, attr, classmethod(wrapper) if kind == "classmethod" else wrapper)


def note_only(rec, sdk, owner, attr, what, call=None, kind="method"):
    """Wrap a call whose effect cannot be verified: it is listed in the record, not checked."""
    name = call or f"{getattr(owner, '__name__', sdk)}.{attr}"
    wrap(rec, sdk, owner, attr, after=lambda *_a, **_k: rec.note(sdk, name, what), call=name, kind=kind)


def caller_module(depth=2):
    try:
        return sys._getframe(depth).f_globals.get("__name__", "")
    except ValueError:
        return ""


_versions = {}


def _version(sdk):
    if sdk not in _versions:
        try:
            from importlib import metadata

            _versions[sdk] = metadata.version(sdk)
        except Exception:
            _versions[sdk] = None
    return _versions[sdk]


def arg(args, kwargs, index, name, default=None):
    """A call's argument by position (counting self) or keyword."""
    if name in kwargs:
        return kwargs[name]
    return args[index] if len(args) > index else default
