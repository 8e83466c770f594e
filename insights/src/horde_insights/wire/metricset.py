"""Decode k6's v2 ``MetricSet`` (metric.proto of grafana/k6, package ``metrics``).

The result is plain Python data, one :class:`Point` per time-series value,
ready to store. Field numbers follow the published .proto; the decoder is
hand-written (see the package README for why).
"""

from __future__ import annotations

import dataclasses

from .protobuf import DecodeError, as_double, as_sint, fields, packed_varints

__all__ = ["MetricSet", "Series", "Point", "decode_metric_set", "METRIC_TYPES", "DecodeError"]

METRIC_TYPES = {1: "counter", 2: "gauge", 3: "rate", 4: "trend"}
"""Protobuf MetricType numbers to k6's metric type names."""


@dataclasses.dataclass
class Point:
    """One aggregated value of a time series in one time bucket.

    ``time`` is the bucket start in seconds (float). The meaning of the other
    fields depends on the metric type:
    counter: ``value`` = sum. gauge: ``value`` = last, ``count``, ``min``,
    ``max``, ``sum`` (avg × count). rate: ``value`` = non-zero count,
    ``count`` = total. trend: ``count``, ``sum``, ``min``, ``max`` and
    ``hist``, a dict bucket index → count (``resolution`` the value unit),
    plus ``low``/``high`` overflow counters.
    """

    time: float
    value: float = 0.0
    count: int = 0
    sum: float = 0.0
    min: float = 0.0
    max: float = 0.0
    hist: dict[int, int] | None = None
    resolution: float = 1.0
    low: int = 0
    high: int = 0


@dataclasses.dataclass
class Series:
    """A metric's values for one label set."""

    labels: dict[str, str]
    points: list[Point]


@dataclasses.dataclass
class MetricSet:
    """A decoded push: test run id, aggregation period and metrics (name, type, series)."""

    test_run_id: str
    aggregation_period: int
    metrics: list[tuple[str, str, list[Series]]]

    @property
    def sample_count(self) -> int:
        """How many raw samples the push stands for (counters and gauges count values)."""
        total = 0
        for _, mtype, series in self.metrics:
            for s in series:
                for p in s.points:
                    total += p.count if mtype in ("rate", "trend", "gauge") else 1
        return total


def _timestamp(buf: bytes) -> float:
    seconds = nanos = 0
    for num, wt, val in fields(buf):
        if num == 1 and wt == 0:
            seconds = as_sint(val)  # type: ignore[arg-type]
        elif num == 2 and wt == 0:
            nanos = as_sint(val, 32)  # type: ignore[arg-type]
    return seconds + nanos / 1e9


def _label(buf: bytes) -> tuple[str, str]:
    name = value = ""
    for num, wt, val in fields(buf):
        if wt == 2 and num == 1:
            name = bytes(val).decode("utf-8")  # type: ignore[arg-type]
        elif wt == 2 and num == 2:
            value = bytes(val).decode("utf-8")  # type: ignore[arg-type]
    return name, value


def _counter(buf: bytes) -> Point:
    p = Point(0.0, count=1)
    for num, wt, val in fields(buf):
        if num == 1 and wt == 2:
            p.time = _timestamp(val)  # type: ignore[arg-type]
        elif num == 2:
            p.value = as_double(wt, val)
    p.sum = p.value
    return p


def _gauge(buf: bytes) -> Point:
    p = Point(0.0)
    avg = 0.0
    for num, wt, val in fields(buf):
        if num == 1 and wt == 2:
            p.time = _timestamp(val)  # type: ignore[arg-type]
        elif num == 2:
            p.value = as_double(wt, val)
        elif num == 3 and wt == 0:
            p.count = val  # type: ignore[assignment]
        elif num == 4:
            p.min = as_double(wt, val)
        elif num == 5:
            p.max = as_double(wt, val)
        elif num == 6:
            avg = as_double(wt, val)
    p.sum = avg * p.count
    return p


def _rate(buf: bytes) -> Point:
    p = Point(0.0)
    for num, wt, val in fields(buf):
        if num == 1 and wt == 2:
            p.time = _timestamp(val)  # type: ignore[arg-type]
        elif num == 2 and wt == 0:
            p.value = float(val)  # type: ignore[arg-type]
        elif num == 3 and wt == 0:
            p.count = val  # type: ignore[assignment]
    p.sum = p.value
    return p


