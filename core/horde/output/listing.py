"""What ``horde plugins`` shows: each output with its provider, hooks and status.

The ``--json`` form is a stable schema (``schema_version`` 1)::

    {"schema_version": 1,
     "plugins": [{"name": "json", "distribution": "horde" | null, "version": "0.1.0" | null,
                  "builtin": true, "source": "builtin" | "entry_point" | "code",
                  "module": null | "module that registered it in code",
                  "target": "horde.outputs.json:JsonOutput",
                  "description": "...", "hooks": ["add_samples", ...] | null,
                  "status": "ok" | "broken" | "conflict", "error": null | "one line"}]}

A name claimed by several installed distributions appears once per claimant,
each with status ``conflict``. Fields may be added in later versions; none
will be removed or change meaning without a new ``schema_version``.
"""

from __future__ import annotations

import inspect
from typing import Any

import importlib_metadata

from .binding import implemented_hooks
from .errors import DuplicateOutputError
from .registry import OutputPlugin, OutputRegistry

__all__ = ["SCHEMA_VERSION", "describe_plugin", "describe_plugins"]

SCHEMA_VERSION = 1


def _summary(plugin: OutputPlugin, factory: Any) -> str:
    doc = inspect.getdoc(factory) if factory is not None else None
    if doc:
        return doc.strip().splitlines()[0]
    if plugin.provider is None:
        return ""
    try:
        return importlib_metadata.metadata(plugin.provider.distribution).get("Summary") or ""
    except importlib_metadata.PackageNotFoundError:
        return ""


def describe_plugin(plugin: OutputPlugin, conflict: str | None = None) -> dict[str, Any]:
    """One plugin as a dict of the stable schema (imports it to learn its status and hooks).

    ``conflict`` is the one-line error of a name several distributions claim.
    """
    error = plugin.broken
    factory = None if error else plugin.load()
    hooks = None
    if error is None:
        try:
            hooks = implemented_hooks(plugin)
        except Exception:  # inspection is best effort
            hooks = None
    provider = plugin.provider
    return {
        "name": plugin.name,
        "distribution": provider.distribution if provider else None,
        "version": provider.version if provider else None,
        "builtin": bool(provider and provider.builtin),
        "source": plugin.source,
        "module": plugin.module,
        "target": plugin.target,
        "description": _summary(plugin, factory),
        "hooks": hooks,
        "status": "conflict" if conflict else ("broken" if error else "ok"),
        "error": conflict or error,
    }


def describe_plugins(registry: OutputRegistry) -> dict[str, Any]:
    """Every plugin of ``registry``, sorted by name, in the stable schema."""
    plugins = []
    for plugin in registry.plugins():
        conflict = None
        if registry.conflict(plugin.name):
            try:
                registry.get(plugin.name)
            except DuplicateOutputError as exc:
                conflict = str(exc)
        plugins.append(describe_plugin(plugin, conflict))
    return {"schema_version": SCHEMA_VERSION, "plugins": plugins}
