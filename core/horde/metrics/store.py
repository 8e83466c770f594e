"""MetricStore: the sinks of every metric and sub-metric of a run (k6's metrics ingester)."""

from __future__ import annotations

import threading
from typing import Iterable

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

    def add(self, containers: Iterable[SampleContainer]) -> None:
        """Add every sample of ``containers``."""
        sinks = self.sinks
        with self._lock:
            for c in containers:
                tags = c.tags
                for metric, value in zip(c.metrics, c.values):
                    sink = sinks.get(metric)
                    if sink is None:
                        sink = self._new(metric)
                    sink.add(value)
                    subs = self._subs_by_metric[metric]
                    if subs:
                        for sub, sub_sink in subs:
                            if tags.contains(sub.tags):
                                sub_sink.add(value)

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
