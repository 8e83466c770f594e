"""Custom metrics for scripts: ``Counter``, ``Gauge``, ``Rate`` and ``Trend`` (k6's ``k6/metrics``)."""

from __future__ import annotations

from collections.abc import Mapping

from .metrics import Metric, MetricRegistry, MetricType, ValueType, check_metric_name
from .vustate import get_vu

__all__ = ["Counter", "Gauge", "Rate", "Trend"]


init_registry: MetricRegistry | None = None
"""The registry of the run whose script is loading: metrics created then are registered at once,
so thresholds on them validate before the first sample."""


class _CustomMetric:
    type: MetricType

    def __init__(self, name: str, is_time: bool = False) -> None:
        self.name = check_metric_name(name)
        self.contains = ValueType.TIME if is_time else ValueType.DEFAULT
        self._registry: MetricRegistry | None = None
        self._metric: Metric | None = None
        if init_registry is not None:
            self._bind(init_registry)

    def _bind(self, registry) -> Metric:
        if self._registry is not registry:
            self._metric = registry.get_or_new(self.name, self.type, self.contains)
            self._registry = registry
        return self._metric  # type: ignore[return-value]

    def add(self, value: float | bool, tags: Mapping[str, str] | None = None) -> None:
        """Emit one sample of this metric with the VU's tags plus ``tags``."""
        vu = get_vu()
        metric = self._metric if self._registry is vu.registry else self._bind(vu.registry)
        vu.sample(metric, float(value), vu.tags.with_tags(tags) if tags else vu.tags)


class Counter(_CustomMetric):
    """A cumulative sum (thresholds: count, rate)."""

    type = MetricType.COUNTER


class Gauge(_CustomMetric):
    """The latest value (thresholds: value)."""

    type = MetricType.GAUGE


class Rate(_CustomMetric):
    """The share of non-zero values (thresholds: rate)."""

    type = MetricType.RATE


class Trend(_CustomMetric):
    """A distribution (thresholds: avg, min, med, max, p(N)); ``Trend(name, True)`` holds times in ms."""

    type = MetricType.TREND
