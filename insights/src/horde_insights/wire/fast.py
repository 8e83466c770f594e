"""A fast path for decoding ordinary pushes: the ``protobuf`` package's C parser (upb).

The hand-written decoder of metricset.py counts entries and values while it
decodes, so a hostile push costs bounded time and memory; at ~70 µs per
series it is also the service's bottleneck. A push of at most
``FAST_MAX_BYTES`` decoded bytes cannot make the C parser allocate much
(every message takes at least two bytes), so such a push is parsed in C and
converted here. Anything unusual — a parse error, several sample kinds in
one series, a histogram whose spans and counters disagree, more entries than
allowed, or no ``protobuf`` installed — returns None, and the hand-written
decoder decodes the push again and reports exactly what is wrong. The
result is the same :class:`MetricSet` either way.

The conversion to Python objects costs far more than the C parse, so it is
kept lean: labels, timestamps and histogram spans are declared as bytes and
looked up in caches (each parsed on its own only when new), repeated fields
are sliced (copied in C) rather than iterated, and a metric's series go
through each step together, in comprehensions.
"""

from __future__ import annotations

from operator import attrgetter
from typing import Any

__all__ = ["FAST_MAX_BYTES", "decode_fast"]

FAST_MAX_BYTES = 2 << 20
"""Pushes up to this many decoded bytes take the fast path."""

_MetricSetPb: Any = None
_LabelPb: Any = None
_TimestampPb: Any = None
_SpanPb: Any = None
_Point: Any = None
_UNAVAILABLE = False
LABEL_CACHE_SIZE = 200_000
"""Label sets remembered (their serialized labels -> dict and canonical JSON text); cleared when full."""
_label_cache: dict[tuple[bytes, ...], tuple[dict[str, str], str]] = {}
SPAN_CACHE_SIZE = 100_000
"""Histogram spans remembered (serialized span -> offset, length); cleared when full."""
_span_cache: dict[bytes, tuple[int, int]] = {}


def _message_class() -> Any:
    """The MetricSet message class, built from a descriptor of k6's metric.proto (field numbers as in
    metricset.py; counts as uint64 so that any varint is kept whole). Labels, timestamps and histogram
    spans are kept as their serialized bytes, which key caches; each is parsed on its own when new."""
    global _MetricSetPb, _LabelPb, _TimestampPb, _SpanPb, _Point, _UNAVAILABLE
    if _MetricSetPb is not None or _UNAVAILABLE:
        return _MetricSetPb
    try:
        from google.protobuf import descriptor_pb2, descriptor_pool, message_factory  # type: ignore[import-untyped]
    except ImportError:
        _UNAVAILABLE = True
        return None
    F = descriptor_pb2.FieldDescriptorProto
    fd = descriptor_pb2.FileDescriptorProto(name="horde_insights_k6_metrics.proto", package="horde_k6", syntax="proto3")

    def msg(name: str, *fields: tuple[str, int, int, str | None, bool]) -> None:
        m = fd.message_type.add(name=name)
        for fname, num, ftype, tname, repeated in fields:
            f = m.field.add(name=fname, number=num, type=ftype)
            f.label = F.LABEL_REPEATED if repeated else F.LABEL_OPTIONAL
            if tname:
                f.type_name = ".horde_k6." + tname

    msg("Timestamp", ("seconds", 1, F.TYPE_INT64, None, False), ("nanos", 2, F.TYPE_INT32, None, False))
    msg("Label", ("name", 1, F.TYPE_STRING, None, False), ("value", 2, F.TYPE_STRING, None, False))
    msg("CounterValue", ("time", 1, F.TYPE_BYTES, None, False), ("value", 2, F.TYPE_DOUBLE, None, False))
    msg(
        "GaugeValue",
        ("time", 1, F.TYPE_BYTES, None, False),
        ("last", 2, F.TYPE_DOUBLE, None, False),
        ("count", 3, F.TYPE_UINT64, None, False),
        ("min", 4, F.TYPE_DOUBLE, None, False),
        ("max", 5, F.TYPE_DOUBLE, None, False),
        ("avg", 6, F.TYPE_DOUBLE, None, False),
    )
    msg(
        "RateValue",
        ("time", 1, F.TYPE_BYTES, None, False),
        ("nonzero", 2, F.TYPE_UINT64, None, False),
        ("total", 3, F.TYPE_UINT64, None, False),
    )
    msg("BucketSpan", ("offset", 1, F.TYPE_UINT64, None, False), ("length", 2, F.TYPE_UINT64, None, False))
    msg(
        "TrendValue",
        ("time", 1, F.TYPE_BYTES, None, False),
        ("counters", 2, F.TYPE_UINT64, None, True),
        ("spans", 3, F.TYPE_BYTES, None, True),
        ("sum", 5, F.TYPE_DOUBLE, None, False),
        ("count", 6, F.TYPE_UINT64, None, False),
        ("min", 7, F.TYPE_DOUBLE, None, False),
        ("max", 8, F.TYPE_DOUBLE, None, False),
        ("low", 9, F.TYPE_UINT64, None, False),
        ("high", 10, F.TYPE_UINT64, None, False),
        ("resolution", 11, F.TYPE_DOUBLE, None, False),
    )
    for kind in ("Counter", "Gauge", "Rate", "Trend"):
        msg(f"{kind}Samples", ("values", 1, F.TYPE_MESSAGE, f"{kind}Value", True))
    msg(
        "TimeSeries",  # labels kept as their serialized bytes: the key of the label cache
        ("labels", 1, F.TYPE_BYTES, None, True),
        ("counter", 2, F.TYPE_MESSAGE, "CounterSamples", False),
        ("gauge", 3, F.TYPE_MESSAGE, "GaugeSamples", False),
        ("rate", 4, F.TYPE_MESSAGE, "RateSamples", False),
        ("trend", 5, F.TYPE_MESSAGE, "TrendSamples", False),
    )
    msg(
        "Metric",
        ("name", 1, F.TYPE_STRING, None, False),
        ("type", 2, F.TYPE_UINT64, None, False),
        ("series", 3, F.TYPE_MESSAGE, "TimeSeries", True),
    )
    msg(
        "MetricSet",
        ("test_run_id", 1, F.TYPE_STRING, None, False),
        ("period", 2, F.TYPE_UINT64, None, False),
        ("metrics", 3, F.TYPE_MESSAGE, "Metric", True),
    )
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fd)
    from .metricset import Point

    _Point = Point
    _LabelPb = message_factory.GetMessageClass(pool.FindMessageTypeByName("horde_k6.Label"))
    _TimestampPb = message_factory.GetMessageClass(pool.FindMessageTypeByName("horde_k6.Timestamp"))
    _SpanPb = message_factory.GetMessageClass(pool.FindMessageTypeByName("horde_k6.BucketSpan"))
    _MetricSetPb = message_factory.GetMessageClass(pool.FindMessageTypeByName("horde_k6.MetricSet"))
    return _MetricSetPb


