"""Turning a registered output into a running instance with validated hooks."""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Callable
from typing import Any

import pluggy

from . import hookspecs
from .errors import OutputConfigError, OutputValidationError, describe_exception
from .params import Params
from .registry import OutputPlugin

__all__ = [
    "HOOK_ARGS",
    "HOOK_NAMES",
    "OutputInstance",
    "new_plugin_manager",
    "create_output",
    "bind_output",
    "check_signatures",
    "implemented_hooks",
]

HOOK_ARGS: dict[str, tuple[str, ...]] = {
    name: tuple(p for p in inspect.signature(fn).parameters if p != "self")
    for name, fn in vars(hookspecs).items()
    if callable(fn) and hasattr(fn, "horde_spec")
}
"""Every hook of the output contract and its argument names, read from :mod:`horde.output.hookspecs`."""

HOOK_NAMES: tuple[str, ...] = tuple(HOOK_ARGS)
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
    return f"output '{name}' ({plugin.origin})" if plugin is not None else f"output '{name}'"


def _marked(obj: Any) -> list[str]:
    """Names of ``obj``'s attributes marked with ``@hookimpl`` (as pluggy finds them)."""
    names = []
    for attr in dir(obj):
        try:
            if hasattr(getattr(obj, attr, None), "horde_impl"):
                names.append(attr)
        except Exception:  # a property raising is no hook
            continue
    return names


def _signature_text(hook: str, impl: Callable[..., Any]) -> tuple[tuple[str, ...], str]:
    """The positional argument names of ``impl`` (the Manager calls hooks positionally), and
    ``hook(self, ...)`` for messages; a ``*args``, ``**kw`` or keyword-only argument never matches."""
    try:
        sig = inspect.signature(impl)
    except (TypeError, ValueError):
        return ("?",), f"{hook}(?)"
    params = [p.replace(annotation=p.empty, default=p.empty) for p in sig.parameters.values()]
    shown = str(sig.replace(parameters=params, return_annotation=sig.empty))[1:-1]
    if inspect.ismethod(impl):
        shown = f"self, {shown}" if shown else "self"
    plain = all(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in params)
    names = tuple(p.name for p in params) if plain else ("?",)
    return names, f"{hook}({shown})"


def check_signatures(name: str, obj: Any, plugin: OutputPlugin | None = None) -> None:
    """Refuse any marked hook whose arguments differ from its hookspec's in names or count.

    Stricter than pluggy, which accepts fewer arguments (``def stop(self)``
    would then fail at the end of the run and lose the final flush).
    """
    for hook in _marked(obj):
        expected = HOOK_ARGS.get(hook)
        if expected is None:
            continue  # an unknown hook: reported with a suggestion by bind_output
        impl = getattr(obj, hook)
        names, shown = _signature_text(hook, impl)
        if names != expected:
            raise OutputValidationError(
                f"{_who(name, plugin)}: hook '{shown}' at {_where(impl)} must take ({', '.join(expected)})"
            )


def _check_is_output(name: str, obj: Any, plugin: OutputPlugin | None) -> None:
    factory = f"factory {plugin.target}" if plugin is not None else "factory"
    if obj is None:
        raise OutputValidationError(f"{_who(name, plugin)}: the {factory} returned None, not an output object")
    if inspect.isclass(obj):
        raise OutputValidationError(
            f"{_who(name, plugin)}: the {factory} returned the class {obj.__qualname__}, not an instance of it"
        )
    if not _marked(obj) and not any(callable(getattr(obj, h, None)) for h in HOOK_NAMES):
        kind = type(obj).__name__
        raise OutputValidationError(
            f"{_who(name, plugin)}: the {factory} returned {'an' if kind[:1].lower() in 'aeiou' else 'a'} {kind} "
            "with no hooks (mark the output's methods with @horde.output.hookimpl)"
        )


def _check_description(name: str, hooks: dict[str, Callable[..., Any]], plugin: OutputPlugin | None) -> None:
    fn = hooks.get("description")
    if fn is None:
        return
    try:
        text = fn()
    except Exception:  # a description that fails is replaced by the name (OutputInstance.description)
        return
    if not isinstance(text, str):
        raise OutputValidationError(
            f"{_who(name, plugin)}: hook 'description()' at {_where(fn)} must return a str, "
            f"not {type(text).__name__} {_short(repr(text))}"
        )


def _short(text: str, limit: int = 40) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def bind_output(name: str, obj: Any, pm: pluggy.PluginManager, plugin: OutputPlugin | None = None) -> OutputInstance:
    """Check that ``obj`` is an output, register it with ``pm`` and return its hooks.

    Raises :class:`OutputValidationError`, one line naming the output, its
    provider, the hook and the file, for: None or an object without hooks; a
    hook whose arguments differ from the hookspec (names and count, required
    and optional hooks alike); a marked hook that is not in the contract; a
    missing required hook.
    """
    who = _who(name, plugin)
    _check_is_output(name, obj, plugin)
    check_signatures(name, obj, plugin)
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
                raise OutputValidationError(f"{who}: unknown hook '{caller.name}' at {_where(impls[0].function)}{hint}")
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
    """Load ``plugin``, call its factory with ``params`` and bind the result to ``pm``.

    Besides :func:`bind_output`'s checks, calls ``description()`` once and
    raises :class:`OutputValidationError` if it does not return a str.
    """
    factory = plugin.load()
    try:
        obj = factory(params)
    except OutputValidationError:
        raise
    except Exception as exc:
        raise OutputConfigError(f"could not create the '{plugin.name}' output: {describe_exception(exc)}") from exc
    instance = bind_output(plugin.name, obj, pm, plugin)
    try:
        _check_description(plugin.name, instance.hooks, plugin)
    except OutputValidationError:
        pm.unregister(obj)
        raise
    return instance


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
