"""Turning a registered output into a running instance with validated hooks."""

from __future__ import annotations

import difflib
import inspect
from typing import Any, Callable

import pluggy

from . import hookspecs
from .errors import OutputConfigError, OutputValidationError, describe_exception
from .params import Params
from .registry import OutputPlugin

__all__ = ["OutputInstance", "new_plugin_manager", "create_output", "bind_output", "implemented_hooks"]

HOOK_NAMES: tuple[str, ...] = tuple(
    name for name, fn in vars(hookspecs).items() if callable(fn) and hasattr(fn, "horde_spec")
)
"""Every hook of the output contract."""


def new_plugin_manager() -> pluggy.PluginManager:
    """A pluggy manager (project ``horde``) with the output hookspecs: one per run."""
    pm = pluggy.PluginManager("horde")
    pm.add_hookspecs(hookspecs)
    return pm


class OutputInstance:
    """A started-or-not output object plus direct references to its hook functions.

    ``hooks`` maps hook name to the bound implementation, so the manager calls
    each output on its own (one failing output cannot stop the others) and
    without pluggy's dispatch on the hot path.
    """

    def __init__(self, name: str, obj: Any, hooks: dict[str, Callable[..., Any]], plugin: OutputPlugin | None = None):
        self.name = name
        self.obj = obj
        self.hooks = hooks
        self.plugin = plugin

    def description(self) -> str:
        """The output's ``description()``, or its name if that fails."""
        try:
            return str(self.hooks["description"]())
        except Exception:
            return self.name

    def __repr__(self) -> str:
        return f"OutputInstance({self.name!r}, {self.obj!r})"


def _where(obj: Any) -> str:
    try:
        fn = inspect.unwrap(obj)
        return f"{inspect.getsourcefile(fn)}:{inspect.getsourcelines(fn)[1]}"
    except (TypeError, OSError):
        return repr(obj)


def _who(name: str, plugin: OutputPlugin | None) -> str:
    return f"output '{name}' ({plugin.provider})" if plugin is not None else f"output '{name}'"


def bind_output(name: str, obj: Any, pm: pluggy.PluginManager, plugin: OutputPlugin | None = None) -> OutputInstance:
    """Register ``obj`` with ``pm`` and check its hooks.

    Raises :class:`OutputValidationError` naming the plugin, the hook and the
    file for: a signature pluggy rejects, a marked hook that is not in the
    contract, or a missing required hook.
    """
    who = _who(name, plugin)
    plugin_name = f"{name}@{id(obj):x}"
    try:
        pm.register(obj, name=plugin_name)
    except pluggy.PluginValidationError as exc:
        hook = _hook_of_validation_error(str(exc))
        impl = getattr(obj, hook, None) if hook else None
        detail = " ".join(str(exc).split("\n")[-1:]).strip()
        raise OutputValidationError(
            f"{who}: hook '{hook}' at {_where(impl) if impl else type(obj).__module__} does not match the hookspec: {detail}"
        ) from exc
    hooks: dict[str, Callable[..., Any]] = {}
    try:
        for caller in pm.get_hookcallers(obj) or []:
            impls = [i for i in caller.get_hookimpls() if i.plugin is obj]
            if not caller.has_spec():
                close = difflib.get_close_matches(caller.name, HOOK_NAMES, n=1)
                hint = f"; did you mean '{close[0]}'?" if close else f"; hooks are: {', '.join(HOOK_NAMES)}"
                raise OutputValidationError(
                    f"{who}: unknown hook '{caller.name}' at {_where(impls[0].function)}{hint}"
                )
            hooks[caller.name] = impls[0].function
        missing = [h for h in hookspecs.REQUIRED_HOOKS if h not in hooks]
        if missing:
            hook = missing[0]
            unmarked = getattr(obj, hook, None)
            if unmarked is not None:
                why = f"'{hook}' at {_where(unmarked)} is not marked with @horde.output.hookimpl"
            else:
                why = f"required hook '{hook}' is missing in {_where(type(obj))}"
            raise OutputValidationError(f"{who}: {why}")
    except OutputValidationError:
        pm.unregister(obj)
        raise
    return OutputInstance(name, obj, hooks, plugin)


def _hook_of_validation_error(text: str) -> str | None:
    for part in text.split("'"):
        if part in HOOK_NAMES:
            return part
    import re

    m = re.search(r"for hook '?(\w+)'?", text)
    return m.group(1) if m else None


def create_output(plugin: OutputPlugin, params: Params, pm: pluggy.PluginManager) -> OutputInstance:
    """Load ``plugin``, call its factory with ``params`` and bind the result to ``pm``."""
    factory = plugin.load()
    try:
        obj = factory(params)
    except OutputValidationError:
        raise
    except Exception as exc:
        raise OutputConfigError(f"could not create the '{plugin.name}' output: {describe_exception(exc)}") from exc
    return bind_output(plugin.name, obj, pm, plugin)


def implemented_hooks(plugin: OutputPlugin) -> list[str] | None:
    """The hooks a plugin's factory implements, found without calling it; None if unknown.

    Works when the factory is a class, or a function annotated to return one.
    """
    factory = plugin.load()
    cls = factory if inspect.isclass(factory) else None
    if cls is None:
        ret = inspect.Signature.empty
        for eval_str in (True, False):  # True resolves "Cls" under ``from __future__ import annotations``
            try:
                ret = inspect.signature(factory, eval_str=eval_str).return_annotation
                break
            except Exception:
                continue
        cls = ret if inspect.isclass(ret) and ret is not inspect.Signature.empty else None
    if cls is None:
        return None
    marker = "horde_impl"
    return [h for h in HOOK_NAMES if hasattr(getattr(cls, h, None), marker)]
