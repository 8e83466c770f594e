"""Which outputs exist: built-ins, the ``horde.outputs`` entry points of installed
distributions, and outputs registered in code with :func:`register_extension`.

There is one process-wide registry (:func:`default_registry`); ``horde run``,
``horde plugins`` and the Manager's outputs all come from it.

Discovery reads distribution metadata only; a plugin's code is imported when
it is first used (or inspected by ``horde plugins``). A plugin that fails to
import is recorded as broken and breaks nothing that does not use it. Two
installed distributions claiming one name are recorded as a conflict: the name
cannot be used, every other output can. A registration in code of a taken
name always raises :class:`DuplicateOutputError` (k6's ``RegisterExtension``
panics on any second registration).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import importlib_metadata

from .errors import (
    DuplicateOutputError,
    OutputLoadError,
    UnknownOutputError,
    describe_exception,
)

__all__ = [
    "ENTRY_POINT_GROUP",
    "OutputPlugin",
    "OutputRegistry",
    "Provider",
    "autoload_disabled",
    "default_registry",
    "installed_names",
    "load_registry",
    "register_extension",
    "is_valid_output_name",
]

ENTRY_POINT_GROUP = "horde.outputs"
"""The entry-point group output distributions declare their outputs in."""

BUILTIN_OUTPUTS: dict[str, str] = {"json": "horde.outputs.json:JsonOutput"}
"""Outputs shipped in the core, as ``name: "module:attribute"``."""

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


@dataclasses.dataclass(frozen=True)
class Provider:
    """The distribution that provides an output, and its version."""

    distribution: str
    version: str | None = None
    builtin: bool = False

    @property
    def key(self) -> str:
        """The normalized distribution name (PEP 503), identity of a provider."""
        return normalize(self.distribution)

    def __str__(self) -> str:
        text = f"{self.distribution} {self.version}" if self.version else self.distribution
        return f"{text} (built-in)" if self.builtin else text


def normalize(distribution: str) -> str:
    """A distribution name in PEP 503 form (``Horde_Out.CSV`` -> ``horde-out-csv``)."""
    return re.sub(r"[-_.]+", "-", distribution).lower()


class OutputPlugin:
    """One registered output: its name, where it comes from, and a factory loaded on first use.

    An output comes from a distribution (``provider``, an entry point or a
    built-in) or from code (``module`` called :func:`register_extension`;
    ``provider`` is then None unless the caller named one).
    """

    def __init__(
        self,
        name: str,
        provider: Provider | None,
        target: str,
        loader: Callable[[], Any],
        *,
        module: str | None = None,
        registered_at: str | None = None,
    ) -> None:
        self.name = name
        self.provider = provider
        self.target = target
        """Where the factory lives, as ``module:attribute`` (``module:qualname`` for code)."""
        self.module = module
        """The module that called :func:`register_extension`; None for entry points and built-ins."""
        self.registered_at = registered_at
        """``file:line`` of the :func:`register_extension` call; None for entry points and built-ins."""
        self._loader = loader
        self._factory: Callable[..., Any] | None = None
        self._error: OutputLoadError | None = None

    @property
    def source(self) -> str:
        """``"builtin"``, ``"entry_point"`` or ``"code"``."""
        if self.module is not None:
            return "code"
        return "builtin" if self.provider is not None and self.provider.builtin else "entry_point"

    @property
    def origin(self) -> str:
        """Who provides it, for one-line messages: ``horde-out-csv 1.0`` or ``mymod:MyOutput``."""
        return str(self.provider) if self.provider is not None else self.target

    @property
    def place(self) -> str:
        """:attr:`origin` plus, for code, where it was registered (tells two registrations apart)."""
        return f"{self.origin} registered at {self.registered_at}" if self.registered_at else self.origin

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
                    f"output '{self.name}' from {self.origin} is broken: cannot load {self.target}: "
                    f"{describe_exception(exc)}"
                )
                self._error.__cause__ = exc
        if self._error is not None:
            raise self._error
        assert self._factory is not None
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
        return f"OutputPlugin({self.name!r}, {self.place})"


class OutputRegistry:
    """Output names to :class:`OutputPlugin`.

    A name registered in code twice raises; a name claimed by two installed
    distributions is a *conflict*: listed with every claimant, unusable, and
    harmless to every other name.
    """

    def __init__(self) -> None:
        self._plugins: dict[str, OutputPlugin] = {}
        self._conflicts: dict[str, list[OutputPlugin]] = {}
        self._discovered: set[tuple[str, str]] = set()
        """(output name, distribution key) of every entry point already looked at."""

    def register_extension(
        self,
        name: str,
        factory: Callable[..., Any],
        *,
        provider: Provider | None = None,
    ) -> OutputPlugin:
        """Register ``factory`` as the output ``name`` (k6's ``output.RegisterExtension``).

        Raises :class:`DuplicateOutputError` naming both places whenever the
        name is taken: by a distribution, another module, the same module or
        the same factory. ``provider`` names the distribution the code belongs
        to, if any (shown instead of the factory's ``module:qualname``).
        """
        module, registered_at = _caller()
        target = f"{getattr(factory, '__module__', '?')}:{getattr(factory, '__qualname__', repr(factory))}"
        plugin = OutputPlugin(
            name, provider, target, lambda: factory, module=module or "?", registered_at=registered_at
        )
        if not is_valid_output_name(name):
            raise OutputLoadError(f"invalid output name {name!r} from {plugin.place}")
        if not callable(factory):
            raise OutputLoadError(f"output '{name}' from {plugin.place}: the factory {factory!r:.40} is not callable")
        taken = self._conflicts.get(name) or ([self._plugins[name]] if name in self._plugins else [])
        if taken:
            raise DuplicateOutputError(name, *(p.place for p in taken), plugin.place)
        self._plugins[name] = plugin
        return plugin

    def register_entry_point(self, ep: importlib_metadata.EntryPoint, *, builtin: bool = False) -> OutputPlugin:
        """Register an entry point of group ``horde.outputs`` without importing it.

        The same distribution's entry point seen again (an editable plus a
        regular install) is one provider; another distribution claiming the
        name makes it a conflict (see :meth:`conflicts`).
        """
        dist = ep.dist
        provider = Provider(dist.name if dist else ep.value, dist.version if dist else None, builtin)
        key = (ep.name, provider.key)
        existing = self._plugins.get(ep.name)
        if key in self._discovered and existing is not None:
            return existing
        self._discovered.add(key)
        if not is_valid_output_name(ep.name):
            # an installed distribution's mistake: listed as broken, it must not break discovery
            plugin = OutputPlugin(ep.name, provider, ep.value, _refuse(f"invalid output name {ep.name!r}"))
        else:
            plugin = OutputPlugin(ep.name, provider, ep.value, ep.load)
        return self._add_installed(plugin)

    def _add_installed(self, plugin: OutputPlugin) -> OutputPlugin:
        existing = self._plugins.get(plugin.name)
        if existing is None:
            self._plugins[plugin.name] = plugin
        elif existing.provider is None or plugin.provider is None or existing.provider.key != plugin.provider.key:
            self._conflicts.setdefault(plugin.name, [existing]).append(plugin)
        return plugin

    def add_builtins(self) -> None:
        """Register the outputs shipped in horde (once)."""
        horde = _horde_provider()
        for name, target in BUILTIN_OUTPUTS.items():
            key = (name, horde.key)
            if key not in self._discovered:
                self._discovered.add(key)
                self._add_installed(OutputPlugin(name, horde, target, _builtin_loader(target)))

    def discover(self, environ: Mapping[str, str] | None = None, *, only: Iterable[str] = ()) -> None:
        """Add the built-ins and the entry points of installed distributions; repeatable.

        With ``HORDE_DISABLE_PLUGIN_AUTOLOAD=1`` only the entry points named in
        ``only`` or ``HORDE_PLUGINS`` (by output or distribution name) are
        added. Entry points already registered are skipped; never raises for
        two distributions claiming a name (that is a conflict, see :meth:`get`).
        """
        env = os.environ if environ is None else environ
        self.add_builtins()
        wanted: set[str] | None = None
        if autoload_disabled(env):
            wanted = set(plugin_entries(env)) | set(only)
            wanted |= {normalize(n) for n in wanted}  # distribution names in any spelling
        for ep in importlib_metadata.entry_points(group=ENTRY_POINT_GROUP):
            if (
                wanted is not None
                and ep.name not in wanted
                and (ep.dist is None or normalize(ep.dist.name) not in wanted)
            ):
                continue
            self.register_entry_point(ep)

    def get(self, name: str) -> OutputPlugin:
        """The output called ``name``.

        Raises :class:`UnknownOutputError` listing the registered names if
        there is none, :class:`DuplicateOutputError` naming every claimant if
        installed distributions conflict over it.
        """
        if name in self._conflicts:
            raise DuplicateOutputError(name, *(p.place for p in self._conflicts[name]))
        try:
            return self._plugins[name]
        except KeyError:
            raise UnknownOutputError(name, list(self._plugins)) from None

    def conflict(self, name: str) -> list[OutputPlugin]:
        """Every claimant of ``name`` if installed distributions conflict over it, else ``[]``."""
        return list(self._conflicts.get(name, ()))

    def names(self) -> list[str]:
        """Every registered output name, sorted (conflicting ones included)."""
        return sorted(self._plugins)

    def plugins(self) -> list[OutputPlugin]:
        """Every registered output sorted by name; each claimant of a conflicting name, in discovery order."""
        return [p for n in self.names() for p in (self._conflicts.get(n) or [self._plugins[n]])]

    def __contains__(self, name: str) -> bool:
        return name in self._plugins


def autoload_disabled(environ: Mapping[str, str]) -> bool:
    """Whether ``HORDE_DISABLE_PLUGIN_AUTOLOAD`` is set to a true value."""
    return environ.get("HORDE_DISABLE_PLUGIN_AUTOLOAD", "").strip().lower() in ("1", "true", "yes", "on")


def plugin_entries(environ: Mapping[str, str]) -> list[str]:
    """The comma-separated entries of ``HORDE_PLUGINS``, in order."""
    return [n.strip() for n in environ.get("HORDE_PLUGINS", "").split(",") if n.strip()]


def installed_names() -> set[str]:
    """Names an entry of ``HORDE_PLUGINS``/``--plugin`` may use for an installed output:
    built-in and entry-point output names, and the (normalized) names of distributions declaring them."""
    names = set(BUILTIN_OUTPUTS)
    for ep in importlib_metadata.entry_points(group=ENTRY_POINT_GROUP):
        names.add(ep.name)
        if ep.dist is not None:
            names.add(normalize(ep.dist.name))
    return names


def _caller() -> tuple[str | None, str | None]:
    """The module and ``file:line`` of the first frame outside this module."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_globals.get("__name__") == __name__:
        frame = frame.f_back  # type: ignore[assignment]
    if frame is None:
        return None, None
    return frame.f_globals.get("__name__"), f"{frame.f_code.co_filename}:{frame.f_lineno}"


def is_valid_output_name(name: object) -> bool:
    """True when ``name`` can name an output: a letter or digit, then letters, digits, ``_``, ``.`` or ``-``."""
    return isinstance(name, str) and _NAME_RE.fullmatch(name) is not None


def _refuse(reason: str) -> Callable[[], Any]:
    def load() -> Any:
        raise ValueError(reason)

    return load


def _horde_provider() -> Provider:
    from .._version import __version__

    return Provider("horde", __version__, builtin=True)


def _builtin_loader(target: str) -> Callable[[], Any]:
    def load() -> Any:
        return importlib_metadata.EntryPoint(name="", value=target, group=ENTRY_POINT_GROUP).load()

    return load


def load_registry(environ: Mapping[str, str] | None = None, *, only: Iterable[str] = ()) -> OutputRegistry:
    """A new registry of the built-in outputs plus installed plugins (see :meth:`OutputRegistry.discover`).

    For tests and tools; a run uses the process-wide :func:`default_registry`.
    """
    registry = OutputRegistry()
    registry.discover(environ, only=only)
    return registry


_default: OutputRegistry | None = None


def default_registry() -> OutputRegistry:
    """The process-wide registry that ``horde run``, ``horde plugins`` and :func:`register_extension` use.

    Discovered from ``os.environ`` on first use; later discovery (with a
    run's environment and ``--out`` names) adds to it.
    """
    global _default
    if _default is None:
        registry = OutputRegistry()
        registry.discover()
        _default = registry
    return _default


def register_extension(name: str, factory: Callable[..., Any], *, provider: Provider | None = None) -> OutputPlugin:
    """Register ``factory`` as output ``name`` in the process-wide registry (k6's ``output.RegisterExtension``).

    Call it at import time of your module and name the module in
    ``HORDE_PLUGINS`` or ``horde run --plugin MODULE``. Raises
    :class:`DuplicateOutputError` naming both places if ``name`` is taken.
    """
    return default_registry().register_extension(name, factory, provider=provider)
