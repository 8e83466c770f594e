"""Encode k6's v2 ``MetricSet`` protobuf (grafana/k6 ``metric.proto``) by hand.

Four message shapes and a handful of scalar fields do not justify the
protobuf runtime and generated code; this writer covers exactly them.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence
from typing import Protocol

__all__ = ["encode_metric_set", "TrendHistogram", "COUNTER", "GAUGE", "RATE", "TREND"]

COUNTER, GAUGE, RATE, TREND = 1, 2, 3, 4
"""Protobuf MetricType numbers."""

_D = struct.Struct("<d").pack


class TrendHistogram(Protocol):
    """What a trend's aggregate (``aggregate.Hist``) holds for its TrendHdrValue."""

    buckets: dict[int, int]
    count: int
    sum: float
    min: float
    max: float
    low: int
    high: int
    resolution: float


def _varint(n: int, out: bytearray) -> None:
    if n < 0:
        n += 1 << 64
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)


def _bytes_field(num: int, data: bytes | bytearray, out: bytearray) -> None:
    _varint((num << 3) | 2, out)
    _varint(len(data), out)
    out += data


def _uint_field(num: int, n: int, out: bytearray) -> None:
    if n:
        _varint(num << 3, out)
        _varint(n, out)


def _double_field(num: int, v: float, out: bytearray) -> None:
    if v:
        _varint((num << 3) | 1, out)
        out += _D(v)


def _timestamp(t_ns: int) -> bytes:
    out = bytearray()
    s, ns = divmod(t_ns, 1_000_000_000)
    _uint_field(1, s, out)
    _uint_field(2, ns, out)
    return bytes(out)


def encode_value(kind: int, t_ns: int, agg: list[float] | TrendHistogram) -> bytes:
    """One CounterValue/GaugeValue/RateValue/TrendHdrValue for a bucket starting at ``t_ns``:
    ``agg`` is a counter's [sum, count], a gauge's [last, count, min, max, sum], a rate's
    [non-zero, total] or a trend's histogram."""
    out = bytearray()
    _bytes_field(1, _timestamp(t_ns), out)
    if isinstance(agg, list):
        if kind == COUNTER:
            _double_field(2, agg[0], out)
        elif kind == GAUGE:
            last, count, lo, hi, total = agg[0], int(agg[1]), agg[2], agg[3], agg[4]
            _double_field(2, last, out)
            _uint_field(3, count, out)
            _double_field(4, lo, out)
            _double_field(5, hi, out)
            _double_field(6, total / count if count else 0.0, out)
        elif kind == RATE:
            _uint_field(2, int(agg[0]), out)
            _uint_field(3, int(agg[1]), out)
    else:  # a trend
        h = agg
        indexes = sorted(h.buckets)
        if indexes:
            counters = bytearray()
            start = prev = indexes[0]
            for idx in indexes:
                _varint(h.buckets[idx], counters)
            # spans: first offset is the first index, later offsets the gap of empty buckets
            runs: list[tuple[int, int]] = []
            length = 1
            for idx in indexes[1:]:
                if idx == prev + 1:
                    length += 1
                else:
                    runs.append((start, length))
                    start, length = idx, 1
                prev = idx
            runs.append((start, length))
            _bytes_field(2, counters, out)
            end = None
            for s, n in runs:
                span = bytearray()
                _uint_field(1, s if end is None else s - end, span)
                _uint_field(2, n, span)
                _bytes_field(3, span, out)
                end = s + n
        _double_field(5, h.sum, out)
        _uint_field(6, h.count, out)
        _double_field(7, h.min, out)
        _double_field(8, h.max, out)
        if h.low:
            _uint_field(9, h.low, out)
        if h.high:
            _uint_field(10, h.high, out)
        _double_field(11, h.resolution, out)
    return bytes(out)


_SAMPLES_FIELD = {COUNTER: 2, GAUGE: 3, RATE: 4, TREND: 5}


def encode_series(kind: int, labels: Sequence[tuple[str, str]], values: Iterable[bytes]) -> bytes:
    """One TimeSeries: labels plus the typed list of already-encoded values."""
    out = bytearray()
    for k, v in labels:
        lab = bytearray()
        _bytes_field(1, k.encode("utf-8"), lab)
        _bytes_field(2, v.encode("utf-8"), lab)
        _bytes_field(1, lab, out)
    samples = bytearray()
    for value in values:
        _bytes_field(1, value, samples)
    _bytes_field(_SAMPLES_FIELD[kind], samples, out)
    return bytes(out)


def encode_metric_set(test_run_id: str, period_s: int, metrics: Iterable[tuple[str, int, Iterable[bytes]]]) -> bytes:
    """A MetricSet of (name, type, encoded series) triples."""
    out = bytearray()
    _bytes_field(1, test_run_id.encode("utf-8"), out)
    _uint_field(2, period_s, out)
    for name, kind, series in metrics:
        m = bytearray()
        _bytes_field(1, name.encode("utf-8"), m)
        _uint_field(2, kind, m)
        for s in series:
            _bytes_field(3, s, m)
        _bytes_field(3, m, out)
    return bytes(out)