class _Unusual(Exception):
    """The push needs the hand-written decoder."""


_OTHER_KINDS = {
    "counter": ("gauge", "rate", "trend"),
    "gauge": ("counter", "rate", "trend"),
    "rate": ("counter", "gauge", "trend"),
    "trend": ("counter", "gauge", "rate"),
}
"""For each metric type, the sample kinds its series must not hold."""


def decode_fast(buf: Any, max_entries: int, max_values: int) -> Any:
    """The push decoded in C and converted, or None when the hand-written decoder must decode it."""
    from .metricset import METRIC_TYPES, MetricSet, Series

    n = len(buf)
    if n > FAST_MAX_BYTES or n > max_values:  # a push of n bytes holds fewer than n values
        return None
    cls = _message_class()
    if cls is None:
        return None
    try:
        pb = cls.FromString(bytes(buf))
    except Exception:  # malformed: let the careful decoder name the problem
        return None
    entries = 0
    times: dict[bytes, float] = {}  # serialized Timestamp -> seconds: a push repeats a few times
    label_get = _label_cache.get
    ms = MetricSet(pb.test_run_id, pb.period, [])
    try:  # a metric's series at a time: comprehensions and map() cost less than a loop per series
        for m in pb.metrics:
            kind = METRIC_TYPES.get(m.type)
            if not m.name or kind is None:
                raise _Unusual
            series = m.series[:]  # slicing a repeated field copies in C: cheaper than iterating it
            a, b, c = _OTHER_KINDS[kind]
            if any([ts.HasField(a) or ts.HasField(b) or ts.HasField(c) for ts in series]):
                raise _Unusual
            keys = [tuple(ts.labels[:]) for ts in series]
            known = [label_get(k) or _labels_of(k) for k in keys]
            points, used = _CONVERTERS[kind](list(map(_VALUES[kind], series)), times)
            entries += 1 + 2 * len(series) + sum(map(len, keys)) + used
            if entries > max_entries:
                raise _Unusual
            out = [Series(labels, pts, text) for (labels, text), pts in zip(known, points)]
            ms.metrics.append((m.name, kind, out))
    except _Unusual:
        return None
    return ms


def labels_text(labels: dict[str, str]) -> str:
    from .metricset import labels_text as text

    return text(labels)


