"""k6's OpenTelemetry metric mapping: samples aggregated per series, exported as OTLP protobuf.

As k6 v1.1.0 does (through the OpenTelemetry Go SDK with its defaults):

- a counter is a ``Sum`` (monotonic, double values);
- a gauge is a ``Gauge`` holding the last value (double);
- a trend is an explicit-bucket ``Histogram`` (with sum, min and max, the
  SDK's default bounds);
- a rate is two ``Sum`` counters (monotonic, integers):
  ``<name>.occurred`` (non-zero samples) and ``<name>.total`` (all samples);
- the unit is ``ms`` for time metrics, ``By`` for data metrics, none otherwise
  (the rate counters have none);
- the metric name is ``metricPrefix + name``; attributes are the sample's tags
  with an empty key or value left out; metadata is not sent;
- one instrumentation scope ``k6``; resource attributes ``service.name``,
  ``service.version`` and the ``telemetry.sdk.*`` ones, plus
  ``OTEL_RESOURCE_ATTRIBUTES``; horde adds ``service.instance.id``.

Temporality is cumulative by default (the SDK's default): every export
carries every series seen so far, with its totals since the series' start, so
the last export delivered holds the whole run. With delta temporality (what
``OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE=delta`` or ``lowmemory``
gives k6's instruments) sums and histograms carry what came since the previous
export, and only series that changed are exported.
"""

from __future__ import annotations

import bisect
import collections
import functools
import math
import struct
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import NamedTuple
from urllib.parse import unquote

from horde.metrics import Metric, MetricType, SampleContainer, TagSet, ValueType
from horde.output import PayloadCodec
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.metrics.v1 import metrics_pb2

__all__ = [
    "DEFAULT_BOUNDS",
    "EXPORT_CODEC",
    "Aggregator",
    "Export",
    "decode_export",
    "encode_export",
    "export_points",
    "resource_attributes",
    "split_export",
    "split_to_size",
]

DEFAULT_BOUNDS: tuple[float, ...] = (0, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000)
"""The OpenTelemetry SDKs' default explicit histogram bucket bounds (what k6's trends get)."""

SCOPE_NAME = "k6"
"""k6 names its meter ``k6``; dashboards may filter on it."""

_bucket = functools.partial(bisect.bisect_left, DEFAULT_BOUNDS)
_CUMULATIVE = metrics_pb2.AGGREGATION_TEMPORALITY_CUMULATIVE
_DELTA = metrics_pb2.AGGREGATION_TEMPORALITY_DELTA
_POINTS = struct.Struct("<q")


class Export(NamedTuple):
    """One ExportMetricsServiceRequest, serialized, and the number of data points it carries."""

    body: bytes
    points: int


def encode_export(export: Export) -> bytes:
    """An export as bytes for the spill files."""
    return _POINTS.pack(export.points) + export.body


def decode_export(data: bytes) -> Export:
    """The export :func:`encode_export` encoded."""
    return Export(data[_POINTS.size :], _POINTS.unpack_from(data)[0])


def export_points(export: Export) -> int:
    """Data points in ``export``: the unit of the delivery counts."""
    return export.points


def export_bytes(export: Export) -> int:
    """Bytes of ``export``: the unit of ``memoryLimit``."""
    return len(export.body)


EXPORT_CODEC = PayloadCodec(encode_export, decode_export, export_points, export_bytes, "data points")
"""How the delivery spills and counts exports: in data points, memory in bytes."""


