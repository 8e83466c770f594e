"""Sample containers as compact bytes: from worker processes to the coordinator, and into an
output's spill file.

Tag sets, metrics and metric tuples are sent once, as definitions, then
referred to by small integers. Two layouts:

- rows (:meth:`Encoder.encode`, an output's spill file): a container travels as
  ``(metrics_id, values, time, tags_id, metadata)``;
- columns (:meth:`Encoder.encode_columns`, worker to coordinator): per metrics
  tuple the tag ids, times, metadata and all values one after another, plus the
  containers' order. Encoding and decoding are a few C-level passes per batch,
  not Python work per container.

A worker aggregates each batch into a metric store of its own, from the same
columns, and sends its sinks (:func:`pack_aggregates`): the coordinator merges
them into its store (:class:`Columns`), and builds containers only when an
output (or the full summary) wants them; columns travel only then.
"""

from __future__ import annotations

import pickle
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from functools import reduce
from itertools import repeat
from operator import attrgetter, iconcat
from typing import Any

from .metric import Metric, MetricRegistry, Submetric
from .sample import ConnectedSamples, Sample
from .sinks import EXACT_LIMIT, Sink, TrendSink
from .store import MetricStore
from .tags import TagSet
from .types import MetricType, ValueType

_build: Callable[..., list[ConnectedSamples]] | None
try:  # containers built in C, without a Python __init__ call each
    from ._connected import build as _build
except ImportError:  # installed without a C compiler
    _build = None

__all__ = ["Encoder", "Decoder", "Columns", "pack_aggregates"]

_metrics = attrgetter("metrics")
_values = attrgetter("values")
_tags = attrgetter("tags")
_time = attrgetter("time")
_metadata = attrgetter("metadata")


class _Ids(dict[Any, int]):
    """Key -> small integer; a key seen for the first time gets the next one and ``define(key, id)`` is called."""

    def __init__(self, define: Callable[[Any, int], None]) -> None:
        super().__init__()
        self.define = define

    def __missing__(self, key: Any) -> int:
        i = self[key] = len(self)
        self.define(key, i)
        return i


class _ByKey(dict[int, list[Any]]):
    """Metrics-tuple id -> the containers that have it, in order."""

    def __missing__(self, key: int) -> list[Any]:
        group: list[Any] = []
        self[key] = group
        return group


