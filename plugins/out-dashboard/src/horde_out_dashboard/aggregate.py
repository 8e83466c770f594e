"""Per-period and whole-run aggregates of every metric, overall and per scenario, with checks and thresholds.

Cheap per sample: :meth:`Aggregator.add` routes each container once by its tag
set (the route is cached per interned :class:`~horde.metrics.TagSet`) and
appends each value to a list; the sinks of :mod:`horde.metrics` then take each
list whole (``add_many``, C-level loops) when the period closes. Memory stays
bounded: a period's lists are dropped when it closes, and the run's trends are
:class:`~horde.metrics.TrendSink` sketches.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from horde.metrics import (
    CounterSink,
    GaugeSink,
    Metric,
    MetricType,
    RateSink,
    SampleContainer,
    Sink,
    TagSet,
    TrendSink,
    new_sink,
)
from horde.output import Threshold

__all__ = ["Aggregator", "PERCENTILES", "aggregates_of", "parse_threshold_key"]

PERCENTILES = (0.9, 0.95, 0.99)
"""The trend percentiles every period and the summary show: p(90), p(95), p(99)."""

_RouteKey = tuple[str, str | None, tuple[str, ...]]
"""(scenario, check name or None, threshold keys whose selector the tag set matches)."""


def parse_threshold_key(key: str) -> tuple[str, dict[str, str]]:
    """``http_req_duration{status:200,method:GET}`` → ``("http_req_duration", {"status": "200", ...})``."""
    name, brace, rest = key.partition("{")
    if not brace:
        return key.strip(), {}
    tags: dict[str, str] = {}
    for pair in rest.rstrip().removesuffix("}").split(","):
        k, _, v = pair.partition(":")
        if k.strip():
            tags[k.strip()] = v.strip().strip("\"'`")
    return name.strip(), tags


def aggregates_of(sink: Sink, elapsed_s: float) -> dict[str, float]:
    """What the dashboard shows of one sink: k6's aggregates, with p(99) for trends and a rate for counters."""
    if isinstance(sink, TrendSink):
        return sink.aggregates(elapsed_s, PERCENTILES)
    agg = sink.aggregates(elapsed_s)
    if "fails" in agg:  # a rate: k6 shows 0 when nothing was counted
        agg.setdefault("rate", 0.0)
    return agg


class _Totals:
    """The run's sample count and value sum of one metric (what the report's ``totals`` hold)."""

    __slots__ = ("count", "value_sum")

    def __init__(self) -> None:
        self.count = 0
        self.value_sum = 0.0


