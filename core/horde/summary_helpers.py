"""Helpers for a script's ``handle_summary(data)``: k6's jslib ``textSummary`` and ``jUnit``.

::

    from horde.summary_helpers import text_summary, junit

    def handle_summary(data):
        return {"stdout": text_summary(data, indent=" ", enable_colors=True), "junit.xml": junit(data)}

``data`` is what horde hands ``handle_summary`` (k6's ``handleSummary`` data:
``metrics``, ``root_group``, ``options``, ``state``, ``setup_data``).
:func:`text_summary` gives the text of k6's jslib ``k6-summary`` ``textSummary``
(the ``--summary-mode legacy`` text); :func:`junit` its ``jUnit`` XML, one test
case per threshold. ``textSummary`` and ``jUnit`` are aliases with k6's names.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from typing import Any

from .jsformat import humanize_value, js_number
from .summary import sort_metric_names

__all__ = ["text_summary", "junit", "textSummary", "jUnit"]

_BOLD, _FAINT, _RED, _GREEN, _CYAN = 1, 2, 31, 32, 36
_GROUP, _DETAILS, _OK, _FAIL = "█", "↳", "✓", "✗"


def _width(text: str) -> int:
    """Visible width: NFKC code points outside ANSI escape sequences."""
    width, i = 0, 0
    text = unicodedata.normalize("NFKC", text)
    while i < len(text):
        if text[i] == "\x1b" and text[i + 1 : i + 2] == "[":
            i += 2
            while i < len(text) and not 0x40 <= ord(text[i]) <= 0x7E:
                i += 1
            i += 1
            continue
        width += 1
        i += 1
    return width


class _Decorate:
    def __init__(self, colors: bool) -> None:
        self.colors = colors

    def __call__(self, text: str, color: int, *more: int) -> str:
        if not self.colors:
            return text
        return "\x1b[" + ";".join(str(c) for c in (color, *more)) + "m" + text + "\x1b[0m"


def _check_line(indent: str, check: Mapping[str, Any], deco: _Decorate) -> str:
    passes, fails = int(check["passes"]), int(check["fails"])
    if fails == 0:
        return deco(f"{indent}{_OK} {check['name']}", _GREEN)
    pct = (100 * passes) // (passes + fails)
    return deco(
        f"{indent}{_FAIL} {check['name']}\n{indent} {_DETAILS}  {pct}% — {_OK} {passes} / {_FAIL} {fails}", _RED
    )


def _values(items: Any) -> list[Any]:
    return list(items.values()) if isinstance(items, Mapping) else list(items or [])


def _group_lines(indent: str, group: Mapping[str, Any], deco: _Decorate) -> list[str]:
    out: list[str] = []
    if group.get("name", "") != "":
        out.append(f"{indent}{_GROUP} {group['name']}\n")
        indent += "  "
    checks = _values(group.get("checks"))
    out += [_check_line(indent, c, deco) for c in checks]
    if checks:
        out.append("")
    for sub in _values(group.get("groups")):
        out += _group_lines(indent, sub, deco)
    return out


def _display_name(name: str) -> str:
    pos = name.find("{")
    return "{ " + name[pos + 1 : -1] + " }" if pos >= 0 else name


def _name_indent(name: str) -> str:
    return "  " if "{" in name else ""


def _humanize(value: float, metric: Mapping[str, Any], time_unit: str | None) -> str:
    return humanize_value(float(value), str(metric.get("type")), str(metric.get("contains")), time_unit or None)


def _non_trend(metric: Mapping[str, Any], time_unit: str | None) -> list[str]:
    v = metric.get("values", {})
    kind = metric.get("type")
    if kind == "counter":
        return [_humanize(v["count"], metric, time_unit), _humanize(v["rate"], metric, time_unit) + "/s"]
    if kind == "gauge":
        return [
            _humanize(v["value"], metric, time_unit),
            "min=" + _humanize(v["min"], metric, time_unit),
            "max=" + _humanize(v["max"], metric, time_unit),
        ]
    if kind == "rate":
        return [
            _humanize(v["rate"], metric, time_unit),
            f"{js_number(v['passes'])} out of {js_number(v['passes'] + v['fails'])}",
        ]
    return ["[no data]"]


def _metric_lines(
    indent: str, metrics: Mapping[str, Mapping[str, Any]], stats: list[str], time_unit: str | None, deco: _Decorate
) -> list[str]:
    indent += "  "
    name_width = 0
    values: dict[str, str] = {}
    extras: dict[str, list[str]] = {}
    value_width = 0
    extra_widths = [0, 0]
    trend_cols: dict[str, list[str]] = {}
    col_widths = [0] * len(stats)
    for name, metric in metrics.items():
        name_width = max(name_width, _width(_name_indent(name) + _display_name(name)))
        if metric.get("type") == "trend":
            cols = []
            for i, stat in enumerate(stats):
                raw = metric["values"][stat]
                col = js_number(raw) if stat == "count" else _humanize(raw, metric, time_unit)
                col_widths[i] = max(col_widths[i], _width(col))
                cols.append(col)
            trend_cols[name] = cols
            continue
        parts = _non_trend(metric, time_unit)
        values[name] = parts[0]
        value_width = max(value_width, _width(parts[0]))
        extras[name] = parts[1:]
        for i, extra in enumerate(parts[1:]):
            while i >= len(extra_widths):
                extra_widths.append(0)
            extra_widths[i] = max(extra_widths[i], _width(extra))

    def data(name: str) -> str:
        if name in trend_cols:
            return " ".join(
                f"{stat}={deco(col, _CYAN)}" + " " * (col_widths[i] - _width(col))
                for i, (stat, col) in enumerate(zip(stats, trend_cols[name]))
            )
        value = values[name]
        text = deco(value, _CYAN) + " " * (value_width - _width(value))
        more = extras[name]
        if len(more) == 1:
            text += " " + deco(more[0], _CYAN, _FAINT)
        elif more:
            text += " " + " ".join(
                deco(x, _CYAN, _FAINT) + " " * (extra_widths[i] - _width(x)) for i, x in enumerate(more)
            )
        return text

    out = []
    for name in sort_metric_names(metrics):
        metric = metrics[name]
        mark, color = " ", 0
        thresholds = metric.get("thresholds")
        if thresholds:
            ok = all(bool(t.get("ok")) if isinstance(t, Mapping) else not t for t in thresholds.values())
            mark, color = (_OK, _GREEN) if ok else (_FAIL, _RED)
        shown = _display_name(name)
        pad = _name_indent(name)
        dots = deco("." * (name_width - _width(shown) - _width(pad) + 3) + ":", _FAINT)
        marked = deco(mark, color) if color else mark
        out.append(f"{indent}{pad}{marked} {shown}{dots} {data(name)}")
    return out


def text_summary(data: Mapping[str, Any], indent: str = " ", enable_colors: bool = True) -> str:
    """k6's jslib ``textSummary(data, {indent, enableColors})``: the group/check tree, then every metric.

    ``data`` is ``handle_summary``'s argument; its ``options`` give the trend stats and time unit.
    """
    options = data.get("options") or {}
    stats = list(options.get("summaryTrendStats") or ["avg", "min", "med", "max", "p(90)", "p(95)"])
    time_unit = options.get("summaryTimeUnit") or None
    deco = _Decorate(enable_colors)
    lines = _group_lines(indent + "    ", data.get("root_group") or {"name": "", "groups": [], "checks": []}, deco)
    lines += _metric_lines(indent, data.get("metrics") or {}, stats, time_unit, deco)
    return "\n".join(lines)


def _escape(text: str) -> str:
    return (
        text.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace("'", "&#39;")
        .replace('"', "&quot;")
    )


def junit(data: Mapping[str, Any], name: str | None = None) -> str:
    """k6's jslib ``jUnit(data, {name})``: JUnit XML with one test case per threshold (failed ones fail)."""
    failures = 0
    cases = []
    for metric_name, metric in (data.get("metrics") or {}).items():
        for source, threshold in (metric.get("thresholds") or {}).items():
            ok = bool(threshold.get("ok")) if isinstance(threshold, Mapping) else not threshold
            case = f"{_escape(metric_name)} - {_escape(source)}"
            if ok:
                cases.append(f'<testcase name="{case}" />')
            else:
                failures += 1
                cases.append(f'<testcase name="{case}"><failure message="failed" /></testcase>')
    suite = _escape(name) if name else "k6 thresholds"
    return (
        '<?xml version="1.0"?>\n'
        f'<testsuites tests="{len(cases)}" failures="{failures}">\n'
        f'<testsuite name="{suite}" tests="{len(cases)}" failures="{failures}">'
        + "\n".join(cases)
        + "\n</testsuite >\n</testsuites >"
    )


textSummary = text_summary
jUnit = junit
