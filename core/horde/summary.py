"""The end-of-test summary (k6 v1.1 "compact" text) and ``--summary-export`` (k6's legacy JSON).

:func:`render_summary` gives the text k6 prints after a run: a
``█ THRESHOLDS`` block (✓/✗ per threshold with the value it saw) and
``█ TOTAL RESULTS`` (check totals and the check list, then the metrics
grouped under CUSTOM, HTTP, EXECUTION, NETWORK, ... with dotted alignment).
:func:`summary_export` gives the ``--summary-export`` document;
:func:`dump_summary_export` its text (4-space indented JSON).

Metrics shown are those that got samples, plus every metric and sub-metric
with thresholds (and the parent of a sub-metric with thresholds), as in k6.
Call these after the final :meth:`~horde.thresholds.Thresholds.evaluate`,
whose ``last_failed`` marks they show.
"""

from __future__ import annotations

import json
import math
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any

from .errors import ExitCode, UserError
from .groups import Group, GroupTree
from .jsformat import TIME_UNITS, humanize_value, js_number
from .metrics import (
    CounterSink,
    GaugeSink,
    Metric,
    MetricStore,
    RateSink,
    Sink,
    Submetric,
    TrendSink,
    new_sink,
)
from .output.manager import OutputReport
from .summary_full import GroupedSummary, SummaryNode
from .thresholds import MetricThresholds, Thresholds, aggregate_values, go_parse_float

__all__ = [
    "DEFAULT_TREND_STATS",
    "parse_trend_stats",
    "validate_time_unit",
    "render_summary",
    "render_outputs",
    "summary_export",
    "summary_data",
    "SUMMARY_MODES",
    "validate_summary_mode",
    "dump_summary_export",
    "metric_values",
    "sort_metric_names",
]

DEFAULT_TREND_STATS = ("avg", "min", "med", "max", "p(90)", "p(95)")
"""k6's default ``summaryTrendStats``."""

_PLAIN_STATS = ("avg", "min", "med", "max", "count")

_COMPACT_SKIPPED = (
    "checks",
    "group_duration",
    "http_req_blocked",
    "http_req_connecting",
    "http_req_receiving",
    "http_req_sending",
    "http_req_tls_handshaking",
    "http_req_waiting",
)
_FULL_SKIPPED = ("checks", "group_duration")
_HTTP = (
    "http_reqs",
    "http_req_failed",
    "http_req_duration",
    "http_req_blocked",
    "http_req_connecting",
    "http_req_tls_handshaking",
    "http_req_sending",
    "http_req_waiting",
    "http_req_receiving",
)
_EXECUTION = ("vus", "vus_max", "iterations", "iteration_duration", "dropped_iterations")
_NETWORK = ("data_sent", "data_received")
_SECTION_ORDER = ("custom", "http", "execution", "network", "browser", "web_vitals", "grpc", "websocket")

_GREEN, _RED, _WHITE, _CYAN = "32", "31", "37", "36"
_FAINT = "2"


# -- options -----------------------------------------------------------------------------------------


def _percentile_stat(stat: str) -> float | None:
    """N of a ``p(N)`` stat, or None if ``stat`` is not one; ValueError if N is not in [0, 100]."""
    if not (stat.startswith("p(") and stat.endswith(")")):
        return None
    try:
        n = go_parse_float(stat[2:-1])
    except ValueError:
        n = math.nan
    if math.isnan(n) or not 0 <= n <= 100:
        raise ValueError(f"invalid percentile trend stat value '{stat}', provide a number between 0 and 100")
    return n


def parse_trend_stats(stats: str | Iterable[str] | None) -> tuple[str, ...]:
    """Validate ``summaryTrendStats`` (a list or a comma-separated string); k6's errors, exit code 104."""
    if stats is None:
        return DEFAULT_TREND_STATS
    if isinstance(stats, str):
        stats = [s for s in stats.split(",")] if stats else []
    out = []
    for stat in stats:
        if not isinstance(stat, str):
            raise UserError(f"invalid trend stat '{stat}', unknown format", ExitCode.INVALID_CONFIG)
        if stat in _PLAIN_STATS:
            out.append(stat)
            continue
        try:
            n = _percentile_stat(stat)
        except ValueError as e:
            raise UserError(str(e), ExitCode.INVALID_CONFIG) from None
        if n is None:
            raise UserError(f"invalid trend stat '{stat}', unknown format", ExitCode.INVALID_CONFIG)
        out.append(stat)
    return tuple(out)


