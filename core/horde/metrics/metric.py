"""Metrics, sub-metrics and the registry that owns them."""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from typing import Any

from .tags import TagSet
from .types import MetricType, ValueType

__all__ = ["Metric", "Submetric", "MetricRegistry", "MetricError", "check_metric_name"]

_NAME_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]{1,128}$")


class MetricError(ValueError):
    """A metric name or registration that k6 would refuse."""


def check_metric_name(name: str) -> str:
    """Return ``name`` if it follows k6's rule, else raise :class:`MetricError` with k6's message."""
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name):  # fullmatch: "$" would allow a final "\n"
        raise MetricError(
            f"Invalid metric name: '{name}'. Metric names must only include up to 128 ASCII "
            "letters, numbers, or underscores and start with a letter or an underscore."
        )
    return name


class Submetric:
    """A view of a metric restricted to samples whose tags contain ``tags``.

    ``name`` is k6's key, e.g. ``http_req_duration{status:200}``; ``suffix`` the
    part in braces as written.
    """

    __slots__ = ("name", "suffix", "tags", "parent")

    def __init__(self, parent: Metric, suffix: str, tags: TagSet) -> None:
        self.parent = parent
        self.suffix = suffix
        self.tags = tags
        self.name = f"{parent.name}{{{suffix}}}"

    def to_json(self) -> dict[str, Any]:
        """The ``{name, suffix, tags}`` object of k6's JSON output."""
        return {"name": self.name, "suffix": self.suffix, "tags": self.tags.as_dict()}

    def __repr__(self) -> str:
        return f"Submetric({self.name!r})"


class Metric:
    """A named metric of one :class:`MetricType` holding values of one :class:`ValueType`."""

    __slots__ = ("name", "type", "contains", "submetrics", "__weakref__")

    def __init__(self, name: str, type: MetricType, contains: ValueType = ValueType.DEFAULT) -> None:
        self.name = check_metric_name(name)
        self.type = MetricType(type)
        self.contains = ValueType(contains)
        self.submetrics: list[Submetric] = []

    def add_submetric(self, suffix: str, tags: Mapping[str, str]) -> Submetric:
        """The sub-metric selecting ``tags`` (created once; later calls return it)."""
        tagset = TagSet.of(tags)
        for sub in self.submetrics:
            if sub.tags is tagset:
                return sub
        sub = Submetric(self, suffix, tagset)
        self.submetrics.append(sub)
        return sub

    def __repr__(self) -> str:
        return f"Metric({self.name!r}, {self.type!s}, {self.contains!s})"


class MetricRegistry:
    """All metrics of one run, by name. Registering a name twice returns the first metric."""

    def __init__(self) -> None:
        self._metrics: dict[str, Metric] = {}
        self._lock = threading.Lock()

    def get_or_new(self, name: str, type: MetricType, contains: ValueType | None = None) -> Metric:
        """The metric called ``name``, created if new; k6's error if its type differs."""
        with self._lock:
            existing = self._metrics.get(name)
            if existing is None:
                metric = Metric(name, type, ValueType.DEFAULT if contains is None else contains)
                self._metrics[name] = metric
                return metric
        if existing.type != type:
            raise MetricError(
                f"metric '{name}' already exists but with type {existing.type}, instead of {MetricType(type)}"
            )
        if contains is not None and existing.contains != contains:
            raise MetricError(
                f"metric '{name}' already exists but with a value type {existing.contains}, instead of {ValueType(contains)}"
            )
        return existing

    def get(self, name: str) -> Metric | None:
        """The metric called ``name``, or None."""
        return self._metrics.get(name)

    def all(self) -> list[Metric]:
        """Every registered metric, in registration order."""
        return list(self._metrics.values())

    def __contains__(self, name: str) -> bool:
        return name in self._metrics
