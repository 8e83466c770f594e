"""horde: a Python load-testing runner whose metric outputs are a plugin ecosystem.

Scripts import their API from here::

    from horde import http, check, group, sleep, env, vu, Counter, Gauge, Rate, Trend, fail, abort, open

The names load lazily, so output plugins that import ``horde.output`` or
``horde.metrics`` do not pay for the engine.
"""

from __future__ import annotations

import importlib
from typing import Any

from ._version import __version__

_LAZY = {
    "http": ("horde.http", None),
    "check": ("horde.checks", "check"),
    "group": ("horde.checks", "group"),
    "sleep": ("horde.execution", "sleep"),
    "env": ("horde.execution", "env"),
    "vu": ("horde.execution", "vu"),
    "fail": ("horde.execution", "fail"),
    "abort": ("horde.execution", "abort"),
    "open": ("horde.files", "open"),
    "Counter": ("horde.custom_metrics", "Counter"),
    "Gauge": ("horde.custom_metrics", "Gauge"),
    "Rate": ("horde.custom_metrics", "Rate"),
    "Trend": ("horde.custom_metrics", "Trend"),
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    try:
        module, attr = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'horde' has no attribute {name!r}") from None
    mod = importlib.import_module(module)
    value = mod if attr is None else getattr(mod, attr)
    globals()[name] = value
    return value