SUMMARY_MODES = ("compact", "full", "legacy")
"""k6's ``--summary-mode`` values (``compact`` is the default)."""


def validate_summary_mode(mode: str | None) -> str:
    """``--summary-mode`` (``compact``, ``full``, ``legacy``; empty is ``compact``); k6's error, exit code 255."""
    if not mode:
        return "compact"
    if mode not in SUMMARY_MODES:
        raise UserError(f"invalid summary mode '{mode}', use 'compact', 'full' or 'legacy'", ExitCode.GENERIC)
    return mode


def validate_time_unit(unit: str | None) -> str | None:
    """Validate ``summaryTimeUnit`` (``s``, ``ms``, ``us`` or empty); k6's error, exit code 104."""
    if not unit:
        return None
    if unit not in TIME_UNITS:
        raise UserError(f"invalid summary time unit '{unit}', use 's', 'ms' or 'us'", ExitCode.INVALID_CONFIG)
    return unit


# -- values ------------------------------------------------------------------------------------------


def _trend_stat(sink: TrendSink, stat: str) -> float:
    if stat == "count":
        return sink.count
    if stat == "avg":
        return sink.avg
    if stat == "min":
        return sink.min if sink.count else 0.0
    if stat == "max":
        return sink.max if sink.count else 0.0
    if stat == "med":
        return sink.percentile(0.5)
    n = _percentile_stat(stat)
    if n is None:
        raise ValueError(f"invalid trend stat '{stat}', unknown format")
    return sink.percentile(n / 100)


def metric_values(sink: Sink, elapsed_s: float, trend_stats: Iterable[str] = DEFAULT_TREND_STATS) -> dict[str, float]:
    """The values k6's summary holds for a metric: counter ``count rate``, gauge ``value min max``,
    rate ``rate passes fails``, trend one key per trend stat."""
    if isinstance(sink, CounterSink):
        return {"count": sink.count, "rate": sink.count / elapsed_s if elapsed_s > 0 else 0.0}
    if isinstance(sink, GaugeSink):
        return dict(sink.aggregates(elapsed_s))
    if isinstance(sink, RateSink):
        return {
            "rate": sink.trues / sink.total if sink.total else 0.0,
            "passes": sink.trues,
            "fails": sink.total - sink.trues,
        }
    if isinstance(sink, TrendSink):
        return {stat: _trend_stat(sink, stat) for stat in trend_stats}
    raise TypeError(f"unknown sink type {type(sink).__name__}")


class _Item:
    """One metric or sub-metric as the summary sees it."""

    __slots__ = ("name", "type", "contains", "sink", "entry")

    def __init__(self, name: str, metric: Metric, sink: Sink, entry: MetricThresholds | None) -> None:
        self.name = name
        self.type = str(metric.type)
        self.contains = str(metric.contains)
        self.sink = sink
        self.entry = entry


def _observed(store: MetricStore, thresholds: Thresholds | None) -> dict[str, _Item]:
    """Metrics with samples, sub-metrics with matching samples, and everything thresholds name."""
    by_name = thresholds.by_name() if thresholds else {}
    items: dict[str, _Item] = {}

    def add(target: Metric | Submetric, sink: Sink | None) -> None:
        metric = target.parent if isinstance(target, Submetric) else target
        if target.name in items:
            return
        if sink is None:
            sink = new_sink(metric.type)
        items[target.name] = _Item(target.name, metric, sink, by_name.get(target.name))

    for metric, sink in list(store.sinks.items()):
        add(metric, sink)
    for sub, sink in list(store.sub_sinks.items()):
        if not sink.is_empty():
            add(sub, sink)
    for entry in by_name.values():
        add(entry.target, store.sink(entry.target))
        if entry.submetric is not None:
            add(entry.metric, store.sink(entry.metric))
    return items