class Encoder:
    """Worker side: containers to bytes, defining each tag set and metric tuple on first use."""

    def __init__(self) -> None:
        self._defs: list[tuple[Any, ...]] = []
        self._tags = _Ids(self._define_tags)
        self._metrics = _Ids(self._define_metric)
        self._tuples = _Ids(self._define_tuple)
        self._tuple_list: list[tuple[Metric, ...]] = []
        self._trend_counts: dict[Any, int] = {}  # trend sink -> values sent so far (see _fold_sent)

    def _define_tags(self, tags: TagSet, tid: int) -> None:
        self._defs.append(("t", tid, tags.items()))

    def _define_metric(self, m: Metric, mid: int) -> None:
        self._defs.append(("m", mid, m.name, int(m.type), int(m.contains)))

    def _define_tuple(self, metrics: tuple[Metric, ...], kid: int) -> None:
        self._defs.append(("k", kid, tuple(self._metrics[m] for m in metrics)))
        self._tuple_list.append(metrics)

    def _tag_id(self, tags: TagSet) -> int:
        return self._tags[tags]

    def _tuple_id(self, metrics: Sequence[Metric]) -> int:
        return self._tuples[metrics if isinstance(metrics, tuple) else tuple(metrics)]

    def _fold_sent(self, store: MetricStore) -> None:
        """Fold the trend sinks of ``store`` whose metric this encoder has sent more than EXACT_LIMIT values of.

        The receiving store holds at least as many, so it has folded its own sink (or folds it
        merging this one): their exact values would travel for nothing.
        """
        counts = self._trend_counts
        for key, sink in (*store.sinks.items(), *store.sub_sinks.items()):
            if type(sink) is TrendSink and sink.count:
                n = counts[key] = counts.get(key, 0) + sink.count
                if n > EXACT_LIMIT:
                    sink.fold()

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

    def encode_columns(
        self, containers: Sequence[Any], store: MetricStore, stats: Any = None, *, samples: bool = True
    ) -> bytes:
        """A batch message in columns: ``("c", defs, groups, order, stats, aggregates)``.

        ``groups`` holds per metrics tuple ``(tuple_id, tag_ids, times, metadata
        or None when all are None, values, parallel)``: ``values`` are all the
        group's values one container after another when every container has one
        value per metric (``parallel``), else one tuple per container. ``order`` is
        the tuple id of each container in turn (None for a single group).
        Without ``samples`` no container travels (``groups`` is empty). The batch
        is aggregated into ``store`` (an empty one) from the same columns, and
        ``aggregates`` is :func:`pack_aggregates` of it (its trend sinks folded once this encoder
        has sent more than EXACT_LIMIT values of their metric: see :meth:`_fold_sent`).
        """
        tuple_ids, tag_ids = self._tuples, self._tags
        try:
            order = list(map(tuple_ids.__getitem__, map(_metrics, containers)))
        except TypeError:  # a metrics list: not hashable
            order = [self._tuple_id(c.metrics) for c in containers]
        by_key = _ByKey()
        deque(map(list.append, map(by_key.__getitem__, order), containers), maxlen=0)
        groups, columns = [], []
        for kid, group in by_key.items():
            values: list[Any] = reduce(iconcat, map(_values, group), [])
            parallel = len(values) == len(self._tuple_list[kid]) * len(group)
            if not parallel:
                values = list(map(tuple, map(_values, group)))
            tag_sets = list(map(_tags, group))
            if parallel:  # a tuple: its slices are tuples the sinks keep as they are, so a sub-metric
                # fed its metric's very column reuses that column's summary (sinks._summary)
                columns.append((self._tuple_list[kid], tuple(values), tag_sets))
            if samples:
                metadata: list[Any] | None = list(map(_metadata, group))
                if metadata.count(None) == len(group):  # type: ignore[union-attr]
                    metadata = None
                tags = list(map(tag_ids.__getitem__, tag_sets))
                groups.append((kid, tags, list(map(_time, group)), metadata, values, parallel))
        if len(columns) < len(by_key) or not store.add_columns(columns):
            store.add(containers)
        self._fold_sent(store)
        aggregates = pack_aggregates(store)
        defs, self._defs = self._defs, []
        msg = ("c", defs, groups, order if len(groups) > 1 else None, stats, aggregates)
        return pickle.dumps(msg, protocol=pickle.HIGHEST_PROTOCOL)


class Decoder:
    """Coordinator side: batches back to containers whose metrics live in the coordinator's registry."""

    def __init__(self, registry: MetricRegistry) -> None:
        self.registry = registry
        self._tags: dict[int, TagSet] = {}
        self._metrics: dict[int, Metric] = {}
        self._tuples: dict[int, tuple[Metric, ...]] = {}

    def decode(self, defs: list[tuple[Any, ...]], rows: list[tuple[Any, ...]]) -> list[ConnectedSamples]:
        """Apply ``defs`` then turn ``rows`` into containers."""
        self._define(defs)
        tuples, tags = self._tuples, self._tags
        return [ConnectedSamples(tuples[k], v, t, tags[g], md) for k, v, t, g, md in rows]

    def decode_columns(
        self, defs: list[tuple[Any, ...]], groups: list[tuple[Any, ...]], order: Any, aggregates: Any
    ) -> Columns:
        """Apply ``defs`` then resolve the ids of a :meth:`Encoder.encode_columns` batch (no container built)."""
        self._define(defs)
        tuples, tags = self._tuples, self._tags
        return Columns(
            [
                (kid, tuples[kid], list(map(tags.__getitem__, tids)), times, md, tuple(values), parallel)
                for kid, tids, times, md, values, parallel in groups
            ],
            order,
            self._aggregates(aggregates),
        )

    def _aggregates(self, packed: list[tuple[Any, ...]]) -> list[_Aggregate]:
        """:func:`pack_aggregates` entries with the coordinator's metrics and sub-metrics in place of names."""
        out = []
        get_or_new = self.registry.get_or_new
        for name, mtype, contains, sink, subs in packed:
            metric = get_or_new(name, MetricType(mtype), ValueType(contains))
            out.append((metric, sink, [(metric.add_submetric(suffix, dict(tags)), s) for suffix, tags, s in subs]))
        return out

    def _define(self, defs: list[tuple[Any, ...]]) -> None:
        for d in defs:
            kind = d[0]
            if kind == "t":
                self._tags[d[1]] = TagSet.of(d[2])
            elif kind == "m":
                self._metrics[d[1]] = self.registry.get_or_new(d[2], MetricType(d[3]), ValueType(d[4]))
            else:
                self._tuples[d[1]] = tuple(self._metrics[i] for i in d[2])


