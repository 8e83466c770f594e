"""Sample containers as compact bytes: from worker processes to the coordinator, and into an
output's spill file.

Tag sets, metrics and metric tuples are sent once, as definitions, then
referred to by small integers; a container travels as
``(metrics_id, values, time, tags_id, metadata)`` in a pickled batch.
"""

from __future__ import annotations

import pickle
from collections.abc import Iterable
from typing import Any

from .metric import Metric, MetricRegistry
from .sample import ConnectedSamples, Sample
from .tags import TagSet
from .types import MetricType, ValueType

__all__ = ["Encoder", "Decoder"]


class Encoder:
    """Worker side: containers to bytes, defining each tag set and metric tuple on first use."""

    def __init__(self) -> None:
        self._tags: dict[TagSet, int] = {}
        self._metrics: dict[Metric, int] = {}
        self._tuples: dict[Any, int] = {}
        self._defs: list[tuple[Any, ...]] = []

    def _tag_id(self, tags: TagSet) -> int:
        tid = self._tags.get(tags)
        if tid is None:
            tid = self._tags[tags] = len(self._tags)
            self._defs.append(("t", tid, tags.items()))
        return tid

    def _metric_id(self, m: Metric) -> int:
        mid = self._metrics.get(m)
        if mid is None:
            mid = self._metrics[m] = len(self._metrics)
            self._defs.append(("m", mid, m.name, int(m.type), int(m.contains)))
        return mid

    def _tuple_id(self, metrics: tuple[Metric, ...]) -> int:
        key = metrics if isinstance(metrics, tuple) else tuple(metrics)
        kid = self._tuples.get(key)
        if kid is None:
            kid = self._tuples[key] = len(self._tuples)
            self._defs.append(("k", kid, tuple(self._metric_id(m) for m in key)))
        return kid

    def encode(self, containers: Iterable[Any], stats: Any = None) -> bytes:
        """A batch message: new definitions, the containers, and the worker's ``stats``."""
        rows = []
        tuple_ids, tag_ids = self._tuples, self._tags
        for c in containers:
            if type(c) is Sample:
                metrics, values = (c.metric,), (c.value,)
            else:
                metrics, values = c.metrics, c.values
            kid = tuple_ids.get(metrics)
            if kid is None:
                kid = self._tuple_id(metrics)
            tid = tag_ids.get(c.tags)
            if tid is None:
                tid = self._tag_id(c.tags)
            rows.append((kid, values, c.time, tid, c.metadata))
        defs, self._defs = self._defs, []
        return pickle.dumps(("b", defs, rows, stats), protocol=pickle.HIGHEST_PROTOCOL)


class Decoder:
    """Coordinator side: batches back to containers whose metrics live in the coordinator's registry."""

    def __init__(self, registry: MetricRegistry) -> None:
        self.registry = registry
        self._tags: dict[int, TagSet] = {}
        self._metrics: dict[int, Metric] = {}
        self._tuples: dict[int, tuple[Metric, ...]] = {}

    def decode(self, defs: list[tuple[Any, ...]], rows: list[tuple[Any, ...]]) -> list[ConnectedSamples]:
        """Apply ``defs`` then turn ``rows`` into containers."""
        for d in defs:
            kind = d[0]
            if kind == "t":
                self._tags[d[1]] = TagSet.of(d[2])
            elif kind == "m":
                self._metrics[d[1]] = self.registry.get_or_new(d[2], MetricType(d[3]), ValueType(d[4]))
            else:
                self._tuples[d[1]] = tuple(self._metrics[i] for i in d[2])
        tuples, tags = self._tuples, self._tags
        return [ConnectedSamples(tuples[k], v, t, tags[g], md) for k, v, t, g, md in rows]