# -- text layout ---------------------------------------------------------------------------------------


def _width(s: str) -> int:
    return len(unicodedata.normalize("NFKC", s))


def _collation_key(name: str):
    """An approximation of JavaScript's ``localeCompare`` (root collation): punctuation < digits < letters,
    letters compared case-insensitively first, lowercase before uppercase on ties."""
    primary = []
    tertiary = []
    for ch in name:
        if ch.isdigit():
            primary.append((1, ch))
        elif ch.isalpha():
            primary.append((2, ch.lower()))
        else:
            primary.append((0, ch))
        tertiary.append(1 if ch.isupper() else 0)
    return (primary, tertiary, name)


def _sort_names(names: Iterable[str]) -> list[str]:
    """k6's sortMetricsByName: by parent name, then the sub-metric part, so sub-metrics follow their parent."""

    def key(n: str):
        parent = n.split("{", 1)[0]
        return (_collation_key(parent), _collation_key(n[len(parent) :]))

    return sorted(names, key=key)


def sort_metric_names(names: Iterable[str]) -> list[str]:
    """Metric names in k6's summary order (``localeCompare`` of the parent, then of the sub-metric part)."""
    return _sort_names(names)


def _display_name(name: str) -> str:
    pos = name.find("{")
    if pos >= 0:
        return "  { " + name[pos + 1 : -1] + " }"
    return name


class _Style:
    def __init__(self, colors: bool) -> None:
        self.colors = colors

    def deco(self, text: str, color: str, *styles: str) -> str:
        if not self.colors:
            return text
        return f"\x1b[{';'.join((*styles, color))}m{text}\x1b[0m"

    def bold(self, text: str) -> str:
        return f"\x1b[1m{text}\x1b[0m" if self.colors else text


class _Info:
    """k6's computeSummaryInfo: every column's text and width for a set of metrics."""

    def __init__(
        self, items: Mapping[str, _Row], indent: int, trend_stats: tuple[str, ...], time_unit: str | None
    ) -> None:
        self.trend_stats = trend_stats
        self.max_name_width = 0
        self.trend_cols: dict[str, list[str]] = {}
        self.trend_col_widths = [0] * len(trend_stats)
        self.values: dict[str, str] = {}
        self.extras: dict[str, list[str]] = {}
        self.max_value_width = 0
        self.extra_widths: list[int] = []
        for name, row in items.items():
            self.max_name_width = max(self.max_name_width, indent + _width(name + _display_name(name)))
            if row.type == "trend":
                cols = [
                    js_number(row.values[s])
                    if s == "count"
                    else humanize_value(row.values[s], row.type, row.contains, time_unit)
                    for s in trend_stats
                ]
                for i, col in enumerate(cols):
                    self.trend_col_widths[i] = max(self.trend_col_widths[i], _width(col))
                self.trend_cols[name] = cols
                continue
            parts = _non_trend_texts(row, time_unit)
            self.values[name] = parts[0]
            self.max_value_width = max(self.max_value_width, _width(parts[0]))
            self.extras[name] = parts[1:]
            for i, extra in enumerate(parts[1:]):
                if i >= len(self.extra_widths):
                    self.extra_widths.append(0)
                self.extra_widths[i] = max(self.extra_widths[i], _width(extra))


class _Row:
    """A metric line's data: type, contents and values."""

    __slots__ = ("type", "contains", "values")

    def __init__(self, type: str, contains: str, values: Mapping[str, float]) -> None:
        self.type = type
        self.contains = contains
        self.values = values


def _non_trend_texts(row: _Row, time_unit: str | None) -> list[str]:
    v = row.values

    def h(x: float) -> str:
        return humanize_value(x, row.type, row.contains, time_unit)

    if row.type == "counter":
        return [h(v["count"]), h(v["rate"]) + "/s"]
    if row.type == "gauge":
        return [h(v["value"]), "min=" + h(v["min"]), "max=" + h(v["max"])]
    if row.type == "rate":
        return [h(v["rate"]), f"{js_number(v['passes'])} out of {js_number(v['passes'] + v['fails'])}"]
    return ["[no data]"]