def split_export(export: Export) -> list[Export] | None:
    """``export`` as two smaller ones (its metrics halved, or one metric's data points), None when it
    holds a single data point. For receivers that refuse a request as too large."""
    req = ExportMetricsServiceRequest.FromString(export.body)
    rm = req.resource_metrics[0]
    sm = rm.scope_metrics[0]
    metrics = list(sm.metrics)
    halves: list[list[metrics_pb2.Metric]]
    if len(metrics) > 1:
        mid = len(metrics) // 2
        halves = [metrics[:mid], metrics[mid:]]
    else:
        (metric,) = metrics
        kind = metric.WhichOneof("data")
        points = list(getattr(metric, kind).data_points) if kind else []
        if kind is None or len(points) < 2:
            return None
        mid = len(points) // 2
        halves = []
        for part in (points[:mid], points[mid:]):
            half = metrics_pb2.Metric()
            half.CopyFrom(metric)
            getattr(half, kind).ClearField("data_points")
            getattr(half, kind).data_points.extend(part)
            halves.append([half])
    out = []
    for part_metrics in halves:
        part = ExportMetricsServiceRequest()
        part_rm = part.resource_metrics.add()
        part_rm.resource.CopyFrom(rm.resource)
        part_sm = part_rm.scope_metrics.add()
        part_sm.scope.CopyFrom(sm.scope)
        part_sm.metrics.extend(part_metrics)
        out.append(Export(part.SerializeToString(), sum(_points(m) for m in part_metrics)))
    return out


def split_to_size(export: Export, max_bytes: int) -> list[Export]:
    """``export`` split until every part is at most ``max_bytes`` (or a single data point)."""
    if len(export.body) <= max_bytes:
        return [export]
    parts = split_export(export)
    if parts is None:
        return [export]
    return [p for part in parts for p in split_to_size(part, max_bytes)]


def _points(metric: metrics_pb2.Metric) -> int:
    kind = metric.WhichOneof("data")
    return len(getattr(metric, kind).data_points) if kind else 0


def resource_attributes(
    service_name: str, service_version: str, sdk_version: str, env: Mapping[str, str]
) -> dict[str, str]:
    """The resource: ``OTEL_RESOURCE_ATTRIBUTES`` (``k=v,...``), the telemetry SDK and service attributes.

    ``service.instance.id`` is a fresh UUID unless ``OTEL_RESOURCE_ATTRIBUTES`` sets it: the
    cumulative series of several instances of one test (``--execution-segment``, Kubernetes)
    stay apart, so a backend can sum them instead of one overwriting another.
    """
    attrs: dict[str, str] = {}
    for item in env.get("OTEL_RESOURCE_ATTRIBUTES", "").split(","):
        key, sep, value = item.partition("=")
        if sep and key.strip():
            attrs[unquote(key.strip())] = unquote(value.strip())
    attrs.setdefault("service.instance.id", str(uuid.uuid4()))
    attrs.update(
        {
            "telemetry.sdk.language": "python",
            "telemetry.sdk.name": "horde-out-otel",
            "telemetry.sdk.version": sdk_version,
            "service.name": service_name,
            "service.version": service_version,
        }
    )
    return attrs


def _key_values(pairs: Iterable[tuple[str, str]]) -> list[KeyValue]:
    return [KeyValue(key=k, value=AnyValue(string_value=v)) for k, v in pairs]


class _Counter:
    __slots__ = ("total",)

    def __init__(self) -> None:
        self.total = 0.0

    def add(self, values: Sequence[float]) -> None:
        self.total += sum(values)

    def reset(self) -> None:
        self.total = 0.0


class _Gauge:
    __slots__ = ("last",)

    def __init__(self) -> None:
        self.last = 0.0

    def add(self, values: Sequence[float]) -> None:
        self.last = values[-1]

    def reset(self) -> None:
        pass  # a gauge keeps its last value


class _Rate:
    __slots__ = ("occurred", "total")

    def __init__(self) -> None:
        self.occurred = 0
        self.total = 0

    def add(self, values: Sequence[float]) -> None:
        n = len(values)
        self.total += n
        self.occurred += n - values.count(0.0)

    def reset(self) -> None:
        self.occurred = self.total = 0


class _Histogram:
    __slots__ = ("buckets", "count", "sum", "min", "max")

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.buckets = [0] * (len(DEFAULT_BOUNDS) + 1)
        self.count = 0
        self.sum = 0.0
        self.min = math.inf
        self.max = -math.inf

    def add(self, values: Sequence[float]) -> None:
        # bucket i holds (bounds[i-1], bounds[i]]: upper bounds are inclusive in OTLP
        buckets = self.buckets
        for i, k in collections.Counter(map(_bucket, values)).items():
            buckets[i] += k
        self.count += len(values)
        self.sum += sum(values)
        low, high = min(values), max(values)
        if low < self.min:
            self.min = low
        if high > self.max:
            self.max = high