class Aggregator:
    """Collects containers, closes periods into snapshots and keeps the run's cumulative aggregates.

    Not thread-safe: one thread (the output's flusher) calls every method.
    """

    def __init__(self, thresholds: Mapping[str, Sequence[Threshold]] | None = None) -> None:
        self.thresholds: dict[str, list[Threshold]] = {k: list(v) for k, v in (thresholds or {}).items()}
        self._selectors = [
            (key, name, tags) for key, (name, tags) in ((k, parse_threshold_key(k)) for k in self.thresholds) if tags
        ]
        self._routes: dict[TagSet, dict[Metric, list[float]]] = {}
        self._buckets: dict[_RouteKey, dict[Metric, list[float]]] = {}
        self.types: dict[str, tuple[MetricType, str]] = {}
        """Metric name → (type, contains) of every metric seen."""
        self.run: dict[str, Sink] = {}
        self.run_scenarios: dict[str, dict[str, Sink]] = {}
        self.checks: dict[str, list[int]] = {}
        """Check name → [passes, fails] over the run."""
        self._threshold_sinks: dict[str, Sink] = {}
        self.totals: dict[str, _Totals] = {}

    def add(self, containers: Sequence[SampleContainer]) -> None:
        """Take a batch: one route lookup per container, one list append per sample."""
        routes = self._routes
        for c in containers:
            bucket = routes.get(c.tags)
            if bucket is None:
                bucket = self._route(c.tags)
            for m, v in zip(c.metrics, c.values):
                values = bucket.get(m)
                if values is None:
                    values = bucket[m] = []
                values.append(v)

    def _route(self, tags: TagSet) -> dict[Metric, list[float]]:
        matching = tuple(key for key, _name, sel in self._selectors if all(tags.get(k) == v for k, v in sel.items()))
        key: _RouteKey = (tags.get("scenario") or "", tags.get("check"), matching)
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = {}
        if len(self._routes) > 100_000:  # tag sets with unbounded values (URLs with ids): bound the cache
            self._routes.clear()
        self._routes[tags] = bucket
        return bucket

    def close_period(self, time_ms: int, period_s: float) -> dict[str, Any]:
        """End the current period: its snapshot (``time``, ``period``, ``metrics``, ``scenarios``), folded
        into the run. Each route's values are summarized once; the overall and per-scenario aggregates
        merge those summaries (sketches merge bucket by bucket)."""
        overall: dict[str, Sink] = {}
        by_scenario: dict[str, dict[str, Sink]] = {}
        for (scenario, check, matching), bucket in self._buckets.items():
            if not bucket:
                continue
            for metric, values in bucket.items():
                name = metric.name
                if name not in self.types:
                    self.types[name] = (metric.type, str(metric.contains))
                kind = self.types[name][0]
                part = new_sink(kind)
                part.add_many(values)
                totals = self.totals.get(name)
                if totals is None:
                    totals = self.totals[name] = _Totals()
                totals.count += len(values)
                totals.value_sum += math.fsum(values)
                _merge(_sink_in(overall, name, kind), part)
                if scenario:
                    _merge(_sink_in(by_scenario.setdefault(scenario, {}), name, kind), part)
                if check is not None and name == "checks":
                    counts = self.checks.setdefault(check, [0, 0])
                    passes = len(values) - values.count(0.0)
                    counts[0] += passes
                    counts[1] += len(values) - passes
                for tkey in matching:
                    if parse_threshold_key(tkey)[0] == name:
                        _merge(_sink_in(self._threshold_sinks, tkey, kind), part)
            bucket.clear()
        snapshot: dict[str, Any] = {"time": time_ms, "period": period_s, "metrics": {}, "scenarios": {}}
        for name, sink in overall.items():
            snapshot["metrics"][name] = self._fold(name, sink, period_s, self.run)
        for scenario, sinks in by_scenario.items():
            run = self.run_scenarios.setdefault(scenario, {})
            snapshot["scenarios"][scenario] = {n: self._fold(n, part, period_s, run) for n, part in sinks.items()}
        return snapshot

    def _fold(self, name: str, sink: Sink, period_s: float, run: dict[str, Sink]) -> dict[str, float]:
        """Merge a period's sink into the run's; the period's aggregates."""
        _merge(_sink_in(run, name, self.types[name][0]), sink)
        return aggregates_of(sink, period_s)

    def threshold_states(self, elapsed_s: float) -> list[dict[str, Any]]:
        """Every threshold: key, source, whether it passed its last evaluation, and the value it reads now."""
        states: list[dict[str, Any]] = []
        for key, thresholds in self.thresholds.items():
            name, selector = parse_threshold_key(key)
            sink = self._threshold_sinks.get(key) if selector else self.run.get(name)
            for t in thresholds:
                states.append(
                    {
                        "key": key,
                        "source": t.source,
                        "ok": not t.last_failed,
                        "value": _threshold_value(sink, t, elapsed_s),
                    }
                )
        return states

    def cumulative(self, time_ms: int, elapsed_s: float) -> dict[str, Any]:
        """The run so far: every metric's aggregates overall and per scenario, checks, thresholds, totals."""
        return {
            "time": time_ms,
            "elapsed": elapsed_s,
            "metrics": {name: aggregates_of(sink, elapsed_s) for name, sink in sorted(self.run.items())},
            "scenarios": {
                scenario: {name: aggregates_of(sink, elapsed_s) for name, sink in sorted(sinks.items())}
                for scenario, sinks in sorted(self.run_scenarios.items())
            },
            "types": {name: {"type": str(t), "contains": c} for name, (t, c) in sorted(self.types.items())},
            "checks": {name: {"passes": p, "fails": f} for name, (p, f) in sorted(self.checks.items())},
            "thresholds": self.threshold_states(elapsed_s),
            "totals": {name: {"count": t.count, "sum": t.value_sum} for name, t in sorted(self.totals.items())},
        }


def _sink_in(sinks: dict[str, Sink], name: str, kind: MetricType) -> Sink:
    """``sinks[name]``, made empty first if missing."""
    sink = sinks.get(name)
    if sink is None:
        sink = sinks[name] = new_sink(kind)
    return sink


def _merge(into: Sink, part: Sink) -> None:
    """Fold a period's sink into the run's (trend sketches merge bucket by bucket, no re-sorting)."""
    if isinstance(into, TrendSink) and isinstance(part, TrendSink):
        into.merge(part)
    elif isinstance(into, CounterSink) and isinstance(part, CounterSink):
        into.merge(part)
    elif isinstance(into, RateSink) and isinstance(part, RateSink):
        into.merge(part)
    elif isinstance(into, GaugeSink) and isinstance(part, GaugeSink):
        into.merge(part)
    else:  # pragma: no cover - both sinks come from the same metric type
        raise TypeError(f"cannot merge {type(part).__name__} into {type(into).__name__}")


def _threshold_value(sink: Sink | None, threshold: Threshold, elapsed_s: float) -> float | None:
    """The aggregate a threshold reads from ``sink`` (None when no sample reached it)."""
    if sink is None:
        return None
    expression = threshold.expression
    if expression.aggregation == "p":
        return sink.percentile((expression.percentile or 0.0) / 100) if isinstance(sink, TrendSink) else None
    return sink.aggregates(elapsed_s).get(expression.aggregation)