def _metric_line(name: str, row: _Row, info: _Info, indent: int, st: _Style) -> str:
    shown = _display_name(name)
    dots = info.max_name_width - _width(shown) - indent + 3
    line = " " * indent + shown + st.deco("." * dots + ":", _WHITE, _FAINT) + " "
    if row.type == "trend":
        cols = info.trend_cols[name]
        line += " ".join(
            stat + "=" + st.deco(col, _CYAN) + " " * (info.trend_col_widths[i] - _width(col))
            for i, (stat, col) in enumerate(zip(info.trend_stats, cols))
        )
        return line
    value = info.values[name]
    line += st.deco(value, _CYAN) + " " * (info.max_value_width - _width(value))
    extras = info.extras[name]
    if len(extras) == 1:
        line += " " + st.deco(extras[0], _CYAN, _FAINT)
    elif extras:
        line += " " + " ".join(
            st.deco(x, _CYAN, _FAINT) + " " * (info.extra_widths[i] - _width(x)) for i, x in enumerate(extras)
        )
    return line


def _section_of(name: str, skipped: tuple[str, ...] = _COMPACT_SKIPPED) -> str | None:
    def any_prefix(prefixes: tuple[str, ...]) -> bool:
        return any(name.startswith(p) for p in prefixes)

    if any_prefix(skipped):
        return None
    if any_prefix(_HTTP):
        return "http"
    if any_prefix(_EXECUTION):
        return "execution"
    if any_prefix(_NETWORK):
        return "network"
    if name.startswith("browser_web_vital_"):
        return "web_vitals"
    if name.startswith("browser_"):
        return "browser"
    if name.startswith("grpc_"):
        return "grpc"
    if name.startswith("ws_"):
        return "websocket"
    return "custom"


def _threshold_value_text(item: _Item, row: _Row, info: _Info, t, elapsed_s: float, time_unit: str | None) -> str:
    expr = t.expression
    if row.type == "trend":
        if expr.lhs in info.trend_stats:
            return info.trend_cols[item.name][info.trend_stats.index(expr.lhs)]
        value = aggregate_values(item.sink, elapsed_s, [t]).get(expr.key, 0.0)
        return humanize_value(value, row.type, row.contains, time_unit)
    if row.type == "counter" and expr.aggregation != "count":
        return info.extras[item.name][0]
    return info.values[item.name]


def _render_thresholds(
    items: dict[str, _Item],
    rows: dict[str, _Row],
    elapsed_s: float,
    trend_stats: tuple[str, ...],
    time_unit: str | None,
    st: _Style,
) -> list[str]:
    with_thresholds = {n: it for n, it in items.items() if it.entry is not None and it.entry.thresholds}
    info = _Info({n: rows[n] for n in with_thresholds}, 4, trend_stats, time_unit)
    out: list[str] = []
    for name in _sort_names(with_thresholds):
        item = with_thresholds[name]
        parent = name.split("{", 1)[0]
        nested = len(name) > len(parent) and parent in with_thresholds
        indent = " " * (6 if nested else 4)
        out.append(indent + (name[len(parent) :] if nested else name))
        for t in item.entry.thresholds:
            mark = st.deco("✗", _RED) if t.last_failed else st.deco("✓", _GREEN)
            value = _threshold_value_text(item, rows[name], info, t, elapsed_s, time_unit)
            out.append(
                indent
                + " ".join(
                    (
                        mark,
                        st.deco(f"'{t.source.strip()}'", _WHITE),
                        st.deco(t.expression.lhs, _WHITE) + "=" + st.deco(value, _CYAN),
                    )
                )
            )
        out.append("\n")
    return out