_State = _Counter | _Gauge | _Rate | _Histogram
_STATES: dict[MetricType, type[_Counter] | type[_Gauge] | type[_Rate] | type[_Histogram]] = {
    MetricType.COUNTER: _Counter,
    MetricType.GAUGE: _Gauge,
    MetricType.RATE: _Rate,
    MetricType.TREND: _Histogram,
}
_MAX_RUNS = 100_000
"""Cached runs of series per (metrics sequence, tag set) before the cache starts over."""
_UNITS = {ValueType.TIME: "ms", ValueType.DATA: "By"}


class _Series(NamedTuple):
    attributes: list[KeyValue]
    state: _State


class _MetricSeries:
    """The series of one metric, and when the first of them started."""

    __slots__ = ("metric", "start_ns", "series")

    def __init__(self, metric: Metric, start_ns: int) -> None:
        self.metric = metric
        self.start_ns = start_ns
        self.series: list[_Series] = []


class Aggregator:
    """Samples in, OTLP exports out. Not thread-safe: one thread calls :meth:`add` and :meth:`export`.

    Cumulative (the default, as k6): every export holds every series with its totals so far.
    ``delta=True`` (k6 with ``OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE=delta`` or
    ``lowmemory``): sums and histograms hold what came since the previous export, and only the
    series that changed since then are exported (gauges too), as the SDK does.

    :meth:`add` costs a dict look-up per container and an update per sample; :meth:`export`
    builds and serializes one request.
    """

    def __init__(self, prefix: str, resource: Mapping[str, str], *, delta: bool = False) -> None:
        self.prefix = prefix
        self.delta = delta
        self._temporality = _DELTA if delta else _CUMULATIVE
        self._dirty: set[int] | None = set() if delta else None
        self._resource = _key_values(resource.items())
        self._states: dict[tuple[str, TagSet], _State] = {}
        self._by_metric: dict[str, _MetricSeries] = {}
        self._attrs: dict[TagSet, list[KeyValue]] = {}
        self._runs: dict[tuple[int, TagSet], tuple[Sequence[Metric], list[_State]]] = {}
        self._singles: dict[tuple[str, TagSet], list[_State]] = {}
        self.samples = 0
        """Samples aggregated so far."""

    @property
    def series(self) -> int:
        """Series (metric + tag set) seen so far."""
        return len(self._states)

    def add(self, containers: Sequence[SampleContainer], now_ns: int) -> None:
        """Aggregate every sample of ``containers`` (``now_ns`` starts the series first seen here).

        Per container: one look-up of its run of series (its metrics under its tag set) and one
        append of its values; then per run, each series takes its column of values at once.
        """
        runs, singles = self._runs, self._singles
        pending: dict[int, tuple[list[_State], list[Sequence[float]]]] = {}
        n = 0
        for c in containers:
            metrics, tags, values = c.metrics, c.tags, c.values
            n += len(values)
            if len(metrics) == 1:  # a lone sample: its metrics tuple is made afresh, key by name
                name = metrics[0].name
                states = singles.get((name, tags))
                if states is None:
                    states = singles[(name, tags)] = [self._state(metrics[0], tags, now_ns)]
            else:
                run = runs.get((id(metrics), tags))
                if run is None or run[0] is not metrics:  # new, or an id reused since an earlier call
                    if len(runs) >= _MAX_RUNS:  # containers whose metrics sequences are not shared
                        runs.clear()
                    run = runs[(id(metrics), tags)] = (metrics, [self._state(m, tags, now_ns) for m in metrics])
                states = run[1]
            entry = pending.get(id(states))
            if entry is None:
                pending[id(states)] = (states, [values])
            else:
                entry[1].append(values)
        dirty = self._dirty
        for states, rows in pending.values():
            for state, column in zip(states, zip(*rows)):
                state.add(column)
            if dirty is not None:
                dirty.update(map(id, states))
        self.samples += n

    def _state(self, metric: Metric, tags: TagSet, now_ns: int) -> _State:
        state = self._states.get((metric.name, tags))
        return state if state is not None else self._new_series(metric, tags, now_ns)

    def _new_series(self, metric: Metric, tags: TagSet, now_ns: int) -> _State:
        state = _STATES[metric.type]()
        self._states[(metric.name, tags)] = state
        attrs = self._attrs.get(tags)
        if attrs is None:
            attrs = self._attrs[tags] = _key_values((k, v) for k, v in tags.items() if k and v)
        per_metric = self._by_metric.get(metric.name)
        if per_metric is None:
            per_metric = self._by_metric[metric.name] = _MetricSeries(metric, now_ns)
        per_metric.series.append(_Series(attrs, state))
        return state

    def export(self, now_ns: int) -> Export | None:
        """One serialized request: every series' totals (cumulative) or the changes since the last
        export (delta); None when there is nothing to send."""
        req = ExportMetricsServiceRequest()
        rm = req.resource_metrics.add()
        rm.resource.attributes.extend(self._resource)
        sm = rm.scope_metrics.add()
        sm.scope.name = SCOPE_NAME
        points = 0
        dirty = self._dirty
        for ms in self._by_metric.values():
            series = ms.series if dirty is None else [s for s in ms.series if id(s.state) in dirty]
            if series:
                points += self._encode_metric(sm.metrics, ms.metric, series, ms.start_ns, now_ns)
            if dirty is not None:
                for s in series:
                    s.state.reset()
                ms.start_ns = now_ns  # the next delta starts here
        if dirty is not None:
            dirty.clear()
        if not points:
            return None
        return Export(req.SerializeToString(), points)

    def _encode_metric(self, out: object, metric: Metric, series: list[_Series], start: int, now_ns: int) -> int:
        name = self.prefix + metric.name
        temporality = self._temporality
        add = out.add  # type: ignore[attr-defined]
        if metric.type is MetricType.RATE:
            # as the SDK does, a series that never counted (no non-zero sample yet) is not exported,
            # and neither is a metric without series
            occurred = [(a, s.occurred) for a, s in series if s.occurred]  # type: ignore[union-attr]
            total = [(a, s.total) for a, s in series]  # type: ignore[union-attr]
            for suffix, points in ((".occurred", occurred), (".total", total)):
                if not points:
                    continue
                m = add(name=name + suffix)
                m.sum.aggregation_temporality = temporality
                m.sum.is_monotonic = True
                for attrs, value in points:
                    dp = m.sum.data_points.add(start_time_unix_nano=start, time_unix_nano=now_ns, as_int=value)
                    dp.attributes.extend(attrs)
            return len(occurred) + len(total)
        m = add(name=name, unit=_UNITS.get(metric.contains, ""))
        if metric.type is MetricType.COUNTER:
            m.sum.aggregation_temporality = temporality
            m.sum.is_monotonic = True
            for attrs, state in series:
                assert isinstance(state, _Counter)
                dp = m.sum.data_points.add(start_time_unix_nano=start, time_unix_nano=now_ns, as_double=state.total)
                dp.attributes.extend(attrs)
        elif metric.type is MetricType.GAUGE:
            for attrs, state in series:
                assert isinstance(state, _Gauge)
                dp = m.gauge.data_points.add(start_time_unix_nano=start, time_unix_nano=now_ns, as_double=state.last)
                dp.attributes.extend(attrs)
        else:
            m.histogram.aggregation_temporality = temporality
            for attrs, state in series:
                assert isinstance(state, _Histogram)
                hp = m.histogram.data_points.add(
                    start_time_unix_nano=start,
                    time_unix_nano=now_ns,
                    count=state.count,
                    sum=state.sum,
                    bucket_counts=state.buckets,
                    explicit_bounds=DEFAULT_BOUNDS,
                )
                if state.count:
                    hp.min = state.min
                    hp.max = state.max
                hp.attributes.extend(attrs)
        return len(series)
