"""Decode k6's v2 ``MetricSet`` (metric.proto of grafana/k6, package ``metrics``).

The result is plain Python data, one :class:`Point` per time-series value,
ready to store. Field numbers follow the published .proto; the decoder is
hand-written (see the package README for why).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterator
from typing import Any

from .fast import decode_fast
from .protobuf import (
    Budget,
    Buffer,
    DecodeError,
    TooManyValues,
    as_double,
    as_sint,
    fields,
    read_varint,
)

__all__ = [
    "MAX_ENTRIES",
    "MAX_VALUES",
    "METRIC_TYPES",
    "DecodeError",
    "MetricSet",
    "Point",
    "Series",
    "TooManyValues",
    "decode_metric_set",
    "decode_careful",
    "labels_text",
]

MAX_ENTRIES = 200_000
"""Default cap on the entries one push may hold: metrics, series, labels, points (time-series values)
and non-zero histogram buckets together. k6 sends at most 1 000 series per push
(``K6_CLOUD_MAX_TIME_SERIES_IN_BATCH``), each with a few labels and 3 s buckets; the cap leaves room
for a backlog after an outage and keeps a decoded push at a few tens of MB."""

MAX_VALUES = 4_000_000
"""Default cap on the protobuf values (fields and packed histogram counters) one push may hold:
bounds the decoding time of a push whatever its shape (labels, series, histograms)."""

METRIC_TYPES = {1: "counter", 2: "gauge", 3: "rate", 4: "trend"}
"""Protobuf MetricType numbers to k6's metric type names."""


@dataclasses.dataclass(slots=True)
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
    text: str | None = dataclasses.field(default=None, compare=False)
    """The labels as canonical JSON (sorted keys), when the decoder already had it."""