def _render_checks(
    total: int, trues: int, ordered: Iterable[tuple[str, int, int]], elapsed_s: float, st: _Style, level: int = 0
) -> list[str]:
    """checks_total/succeeded/failed and the check list of a section's content at nesting ``level``."""
    indent = 2 * (level + 2)
    rows = {
        "checks_total": _Row(
            "counter", "default", {"count": total, "rate": total / elapsed_s if elapsed_s > 0 else 0.0}
        ),
        "checks_succeeded": _Row(
            "rate", "default", {"rate": trues / total if total else 0.0, "passes": trues, "fails": total - trues}
        ),
        "checks_failed": _Row(
            "rate",
            "default",
            {"rate": (total - trues) / total if total else 0.0, "passes": total - trues, "fails": trues},
        ),
    }
    info = _Info(rows, indent, (), None)
    out = [_metric_line(name, row, info, indent, st) for name, row in rows.items()]
    out.append("\n")
    pad = " " * indent
    for name, passes, fails in ordered:
        if fails == 0:
            out.append(pad + st.deco("✓ " + name, _GREEN))
            continue
        pct = (100 * passes) // (passes + fails)
        out.append(
            pad
            + st.deco("✗ " + name, _RED)
            + "\n"
            + " " * (2 * (2 * level + 3))
            + st.deco(f"↳  {pct}% — ✓ {passes} / ✗ {fails}", _RED)
        )
    return out


def _render_metric_sections(
    rows: Mapping[str, _Row],
    stats: tuple[str, ...],
    time_unit: str | None,
    st: _Style,
    level: int = 0,
    skipped: tuple[str, ...] = _COMPACT_SKIPPED,
) -> list[str]:
    """The CUSTOM, HTTP, EXECUTION, ... blocks of a section's content at nesting ``level``."""
    indent = 2 * (level + 2)
    grouped: dict[str, dict[str, _Row]] = {s: {} for s in _SECTION_ORDER}
    for name, row in rows.items():
        section = _section_of(name, skipped)
        if section is not None:
            grouped[section][name] = row
    shown = {n: r for sec in grouped.values() for n, r in sec.items()}
    info = _Info(shown, indent, stats, time_unit)
    content: list[str] = []
    for section in _SECTION_ORDER:
        members = grouped[section]
        if not members:
            continue
        content.append(" " * indent + st.bold(section.upper()))
        content += [_metric_line(n, members[n], info, indent, st) for n in _sort_names(members)]
        content.append("\n")
    return content


def _render_node(
    node: SummaryNode, elapsed_s: float, stats: tuple[str, ...], time_unit: str | None, st: _Style, level: int = 0
) -> list[str]:
    """A GROUP or SCENARIO section's content (full mode): its checks, its metrics, then its sub-groups."""
    out: list[str] = []
    checks = next((sink for metric, sink in node.metrics.items() if metric.name == "checks"), None)
    if isinstance(checks, RateSink):
        ordered = [(name, p, f) for name, (p, f) in node.checks.items()]
        out += _render_checks(checks.total, checks.trues, ordered, elapsed_s, st, level) + ["\n"]
    rows = {
        m.name: _Row(str(m.type), str(m.contains), metric_values(sink, elapsed_s, stats))
        for m, sink in node.metrics.items()
    }
    out += _render_metric_sections(rows, stats, time_unit, st, level, _FULL_SKIPPED)
    for name, child in node.groups.items():
        out.append(" " * (2 * (level + 2)) + "↳ " + st.bold("GROUP: " + name) + " \n")
        out += _render_node(child, elapsed_s, stats, time_unit, st, level + 1)
    return out


