"""The dashboard page: one HTML document with its CSS, uPlot and script inline.

The live page and the exported report are the same document: the live page
has no data and follows ``/events``; the report carries the run's data in a
``<script type="application/json">`` element and needs no network at all.
"""

from __future__ import annotations

import functools
import html
import json
import math
import re
from importlib import resources
from typing import Any

__all__ = ["render_page", "to_json"]

_PLACEHOLDER = re.compile(r"\{\{([A-Z_]+)\}\}")


@functools.cache
def _asset(name: str) -> str:
    return resources.files(__package__).joinpath("web", name).read_text(encoding="utf-8")


def _finite(value: Any) -> Any:
    """``value`` with every NaN or infinity as None (JSON has neither)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def to_json(value: Any) -> str:
    """Compact JSON on one line (NaN and infinities as null), safe inside a ``<script>`` element."""
    try:
        text = json.dumps(value, separators=(",", ":"), allow_nan=False)
    except ValueError:
        text = json.dumps(_finite(value), separators=(",", ":"), allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _inline_script(code: str) -> str:
    return code.replace("</script", "<\\/script")


def render_page(title: str, data: dict[str, Any] | None) -> str:
    """The whole document: the live page when ``data`` is None, else the report holding ``data``."""
    values = {
        "TITLE": html.escape(title),
        "MODE": "live" if data is None else "report",
        "UPLOT_CSS": _asset("vendor/uplot/uPlot.min.css"),
        "STYLE": _asset("style.css"),
        "DATA": "null" if data is None else to_json(data),
        "UPLOT_JS": _inline_script(_asset("vendor/uplot/uPlot.iife.min.js")),
        "APP_JS": _inline_script(_asset("app.js")),
    }
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], _asset("index.html"))  # one pass: inserted text stays
