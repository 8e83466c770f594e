"""MetricStore: the sinks of every metric and sub-metric of a run (k6's metrics ingester)."""

from __future__ import annotations

import threading
from typing import Any, Iterable

from .metric import Metric, Submetric
from .sample import SampleContainer
from .sinks import Sink, new_sink

__all__ = ["MetricStore"]


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
        # Per metrics tuple (the 9 of an HTTP request, ...): the sinks' add methods, and per tag set
        # the (index, add) of every sub-metric sink that tag set feeds. Tag sets are interned, so the
        # sub-metric match is computed once per tag set instead of once per sample.
        self._plans: dict[tuple, tuple[tuple, dict]] = {}

    def add(self, containers: Iterable[SampleContainer]) -> None:
        """Add every sample of ``containers``."""
        plans = self._plans
        with self._lock:
            for c in containers:
                metrics = c.metrics
                try:
                    adders, by_tags = plans[metrics]
                except (KeyError, TypeError):
                    adders, by_tags = self._plan(metrics)
                values = c.values
                for add, value in zip(adders, values):
                    add(value)
                if by_tags is not None:
                    tags = c.tags
                    subs = by_tags.get(tags)
                    if subs is None:
                        subs = by_tags[tags] = self._sub_adders(metrics, tags)
                    for i, add in subs:
                        add(values[i])

    def _plan(self, metrics: Any) -> tuple[tuple, dict | None]:
        key = tuple(metrics)
        adders = []
        for m in key:
            sink = self.sinks.get(m)
            if sink is None:
                sink = self._new(m)
            adders.append(sink.add)
        plan = (tuple(adders), {} if any(self._subs_by_metric[m] for m in key) else None)
        self._plans[key] = plan
        return plan

    def _sub_adders(self, metrics: Any, tags: Any) -> tuple[tuple[int, Any], ...]:
        return tuple((i, sink.add) for i, m in enumerate(metrics)
                     for sub, sink in self._subs_by_metric[m] if tags.contains(sub.tags))

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

    def track(self, metric: Metric) -> None:
        """Make sure ``metric`` and its current sub-metrics have sinks (even if no sample comes)."""
        with self._lock:
            if metric not in self.sinks:
                self.sinks[metric] = new_sink(metric.type)
            self._refresh_subs(metric)

    def sink(self, metric: Metric | Submetric) -> Sink | None:
        """The sink of a metric or sub-metric, or None if it has none yet."""
        if isinstance(metric, Submetric):
            return self.sub_sinks.get(metric)
        return self.sinks.get(metric)

    def locked(self) -> threading.Lock:
        """The lock to hold while reading several sinks consistently."""
        return self._lock
