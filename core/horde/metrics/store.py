"""MetricStore: the sinks of every metric and sub-metric of a run (k6's metrics ingester)."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from functools import reduce
from itertools import compress
from operator import attrgetter, iconcat
from typing import Any

from .metric import Metric, Submetric
from .sample import SampleContainer
from .sinks import Sink, new_sink

__all__ = ["MetricStore"]

_Adder = Callable[[Sequence[float]], None]
_SubAdders = tuple[tuple[int, _Adder], ...]
_Plan = tuple[tuple[_Adder, ...], "dict[Any, _SubAdders] | None", bool]
"""Per metrics tuple: each sink's add_many, per tag set the sub-metric adders (or None), whether a metric repeats."""

_metrics = attrgetter("metrics")
_values = attrgetter("values")
_tags = attrgetter("tags")


class _Groups(dict[tuple[Metric, ...], list[SampleContainer]]):
    """Metrics tuple -> the containers that have it, in order (a new list for a new tuple)."""

    __slots__ = ()

    def __missing__(self, metrics: tuple[Metric, ...]) -> list[SampleContainer]:
        group: list[SampleContainer] = []
        self[metrics] = group
        return group


class MetricStore:
    """Aggregates containers into one sink per metric and one per sub-metric.

    Sub-metrics must be added (:meth:`Metric.add_submetric`) before samples
    arrive; a sample feeds every sub-metric whose tags its tags contain.
    Thread-safe: ``add`` and the readers may run on different threads.
    """

    def __init__(self) -> None:
        self.sinks: dict[Metric, Sink] = {}
        self.sub_sinks: dict[Submetric, Sink] = {}
        self._lock = threading.Lock()
        self._subs_by_metric: dict[Metric, tuple[tuple[Submetric, Sink], ...]] = {}
        # Per metrics tuple (the 9 of an HTTP request, ...): the sinks' add_many methods, per tag set
        # the (index, add_many) of every sub-metric sink that tag set feeds (tag sets are interned, so
        # the match is computed once per tag set), and whether a metric repeats in the tuple.
        self._plans: dict[tuple[Metric, ...], _Plan] = {}

    def add(self, containers: Iterable[SampleContainer]) -> None:
        """Add every sample of ``containers``.

        The containers are grouped by their metrics and each group is fed column by
        column, one ``add_many`` per sink: every sink gets the values it would get one
        by one, in the same order (a batch where two groups share a metric is cut
        into runs that do not).
        """
        if not isinstance(containers, (list, tuple)):
            containers = list(containers)
        groups = _Groups()
        try:  # groups.__getitem__ and list.append, mapped in C
            deque(map(list.append, map(groups.__getitem__, map(_metrics, containers)), containers), maxlen=0)
        except TypeError:  # a metrics list: not hashable
            groups.clear()
        with self._lock:
            if groups and len(set().union(*groups)) == sum(map(len, groups)):
                for metrics, group in groups.items():
                    self._feed(metrics, group)
            else:
                self._add_in_runs(containers)

    def add_columns(self, groups: Sequence[tuple[tuple[Metric, ...], tuple[float, ...], Sequence[Any]]]) -> bool:
        """Add containers given as columns, ``(metrics, values, tag sets)`` per metrics tuple.

        ``values`` holds one value per metric of each container, container after
        container; ``tag sets`` each container's. Every sink gets what
        :meth:`add` would give it. Returns False, adding nothing, when two groups
        share a metric or a metric repeats in a tuple (then call :meth:`add`).
        """
        if len(set().union(*(g[0] for g in groups))) != sum(len(g[0]) for g in groups):
            return False
        with self._lock:
            for metrics, values, tags in groups:
                plan = self._plans.get(metrics)
                if plan is None:
                    plan = self._plan(metrics)
                k = len(metrics)
                self._feed_columns(plan, metrics, [values[i::k] for i in range(k)], tags)
        return True

    def merge(self, metric: Metric, sink: Sink, subs: Iterable[tuple[Submetric, Sink]] = ()) -> None:
        """Add what ``sink`` (another store's sink of ``metric``) and ``subs`` (its sub-metrics' sinks) hold.

        How a worker process's aggregates join the coordinator's: sinks are
        mergeable, so the result is what adding the same samples here gives.
        """
        with self._lock:
            mine = self.sinks.get(metric)
            if mine is None:
                mine = self._new(metric)
            mine.merge(sink)
            for sub, sub_sink in subs:
                target = self.sub_sinks.get(sub)
                if target is None:  # a sub-metric added after this metric's first sample
                    self._refresh_subs(metric)
                    target = self.sub_sinks[sub]
                target.merge(sub_sink)

    def _add_in_runs(self, containers: Sequence[SampleContainer]) -> None:
        groups: dict[tuple[Metric, ...], list[SampleContainer]] = {}
        seen: set[Metric] = set()  # the metrics of the groups
        for c in containers:
            metrics = tuple(c.metrics)
            group = groups.get(metrics)
            if group is None:
                if not seen.isdisjoint(metrics):
                    for m, g in groups.items():
                        self._feed(m, g)
                    groups.clear()
                    seen.clear()
                seen.update(metrics)
                group = groups[metrics] = []
            group.append(c)
        for m, g in groups.items():
            self._feed(m, g)

    def _feed(self, metrics: tuple[Metric, ...], group: list[SampleContainer]) -> None:
        plan = self._plans.get(metrics)
        if plan is None:
            plan = self._plan(metrics)
        k = len(metrics)
        flat: tuple[float, ...] = tuple(
            reduce(iconcat, map(_values, group), [])
        )  # list += values: no iterator per container
        if len(flat) == k * len(group) and not plan[2]:
            tags = list(map(_tags, group)) if plan[1] is not None else ()
            self._feed_columns(plan, metrics, [flat[i::k] for i in range(k)], tags)
        else:  # one container at a time: a metric repeats, or values not parallel to the metrics
            for c in group:
                values = tuple(c.values)
                self._feed_columns(plan, metrics, [values[i : i + 1] for i in range(k)], (c.tags,))

    def _feed_columns(
        self, plan: _Plan, metrics: tuple[Metric, ...], columns: list[tuple[float, ...]], tags: Sequence[Any]
    ) -> None:
        """Feed each column to its sink; ``tags`` (each container's tag set) matter only with sub-metrics."""
        adders, by_tags, _ = plan
        subs: dict[
            int, list[tuple[_Adder, tuple[float, ...]]]
        ] = {}  # column index -> (add_many, values) of each sub-metric sink it feeds
        if by_tags is not None:
            distinct = set(tags)
            feeds: dict[
                tuple[int, _Adder], set[Any]
            ] = {}  # (index, add_many) -> the tag sets feeding that sub-metric sink
            for t in distinct:
                matched = by_tags.get(t)
                if matched is None:
                    matched = by_tags[t] = self._sub_adders(metrics, t)
                for sub in matched:
                    feeds.setdefault(sub, set()).add(t)
            for (i, add_many), keep in feeds.items():
                column = columns[i]
                if len(keep) < len(distinct):
                    column = tuple(compress(column, map(keep.__contains__, tags)))
                subs.setdefault(i, []).append((add_many, column))
        for i, (add_many, column) in enumerate(zip(adders, columns)):
            if column:
                add_many(column)
            for sub_add, sub_column in subs.get(i, ()):  # right after: often the very same column
                if sub_column:
                    sub_add(sub_column)

    def _plan(self, metrics: tuple[Metric, ...]) -> _Plan:
        adders = []
        for m in metrics:
            sink = self.sinks.get(m)
            if sink is None:
                sink = self._new(m)
            adders.append(sink.add_many)
        plan: _Plan = (
            tuple(adders),
            {} if any(self._subs_by_metric[m] for m in metrics) else None,
            len(set(metrics)) < len(metrics),
        )
        self._plans[metrics] = plan
        return plan

    def _sub_adders(self, metrics: tuple[Metric, ...], tags: Any) -> _SubAdders:
        return tuple(
            (i, sink.add_many)
            for i, m in enumerate(metrics)
            for sub, sink in self._subs_by_metric[m]
            if tags.contains(sub.tags)
        )

    def _new(self, metric: Metric) -> Sink:
        sink = self.sinks[metric] = new_sink(metric.type)
        self._refresh_subs(metric)
        return sink

    def _refresh_subs(self, metric: Metric) -> None:
        pairs = []
        for sub in metric.submetrics:
            s = self.sub_sinks.get(sub)
            if s is None:
                s = self.sub_sinks[sub] = new_sink(metric.type)
            pairs.append((sub, s))
        self._subs_by_metric[metric] = tuple(pairs)
        self._plans.clear()

    def sink(self, metric: Metric | Submetric) -> Sink | None:
        """The sink of a metric or sub-metric, or None if it has none yet."""
        if isinstance(metric, Submetric):
            return self.sub_sinks.get(metric)
        return self.sinks.get(metric)

    def locked(self) -> threading.Lock:
        """The lock to hold while reading several sinks consistently."""
        return self._lock
