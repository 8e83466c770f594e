"""Which outputs exist: built-ins plus the ``horde.outputs`` entry points of installed distributions.

Discovery reads distribution metadata only; a plugin's code is imported when
it is first used (or inspected by ``horde plugins``). A plugin that fails to
import is recorded as broken and breaks nothing that does not use it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import sys
from typing import Any, Callable, Iterable, Mapping

import importlib_metadata

from .errors import DuplicateOutputError, OutputLoadError, UnknownOutputError, describe_exception

__all__ = [
    "ENTRY_POINT_GROUP",
    "Provider",
    "OutputPlugin",
    "OutputRegistry",
    "load_registry",
    "default_registry",
    "register_extension",
]

ENTRY_POINT_GROUP = "horde.outputs"
"""The entry-point group output distributions declare their outputs in."""

BUILTIN_OUTPUTS: dict[str, str] = {"json": "horde.outputs.json:JsonOutput"}
"""Outputs shipped in the core, as ``name: "module:attribute"``."""

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


@dataclasses.dataclass(frozen=True)
class Provider:
    """Who provides an output: a distribution and its version, or code that registered it."""

    distribution: str
    version: str | None = None
    builtin: bool = False

    @property
    def key(self) -> str:
        """The normalized distribution name (PEP 503), identity of a provider."""
        return re.sub(r"[-_.]+", "-", self.distribution).lower()

    def __str__(self) -> str:
        text = f"{self.distribution} {self.version}" if self.version else self.distribution
        return f"{text} (built-in)" if self.builtin else text


class OutputPlugin:
    """One registered output: its name, provider, and a factory loaded on first use."""

    def __init__(self, name: str, provider: Provider, target: str, loader: Callable[[], Any]) -> None:
        self.name = name
        self.provider = provider
        self.target = target
        """Where the factory lives, as ``module:attribute``."""
        self._loader = loader
        self._factory: Any = None
        self._error: OutputLoadError | None = None

    def load(self) -> Callable[..., Any]:
        """Import and return the factory; raise :class:`OutputLoadError` (one line) if it cannot be."""
        if self._factory is None and self._error is None:
            try:
                # what a plugin prints while importing goes to stderr: stdout may carry data (--json, json=-)
                with contextlib.redirect_stdout(sys.stderr):
                    factory = self._loader()
                if not callable(factory):
                    raise TypeError(f"{self.target} is not callable")
                self._factory = factory
            except (Exception, SystemExit) as exc:  # any import-time failure makes the plugin broken
                self._error = OutputLoadError(
                    f"output '{self.name}' from {self.provider} is broken: cannot load {self.target}: "
                    f"{describe_exception(exc)}"
                )
                self._error.__cause__ = exc
        if self._error is not None:
            raise self._error
        return self._factory

    @property
    def broken(self) -> str | None:
        """None when the plugin loads, else the one-line reason (loads it to find out)."""
        try:
            self.load()
        except OutputLoadError as exc:
            return str(exc)
        return None

    def __repr__(self) -> str:
        return f"OutputPlugin({self.name!r}, {self.provider})"


class OutputRegistry:
    """Output names to :class:`OutputPlugin`; a name may be registered only once."""

    def __init__(self) -> None:
        self._plugins: dict[str, OutputPlugin] = {}

    def register_extension(
        self,
        name: str,
        factory: Callable[..., Any],
        *,
        provider: Provider | None = None,
    ) -> OutputPlugin:
        """Register ``factory`` as the output ``name`` (k6's ``output.RegisterExtension``).

        Raises :class:`DuplicateOutputError`, naming both providers, if another
        provider has the name already. The same provider registering again
        (a distribution seen twice on ``sys.path``) is not a duplicate.
        """
        if provider is None:
            provider = Provider(getattr(factory, "__module__", None) or "unknown")
        target = f"{getattr(factory, '__module__', '?')}:{getattr(factory, '__qualname__', repr(factory))}"
        return self._add(OutputPlugin(name, provider, target, lambda: factory))

    def _add(self, plugin: OutputPlugin) -> OutputPlugin:
        if not _valid_name(plugin.name):
            raise OutputLoadError(f"invalid output name {plugin.name!r} from {plugin.provider}")
        existing = self._plugins.get(plugin.name)
        if existing is not None:
            if existing.provider.key == plugin.provider.key:
                return existing
            raise DuplicateOutputError(plugin.name, existing.provider, plugin.provider)
        self._plugins[plugin.name] = plugin
        return plugin

    def register_entry_point(self, ep: "importlib_metadata.EntryPoint", *, builtin: bool = False) -> OutputPlugin:
        """Register an entry point of group ``horde.outputs`` without importing it."""
        dist = ep.dist
        provider = Provider(dist.name if dist else ep.value, dist.version if dist else None, builtin)
        if not _valid_name(ep.name):
            # an installed distribution's mistake: listed as broken, it must not break discovery
            plugin = OutputPlugin(ep.name, provider, ep.value, _refuse(f"invalid output name {ep.name!r}"))
            self._plugins.setdefault(ep.name, plugin)
            return plugin
        return self._add(OutputPlugin(ep.name, provider, ep.value, ep.load))

    def get(self, name: str) -> OutputPlugin:
        """The output called ``name``; :class:`UnknownOutputError` listing the installed ones if none."""
        try:
            return self._plugins[name]
        except KeyError:
            raise UnknownOutputError(name, list(self._plugins)) from None

    def names(self) -> list[str]:
        """Every registered output name, sorted."""
        return sorted(self._plugins)

    def plugins(self) -> list[OutputPlugin]:
        """Every registered output, sorted by name."""
        return [self._plugins[n] for n in self.names()]

    def __contains__(self, name: str) -> bool:
        return name in self._plugins


def _valid_name(name: object) -> bool:
    return isinstance(name, str) and _NAME_RE.fullmatch(name) is not None


def _refuse(reason: str) -> Callable[[], Any]:
    def load() -> Any:
        raise ValueError(reason)

    return load


def _horde_provider() -> Provider:
    from .. import __version__

    return Provider("horde", __version__, builtin=True)


def _builtin_loader(target: str) -> Callable[[], Any]:
    def load() -> Any:
        return importlib_metadata.EntryPoint(name="", value=target, group=ENTRY_POINT_GROUP).load()

    return load


def load_registry(environ: Mapping[str, str] | None = None, *, only: Iterable[str] = ()) -> OutputRegistry:
    """A registry of the built-in outputs plus installed plugins.

    With ``HORDE_DISABLE_PLUGIN_AUTOLOAD=1`` only built-ins are loaded, plus
    the plugins named in ``only`` and in ``HORDE_PLUGINS`` (comma list).
    """
    env = os.environ if environ is None else environ
    registry = OutputRegistry()
    horde = _horde_provider()
    for name, target in BUILTIN_OUTPUTS.items():
        registry._add(OutputPlugin(name, horde, target, _builtin_loader(target)))
    wanted: set[str] | None = None
    if env.get("HORDE_DISABLE_PLUGIN_AUTOLOAD", "").strip().lower() in ("1", "true", "yes", "on"):
        wanted = {n.strip() for n in env.get("HORDE_PLUGINS", "").split(",") if n.strip()} | set(only)
        wanted |= {Provider(n).key for n in wanted}  # distribution names in any spelling
    for ep in importlib_metadata.entry_points(group=ENTRY_POINT_GROUP):
        if wanted is not None and ep.name not in wanted and (ep.dist is None or Provider(ep.dist.name).key not in wanted):
            continue
        registry.register_entry_point(ep)
    return registry


_default: OutputRegistry | None = None


def default_registry() -> OutputRegistry:
    """The process-wide registry, discovered on first use."""
    global _default
    if _default is None:
        _default = load_registry()
    return _default


def register_extension(name: str, factory: Callable[..., Any], *, provider: Provider | None = None) -> OutputPlugin:
    """Register an output in the process-wide registry (k6's ``output.RegisterExtension``)."""
    return default_registry().register_extension(name, factory, provider=provider)