def _trend(buf: bytes) -> Point:
    p = Point(0.0, resolution=1.0)
    counters: list[int] = []
    spans: list[tuple[int, int]] = []
    for num, wt, val in fields(buf):
        if num == 1 and wt == 2:
            p.time = _timestamp(val)  # type: ignore[arg-type]
        elif num == 2:
            counters.extend(packed_varints(wt, val))
        elif num == 3 and wt == 2:
            off = length = 0
            for n2, w2, v2 in fields(val):  # type: ignore[arg-type]
                if n2 == 1 and w2 == 0:
                    off = v2  # type: ignore[assignment]
                elif n2 == 2 and w2 == 0:
                    length = v2  # type: ignore[assignment]
            spans.append((off, length))
        elif num == 5:
            p.sum = as_double(wt, val)
        elif num == 6 and wt == 0:
            p.count = val  # type: ignore[assignment]
        elif num == 7:
            p.min = as_double(wt, val)
        elif num == 8:
            p.max = as_double(wt, val)
        elif num == 9 and wt == 0:
            p.low = val  # type: ignore[assignment]
        elif num == 10 and wt == 0:
            p.high = val  # type: ignore[assignment]
        elif num == 11:
            p.resolution = as_double(wt, val) or 1.0
    hist: dict[int, int] = {}
    i = 0
    index = 0
    for n, (off, length) in enumerate(spans):
        index = off if n == 0 else index + off
        for _ in range(length):
            if i >= len(counters):
                raise DecodeError("trend histogram has fewer counters than its spans describe")
            if counters[i]:
                hist[index] = hist.get(index, 0) + counters[i]
            i += 1
            index += 1
    if i != len(counters):
        raise DecodeError("trend histogram has more counters than its spans describe")
    p.hist = hist
    p.value = p.count
    return p


_SAMPLES = {2: ("counter", _counter), 3: ("gauge", _gauge), 4: ("rate", _rate), 5: ("trend", _trend)}


def _time_series(buf: bytes, mtype: str) -> Series:
    labels: dict[str, str] = {}
    points: list[Point] = []
    for num, wt, val in fields(buf):
        if num == 1 and wt == 2:
            k, v = _label(val)  # type: ignore[arg-type]
            labels[k] = v
        elif num in _SAMPLES and wt == 2:
            kind, parse = _SAMPLES[num]
            if kind != mtype:
                raise DecodeError(f"{kind} samples in a {mtype} metric")
            for n2, w2, v2 in fields(val):  # type: ignore[arg-type]
                if n2 == 1 and w2 == 2:
                    points.append(parse(v2))  # type: ignore[arg-type]
    return Series(labels, points)


def decode_metric_set(buf: bytes) -> MetricSet:
    """Decode a serialized ``MetricSet``; raise :class:`DecodeError` when malformed."""
    ms = MetricSet("", 0, [])
    try:
        for num, wt, val in fields(buf):
            if num == 1 and wt == 2:
                ms.test_run_id = bytes(val).decode("utf-8")  # type: ignore[arg-type]
            elif num == 2 and wt == 0:
                ms.aggregation_period = val  # type: ignore[assignment]
            elif num == 3 and wt == 2:
                name = ""
                mtype = 0
                raw_series: list[bytes] = []
                for n2, w2, v2 in fields(val):  # type: ignore[arg-type]
                    if n2 == 1 and w2 == 2:
                        name = bytes(v2).decode("utf-8")  # type: ignore[arg-type]
                    elif n2 == 2 and w2 == 0:
                        mtype = v2  # type: ignore[assignment]
                    elif n2 == 3 and w2 == 2:
                        raw_series.append(v2)  # type: ignore[arg-type]
                if not name:
                    raise DecodeError("metric without a name")
                if mtype not in METRIC_TYPES:
                    raise DecodeError(f"metric {name!r} has unknown type {mtype}")
                kind = METRIC_TYPES[mtype]
                ms.metrics.append((name, kind, [_time_series(s, kind) for s in raw_series]))
    except UnicodeDecodeError as exc:
        raise DecodeError(f"invalid UTF-8 in a string field: {exc}") from None
    return ms