def pack_aggregates(store: MetricStore) -> list[tuple[Any, ...]]:
    """Every sink of ``store`` by name: ``(metric name, type, value type, sink, ((suffix, tags, sink), ...))``.

    A worker sends its store of the last batch this way; :class:`Decoder` finds
    the coordinator's metric (made if new) and sub-metric of each name.
    """
    subs = store.sub_sinks
    return [
        (
            m.name,
            int(m.type),
            int(m.contains),
            sink,
            tuple((sub.suffix, sub.tags.items(), subs[sub]) for sub in m.submetrics if sub in subs),
        )
        for m, sink in store.sinks.items()
    ]


_Group = tuple[int, tuple[Metric, ...], list[TagSet], list[int], "list[Any] | None", tuple[Any, ...], bool]
_Aggregate = tuple[Metric, Sink, list[tuple[Submetric, Sink]]]


class Columns:
    """A worker's batch, decoded: its aggregates for the metric store, containers only on demand.

    ``groups``: per metrics tuple ``(tuple_id, metrics, tag sets, times, metadata
    or None, values, parallel)`` (see :meth:`Encoder.encode_columns`; empty when
    no sample travelled); ``aggregates``: the worker's sinks of the batch,
    ``(metric, sink, [(sub-metric, sink)])`` each.
    """

    __slots__ = ("groups", "order", "aggregates", "_containers")

    def __init__(self, groups: list[_Group], order: list[int] | None, aggregates: list[_Aggregate]) -> None:
        self.groups = groups
        self.order = order
        self.aggregates = aggregates
        self._containers: list[ConnectedSamples] | None = None

    def __len__(self) -> int:
        """The number of containers."""
        return sum(len(g[3]) for g in self.groups)

    def add_to(self, store: MetricStore) -> None:
        """Merge the worker's sinks of the batch into ``store``."""
        for metric, sink, subs in self.aggregates:
            store.merge(metric, sink, subs)

    def containers(self) -> list[ConnectedSamples]:
        """The batch's containers in the order the worker emitted them (built once, then kept)."""
        if self._containers is not None:
            return self._containers
        built: dict[int, list[ConnectedSamples]] = {}
        for kid, metrics, tags, times, metadata, values, parallel in self.groups:
            if _build is not None:
                built[kid] = _build(
                    ConnectedSamples, metrics, values, len(metrics) if parallel else 0, times, tags, metadata
                )
                continue
            n = len(times)
            chunks: Iterable[Any] = values
            if parallel:
                k = len(metrics)
                chunks = map(values.__getitem__, map(slice, range(0, n * k, k), range(k, n * k + k, k)))
            built[kid] = list(
                map(
                    ConnectedSamples,
                    repeat(metrics, n),
                    chunks,
                    times,
                    tags,
                    repeat(None, n) if metadata is None else metadata,
                )
            )
        if self.order is None:
            out = next(iter(built.values()), [])
        else:
            nexts = {kid: iter(group).__next__ for kid, group in built.items()}
            out = [nexts[kid]() for kid in self.order]
        self._containers = out
        return out
