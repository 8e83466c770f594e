"""What ``horde plugins`` shows: each output with its provider, hooks and status.

The ``--json`` form is a stable schema (``schema_version`` 1)::

    {"schema_version": 1,
     "plugins": [{"name": "json", "distribution": "horde", "version": "0.1.0",
                  "builtin": true, "target": "horde.outputs.json:JsonOutput",
                  "description": "...", "hooks": ["add_samples", ...] | null,
                  "status": "ok" | "broken", "error": null | "one line"}]}

Fields may be added in later versions; none will be removed or change meaning
without a new ``schema_version``.
"""

from __future__ import annotations

import inspect
from typing import Any

import importlib_metadata

from .binding import implemented_hooks
from .registry import OutputPlugin, OutputRegistry

__all__ = ["SCHEMA_VERSION", "describe_plugin", "describe_plugins"]

SCHEMA_VERSION = 1


def _summary(plugin: OutputPlugin, factory: Any) -> str:
    doc = inspect.getdoc(factory) if factory is not None else None
    if doc:
        return doc.strip().splitlines()[0]
    try:
        return importlib_metadata.metadata(plugin.provider.distribution).get("Summary") or ""
    except importlib_metadata.PackageNotFoundError:
        return ""


def describe_plugin(plugin: OutputPlugin) -> dict[str, Any]:
    """One plugin as a dict of the stable schema (imports it to learn its status and hooks)."""
    error = plugin.broken
    factory = None if error else plugin.load()
    hooks = None
    if error is None:
        try:
            hooks = implemented_hooks(plugin)
        except Exception:  # inspection is best effort
            hooks = None
    return {
        "name": plugin.name,
        "distribution": plugin.provider.distribution,
        "version": plugin.provider.version,
        "builtin": plugin.provider.builtin,
        "target": plugin.target,
        "description": _summary(plugin, factory),
        "hooks": hooks,
        "status": "broken" if error else "ok",
        "error": error,
    }


def describe_plugins(registry: OutputRegistry) -> dict[str, Any]:
    """Every plugin of ``registry``, sorted by name, in the stable schema."""
    return {"schema_version": SCHEMA_VERSION, "plugins": [describe_plugin(p) for p in registry.plugins()]}