def render_summary(
    store: MetricStore,
    thresholds: Thresholds | None,
    elapsed_s: float,
    groups: GroupTree | None = None,
    *,
    trend_stats: Iterable[str] | None = None,
    time_unit: str | None = None,
    colors: bool = False,
    grouped: GroupedSummary | None = None,
) -> str:
    """k6 v1.1's end-of-test summary text, ready to write to stdout as is: compact mode, or full mode
    when ``grouped`` (the run's per-group and per-scenario data) is given.

    ``elapsed_s`` is the test run duration (counter rates are per second of
    it); ``groups`` supplies the check list; ``trend_stats`` is
    ``summaryTrendStats`` (default ``avg,min,med,max,p(90),p(95)``);
    ``time_unit`` is ``summaryTimeUnit`` (``s``, ``ms``, ``us``);
    ``colors`` adds k6's ANSI colors. Full mode shows every HTTP timing in TOTAL RESULTS, then a
    ``GROUP: name`` section per group of the ``default`` scenario and a ``SCENARIO: name`` section per
    other scenario (each with its checks, metrics and ``↳ GROUP:`` sub-groups).
    """
    stats = parse_trend_stats(trend_stats)
    time_unit = validate_time_unit(time_unit)
    st = _Style(colors)
    with store.locked():
        items = _observed(store, thresholds)
        rows = {n: _Row(it.type, it.contains, metric_values(it.sink, elapsed_s, stats)) for n, it in items.items()}
        threshold_lines = _render_thresholds(items, rows, elapsed_s, stats, time_unit, st)
        checks = items.get("checks")
        checks_counts = (checks.sink.total, checks.sink.trues) if checks and isinstance(checks.sink, RateSink) else None

    sections: list[tuple[str, list[str]]] = []
    if threshold_lines:
        sections.append(("THRESHOLDS", threshold_lines))

    content: list[str] = []
    if checks_counts is not None:
        ordered = groups.ordered_checks() if groups is not None else []
        content += _render_checks(*checks_counts, ordered, elapsed_s, st) + ["\n"]
    content += _render_metric_sections(
        rows, stats, time_unit, st, skipped=_FULL_SKIPPED if grouped is not None else _COMPACT_SKIPPED
    )
    sections.append(("TOTAL RESULTS", content))
    if grouped is not None:
        with grouped.locked():
            for name, node in grouped.root.groups.items():
                sections.append((f"GROUP: {name}", _render_node(node, elapsed_s, stats, time_unit, st)))
            for name in sorted(grouped.scenarios, key=_collation_key):
                node = grouped.scenarios[name]
                sections.append((f"SCENARIO: {name}", _render_node(node, elapsed_s, stats, time_unit, st)))

    text = ""
    for title, lines in sections:
        for line in ["  █ " + st.bold(title) + " \n", *lines, "\n"]:
            text += "\n" if line == "\n" else "\n" + line
    return "\n" + text + "\n\n"


# -- --summary-export ----------------------------------------------------------------------------------


def _plain(x: Any) -> Any:
    if isinstance(x, float) and x.is_integer() and abs(x) < 2**53:
        return int(x)
    return x


def summary_export(
    store: MetricStore,
    thresholds: Thresholds | None,
    root_group: GroupTree | Group | Mapping[str, Any] | None,
    elapsed_s: float,
    *,
    trend_stats: Iterable[str] | None = None,
    setup_data: Any = None,
    has_setup_data: bool = False,
) -> dict:
    """The ``--summary-export`` document (k6's legacy shape).

    ``{"metrics": {name: flat values (+ "thresholds": {source: failed})},
    "root_group": {...}}``, plus ``"setup_data"`` when ``has_setup_data``.
    Counters give ``count``/``rate``, gauges ``value``/``min``/``max``, rates
    ``passes``/``fails``/``value``, trends one key per trend stat; sub-metrics
    are keys of their own.
    """
    stats = parse_trend_stats(trend_stats)
    metrics: dict[str, dict[str, Any]] = {}
    with store.locked():
        items = _observed(store, thresholds)
        for name in sorted(items):
            item = items[name]
            values = metric_values(item.sink, elapsed_s, stats)
            if item.type == "rate":
                values = {"passes": values["passes"], "fails": values["fails"], "value": values["rate"]}
            out = {k: _plain(v) for k, v in values.items()}
            if item.entry is not None and item.entry.thresholds:
                out["thresholds"] = {t.source: bool(t.last_failed) for t in item.entry.thresholds}
            metrics[name] = out
    if root_group is None:
        group = Group("", None).to_json()
    elif isinstance(root_group, (GroupTree, Group)):
        group = root_group.to_json()
    else:
        group = dict(root_group)
    doc: dict[str, Any] = {"metrics": metrics, "root_group": group}
    if has_setup_data:
        doc["setup_data"] = setup_data
    return doc


