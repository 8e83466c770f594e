"""Loading a test script: a Python module with ``options``, ``default`` and optional ``setup``/``teardown``."""

from __future__ import annotations

import dataclasses
import importlib.util
import inspect
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from ..errors import ExitCode, UserError

__all__ = ["Script", "load_script", "ScriptError", "script_traceback", "prepare_call", "require_async"]

_SIGNATURES = {"default": "default(data)", "setup": "setup()", "teardown": "teardown(data)"}


class ScriptError(UserError):
    """The script failed while loading (k6's init context) or in setup/teardown: exit 107."""

    def __init__(self, message: str) -> None:
        super().__init__(message, ExitCode.SCRIPT_EXCEPTION)


@dataclasses.dataclass
class Script:
    """A loaded script: its module, options and entry functions."""

    path: Path
    module: ModuleType
    options: dict[str, Any]
    default: Callable[..., Any] | None
    setup: Callable[..., Any] | None
    teardown: Callable[..., Any] | None
    handle_summary: Callable[..., Any] | None = None
    """``handle_summary(data)`` (or k6's name ``handleSummary``): plain or async; may return {target: text}."""

    @property
    def file(self) -> str:
        """The file name the script's code objects carry (``co_filename``): how its frames are recognised."""
        return getattr(self.module, "__file__", None) or str(self.path.resolve())

    def function(self, name: str) -> Callable[..., Any]:
        """The exported function ``name`` (a scenario's ``exec``); ScriptError if missing."""
        fn = getattr(self.module, name, None)
        if not callable(fn):
            raise UserError(
                f"function '{name}' (a scenario's exec) is not defined in {self.path.name}", ExitCode.INVALID_CONFIG
            )
        require_async(fn, name, self.path)
        return fn


def _is_async(fn: Any) -> bool:
    call = vars(type(fn)).get("__call__")  # an object whose class has an async __call__
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(call)


def require_async(fn: Any, name: str, path: Path) -> None:
    """ScriptError (exit 107) unless ``fn`` is an ``async def`` function: horde awaits every entry function."""
    if fn is not None and not _is_async(fn):
        signature = _SIGNATURES.get(name, f"{name}(data)")
        raise ScriptError(
            f"{path.name}: {name} must be declared `async def {signature}:` "
            f"(it is a plain def; horde awaits it, so write async def and await horde calls)"
        )


def script_traceback(exc: BaseException, path: Path) -> str:
    """``Type: message at file:line (fn)`` for the innermost frame in the script, on one line."""
    where = ""
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if Path(frame.filename).resolve() == path.resolve():
            where = f" at {path.name}:{frame.lineno} ({frame.name})"
            break
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}{where}" if text else f"{type(exc).__name__}{where}"


def load_script(path: str | Path) -> Script:
    """Import the script at ``path`` as a fresh module; any error is a one-line :class:`ScriptError`."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"script not found: {path}", ExitCode.GENERIC)
    name = f"horde_script_{abs(hash(str(path.resolve())))}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise UserError(f"cannot load {path}: not a Python file", ExitCode.GENERIC)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    script_dir = str(path.resolve().parent)
    added = script_dir not in sys.path
    if added:
        sys.path.insert(0, script_dir)
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        raise ScriptError(f"{path.name}:{exc.lineno}: SyntaxError: {exc.msg}") from exc
    except Exception as exc:
        raise ScriptError(f"script {path.name} failed to load: {script_traceback(exc, path)}") from exc
    options = getattr(module, "options", None) or {}
    if not isinstance(options, dict):
        raise UserError(f"{path.name}: options must be a dict, not {type(options).__name__}", ExitCode.INVALID_CONFIG)

    def fn(attr: str) -> Callable[..., Any] | None:
        value = getattr(module, attr, None)
        if value is not None and not callable(value):
            raise UserError(f"{path.name}: {attr} must be a function", ExitCode.INVALID_CONFIG)
        return value

    entries = {attr: fn(attr) for attr in ("default", "setup", "teardown")}
    for attr, value in entries.items():
        require_async(value, attr, path)
    summary_fn = fn("handle_summary") or fn("handleSummary")
    return Script(path, module, dict(options), entries["default"], entries["setup"], entries["teardown"], summary_fn)


def prepare_call(fn: Callable[..., Any], *max_args: Any) -> Callable[..., Any]:
    """An async callable running ``fn`` with as many positional args as it accepts (at most ``len(max_args)``).

    Signature inspection happens once, here, not per call.
    """
    try:
        params = inspect.signature(fn).parameters.values()
        n = len([p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)])
        exact = n == len(max_args) and not any(p.kind is p.VAR_POSITIONAL for p in params)
    except (TypeError, ValueError):
        n, exact = 1, False
    if inspect.iscoroutinefunction(fn):
        if exact:
            return fn  # takes exactly the arguments given: no wrapper (this is the hot path's call)
        if n == 0:
            return lambda *args: fn()
        return lambda *args: fn(*args[:n])

    async def sync_call(*args: Any) -> Any:
        result = fn(*args[:n])
        if inspect.isawaitable(result):
            result = await result
        return result

    return sync_call