def _labels_of(raw: tuple[bytes, ...]) -> tuple[dict[str, str], str]:
    """Decode (and remember) one series' labels: a dict and its canonical JSON text."""
    labels: dict[str, str] = {}
    for b in raw:
        try:
            lab = _LabelPb.FromString(b)
        except Exception:  # invalid UTF-8 or a malformed label
            raise _Unusual from None
        labels[lab.name] = lab.value
    known = (labels, labels_text(labels))
    if len(_label_cache) >= LABEL_CACHE_SIZE:
        _label_cache.clear()
    _label_cache[raw] = known
    return known


def _time_of(raw: bytes, times: dict[bytes, float]) -> float:
    """A serialized Timestamp in seconds (remembered in ``times``, the push's cache)."""
    try:
        t = _TimestampPb.FromString(raw)
    except Exception:  # malformed
        raise _Unusual from None
    seconds: float = t.seconds + t.nanos / 1e9
    times[raw] = seconds
    return seconds


def _counter_points(samples: list[Any], times: dict[bytes, float]) -> tuple[list[list[Any]], int]:
    """Each series' counter values as Points, and the entries they use. (A time of 0.0 is falsy
    and so recomputed: the same value.)"""
    point = _Point
    out = []
    for values in samples:
        points = []
        for v in values[:]:
            raw = v.time
            x = v.value
            points.append(point(times.get(raw) or _time_of(raw, times), x, 1, x))
        out.append(points)
    return out, sum(map(len, out))


def _gauge_points(samples: list[Any], times: dict[bytes, float]) -> tuple[list[list[Any]], int]:
    """Each series' gauge values as Points, and the entries they use."""
    point = _Point
    out = []
    for values in samples:
        points = []
        for v in values[:]:
            raw = v.time
            count = v.count
            points.append(point(times.get(raw) or _time_of(raw, times), v.last, count, v.avg * count, v.min, v.max))
        out.append(points)
    return out, sum(map(len, out))


def _rate_points(samples: list[Any], times: dict[bytes, float]) -> tuple[list[list[Any]], int]:
    """Each series' rate values as Points, and the entries they use."""
    point = _Point
    out = []
    for values in samples:
        points = []
        for v in values[:]:
            raw = v.time
            nonzero = float(v.nonzero)
            points.append(point(times.get(raw) or _time_of(raw, times), nonzero, v.total, nonzero))
        out.append(points)
    return out, sum(map(len, out))


def _trend_points(samples: list[Any], times: dict[bytes, float]) -> tuple[list[list[Any]], int]:
    """Each series' trend values as Points, and the entries they use (points, spans, counter
    fields, buckets)."""
    point = _Point
    out = []
    used = 0
    for values in samples:
        points = []
        for v in values[:]:
            raw = v.time
            hist, n = _histogram(v.counters[:], v.spans[:])
            used += 1 + n
            count = v.count
            t = times.get(raw) or _time_of(raw, times)
            points.append(point(t, count, count, v.sum, v.min, v.max, hist, v.resolution or 1.0, v.low, v.high))
        out.append(points)
    return out, used


_CONVERTERS = {"counter": _counter_points, "gauge": _gauge_points, "rate": _rate_points, "trend": _trend_points}
"""Each metric type's converter: (its series' values, the push's time cache) -> (points per series,
entries used)."""

_VALUES = {kind: attrgetter(f"{kind}.values") for kind in _CONVERTERS}
"""Each metric type's series -> its values (an absent kind reads as no values)."""


def _histogram(counters: list[int], spans: list[bytes]) -> tuple[dict[int, int], int]:
    """A trend's histogram (bucket index -> count, non-zero buckets only) from its counters and
    serialized spans, and the entries it uses (spans, counter fields, buckets). Span offsets are
    unsigned, so bucket indexes only grow: no bucket is counted twice."""
    get = _span_cache.get
    hist: dict[int, int] = {}
    index = i = 0  # the bucket index of counter i; the first span's offset is from 0
    ncounters = len(counters)
    for s in spans:
        pair = get(s)
        if pair is None:
            pair = _span_of(s)
        offset, length = pair
        index += offset
        if length == 1 and i < ncounters:  # sparse histograms: most spans hold one bucket
            c = counters[i]
            if c:
                hist[index] = c
            index += 1
            i += 1
            continue
        if i + length > ncounters:
            raise _Unusual
        for c in counters[i : i + length]:
            if c:
                hist[index] = c
            index += 1
        i += length
    if i != ncounters:
        raise _Unusual
    return hist, len(spans) + (1 if ncounters else 0) + len(hist)


def _span_of(raw: bytes) -> tuple[int, int]:
    """A serialized BucketSpan as (offset, length), remembered."""
    try:
        s = _SpanPb.FromString(raw)
    except Exception:  # malformed
        raise _Unusual from None
    pair = (s.offset, s.length)
    if len(_span_cache) >= SPAN_CACHE_SIZE:
        _span_cache.clear()
    _span_cache[raw] = pair
    return pair