def _group_lists(group: Mapping[str, Any]) -> dict[str, Any]:
    """A group object with ``groups`` and ``checks`` as lists in first-seen order (k6's handleSummary shape)."""
    groups = group.get("groups", [])
    checks = group.get("checks", [])
    return {
        "name": group.get("name", ""),
        "path": group.get("path", ""),
        "id": group.get("id", ""),
        "groups": [_group_lists(g) for g in (groups.values() if isinstance(groups, Mapping) else groups)],
        "checks": [dict(c) for c in (checks.values() if isinstance(checks, Mapping) else checks)],
    }


def summary_data(
    store: MetricStore,
    thresholds: Thresholds | None,
    root_group: GroupTree | Group | Mapping[str, Any] | None,
    elapsed_s: float,
    *,
    trend_stats: Iterable[str] | None = None,
    time_unit: str | None = None,
    no_color: bool = False,
    stdout_tty: bool = False,
    stderr_tty: bool = False,
    setup_data: Any = None,
    has_setup_data: bool = True,
) -> dict[str, Any]:
    """The argument of a script's ``handle_summary(data)``: k6 v1.1's ``handleSummary`` data.

    ``{"metrics": {name: {"type", "contains", "values": {...}, "thresholds": {source: {"ok": bool}}}},
    "root_group": {"name", "path", "id", "groups": [...], "checks": [...]},
    "options": {"summaryTrendStats", "summaryTimeUnit", "noColor"},
    "state": {"isStdOutTTY", "isStdErrTTY", "testRunDurationMs"}, "setup_data": ...}``;
    values are those of :func:`metric_values` (rates: ``rate passes fails``). ``setup_data`` is left
    out when ``has_setup_data`` is false (no ``setup()``), as k6's JSON of the data leaves it out.
    """
    stats = parse_trend_stats(trend_stats)
    metrics: dict[str, dict[str, Any]] = {}
    with store.locked():
        items = _observed(store, thresholds)
        for name in sorted(items):
            item = items[name]
            entry: dict[str, Any] = {
                "type": item.type,
                "contains": item.contains,
                "values": {k: _plain(v) for k, v in metric_values(item.sink, elapsed_s, stats).items()},
            }
            if item.entry is not None and item.entry.thresholds:
                entry["thresholds"] = {t.source: {"ok": not t.last_failed} for t in item.entry.thresholds}
            metrics[name] = entry
    if root_group is None:
        group = Group("", None).to_json()
    elif isinstance(root_group, (GroupTree, Group)):
        group = root_group.to_json()
    else:
        group = dict(root_group)
    group = _group_lists(group)
    data: dict[str, Any] = {"metrics": metrics}
    if has_setup_data:
        data["setup_data"] = setup_data
    data["root_group"] = group
    data["options"] = {"summaryTrendStats": list(stats), "summaryTimeUnit": time_unit or "", "noColor": no_color}
    data["state"] = {"isStdOutTTY": stdout_tty, "isStdErrTTY": stderr_tty, "testRunDurationMs": elapsed_s * 1000.0}
    return data


def render_outputs(reports: Iterable[OutputReport]) -> str:
    """The summary's ``█ OUTPUTS`` block: one line per output.

    First what horde handed it (``delivered``, ``undelivered``: never handed over or in failed calls,
    ``failed_calls``, ``queue_spilled``: samples that waited on disk in its queue), then after ``|``
    the output's own ``report()`` counts (``written``, ``retried``, ``spilled``, ``dropped``...).
    """
    lines = ["  █ OUTPUTS", ""]
    for r in reports:
        d = r.delivery
        text = (
            f"delivered={d.delivered} undelivered={d.undelivered + d.failed} failed_calls={d.failed_calls} "
            f"queue_spilled={d.spilled}"
        )
        if r.counts:
            text += " | " + " ".join(f"{k}={v}" for k, v in r.counts.items())
        lines.append(f"    {r.description}: {text}{' ABANDONED' if d.abandoned else ''}")
    return "\n".join(lines)


def dump_summary_export(doc: Mapping[str, Any]) -> str:
    """``doc`` as k6 writes the export file: JSON indented by 4 spaces, non-ASCII kept."""
    return json.dumps(doc, indent=4, ensure_ascii=False, default=str)