def labels_text(labels: dict[str, str]) -> str:
    """A label set as canonical JSON text (sorted keys, compact): how the store keys series."""
    return json.dumps(labels, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


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


def _timestamp(buf: Buffer, budget: Budget) -> float:
    seconds = nanos = 0
    for num, wt, val in fields(buf, budget):
        if num == 1 and wt == 0:
            seconds = as_sint(val)
        elif num == 2 and wt == 0:
            nanos = as_sint(val, 32)
    return seconds + nanos / 1e9


def _label(buf: Buffer, budget: Budget) -> tuple[str, str]:
    name = value = ""
    for num, wt, val in fields(buf, budget):
        if wt == 2 and num == 1:
            name = bytes(val).decode("utf-8")
        elif wt == 2 and num == 2:
            value = bytes(val).decode("utf-8")
    return name, value


def _counter(buf: Buffer, budget: Budget) -> Point:
    p = Point(0.0, count=1)
    for num, wt, val in fields(buf, budget):
        if num == 1 and wt == 2:
            p.time = _timestamp(val, budget)
        elif num == 2:
            p.value = as_double(wt, val)
    p.sum = p.value
    return p


def _gauge(buf: Buffer, budget: Budget) -> Point:
    p = Point(0.0)
    avg = 0.0
    for num, wt, val in fields(buf, budget):
        if num == 1 and wt == 2:
            p.time = _timestamp(val, budget)
        elif num == 2:
            p.value = as_double(wt, val)
        elif num == 3 and wt == 0:
            p.count = val
        elif num == 4:
            p.min = as_double(wt, val)
        elif num == 5:
            p.max = as_double(wt, val)
        elif num == 6:
            avg = as_double(wt, val)
    p.sum = avg * p.count
    return p


def _rate(buf: Buffer, budget: Budget) -> Point:
    p = Point(0.0)
    for num, wt, val in fields(buf, budget):
        if num == 1 and wt == 2:
            p.time = _timestamp(val, budget)
        elif num == 2 and wt == 0:
            p.value = float(val)
        elif num == 3 and wt == 0:
            p.count = val
    p.sum = p.value
    return p


def _counters(chunks: list[tuple[int, Any]], budget: Budget) -> Iterator[int]:
    """The histogram counters of a trend value, from its packed or single ``counters`` fields, lazily."""
    for wt, val in chunks:
        if wt == 0:
            yield val
            continue
        if wt != 2:
            raise DecodeError("repeated varint field with wrong wire type")
        buf: Buffer = val
        pos, n = 0, len(buf)
        while pos < n:
            budget.take()
            v, pos = read_varint(buf, pos)
            yield v


def _trend(buf: Buffer, budget: Budget, entries: Budget) -> Point:
    p = Point(0.0, resolution=1.0)
    chunks: list[tuple[int, Any]] = []
    spans: list[tuple[int, int]] = []
    for num, wt, val in fields(buf, budget):
        if num == 1 and wt == 2:
            p.time = _timestamp(val, budget)
        elif num == 2:
            entries.take()
            chunks.append((wt, val))
        elif num == 3 and wt == 2:
            entries.take()
            off = length = 0
            for n2, w2, v2 in fields(val, budget):
                if n2 == 1 and w2 == 0:
                    off = v2
                elif n2 == 2 and w2 == 0:
                    length = v2
            spans.append((off, length))
        elif num == 5:
            p.sum = as_double(wt, val)
        elif num == 6 and wt == 0:
            p.count = val
        elif num == 7:
            p.min = as_double(wt, val)
        elif num == 8:
            p.max = as_double(wt, val)
        elif num == 9 and wt == 0:
            p.low = val
        elif num == 10 and wt == 0:
            p.high = val
        elif num == 11:
            p.resolution = as_double(wt, val) or 1.0
    hist: dict[int, int] = {}
    counters = _counters(chunks, budget)
    index = 0
    for n, (off, length) in enumerate(spans):
        index = off if n == 0 else index + off
        for _ in range(length):
            c = next(counters, None)
            if c is None:
                raise DecodeError("trend histogram has fewer counters than its spans describe")
            if c:
                if index not in hist:
                    entries.take()
                hist[index] = hist.get(index, 0) + c
            index += 1
    if next(counters, None) is not None:
        raise DecodeError("trend histogram has more counters than its spans describe")
    p.hist = hist
    p.value = p.count
    return p


def _scalar(parse: Callable[[Buffer, Budget], Point]) -> Callable[[Buffer, Budget, Budget], Point]:
    return lambda buf, budget, entries: parse(buf, budget)


_SAMPLES = {
    2: ("counter", _scalar(_counter)),
    3: ("gauge", _scalar(_gauge)),
    4: ("rate", _scalar(_rate)),
    5: ("trend", _trend),
}


def _time_series(buf: Buffer, mtype: str, budget: Budget, entries: Budget) -> Series:
    labels: dict[str, str] = {}
    points: list[Point] = []
    for num, wt, val in fields(buf, budget):
        if num == 1 and wt == 2:
            entries.take()
            k, v = _label(val, budget)
            labels[k] = v
        elif num in _SAMPLES and wt == 2:
            kind, parse = _SAMPLES[num]
            if kind != mtype:
                raise DecodeError(f"{kind} samples in a {mtype} metric")
            for n2, w2, v2 in fields(val, budget):
                if n2 == 1 and w2 == 2:
                    entries.take()
                    points.append(parse(v2, budget, entries))
    return Series(labels, points)


def decode_metric_set(buf: Buffer, *, max_entries: int = MAX_ENTRIES, max_values: int = MAX_VALUES) -> MetricSet:
    """Decode a serialized ``MetricSet``; raise :class:`DecodeError` when malformed, and its subclass
    :class:`TooManyValues` past ``max_entries`` entries or ``max_values`` protobuf values (both counted
    while decoding, so refusing a push costs bounded time and memory). A ``memoryview`` is decoded
    without copies."""
    fast = decode_fast(buf, max_entries, max_values)
    if fast is not None:
        return fast  # type: ignore[no-any-return]
    return decode_careful(buf, max_entries=max_entries, max_values=max_values)


def decode_careful(buf: Buffer, *, max_entries: int = MAX_ENTRIES, max_values: int = MAX_VALUES) -> MetricSet:
    """:func:`decode_metric_set` without the fast path: the hand-written decoder, which counts entries
    and values while it decodes and names what is wrong with a malformed push."""
    budget = Budget(max_values)
    entries = Budget(max_entries, "entries (metrics, series, labels, points, histogram buckets)")
    view = buf if isinstance(buf, memoryview) else memoryview(buf)
    ms = MetricSet("", 0, [])
    try:
        for num, wt, val in fields(view, budget):
            if num == 1 and wt == 2:
                ms.test_run_id = bytes(val).decode("utf-8")
            elif num == 2 and wt == 0:
                ms.aggregation_period = val
            elif num == 3 and wt == 2:
                entries.take()
                name = ""
                mtype = 0
                raw_series: list[Buffer] = []
                for n2, w2, v2 in fields(val, budget):
                    if n2 == 1 and w2 == 2:
                        name = bytes(v2).decode("utf-8")
                    elif n2 == 2 and w2 == 0:
                        mtype = v2
                    elif n2 == 3 and w2 == 2:
                        entries.take()
                        raw_series.append(v2)
                if not name:
                    raise DecodeError("metric without a name")
                if mtype not in METRIC_TYPES:
                    raise DecodeError(f"metric {name!r} has unknown type {mtype}")
                kind = METRIC_TYPES[mtype]
                ms.metrics.append((name, kind, [_time_series(s, kind, budget, entries) for s in raw_series]))
    except UnicodeDecodeError as exc:
        raise DecodeError(f"invalid UTF-8 in a string field: {exc}") from None
    return ms
