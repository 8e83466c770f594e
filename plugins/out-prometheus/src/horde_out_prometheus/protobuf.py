"""Prometheus remote write 1.0 messages, encoded by hand (``prometheus/prompb/types.proto``, ``remote.proto``).

Only what the output sends: ``WriteRequest{timeseries=1}``,
``TimeSeries{labels=1, samples=2, histograms=4}``, ``Label{name=1, value=2}``,
``Sample{value=1, timestamp=2}`` and the integer-count ``Histogram``
(count_int=1, sum=3, schema=4, zero_threshold=5, zero_count_int=6,
negative_spans=8, negative_deltas=9, positive_spans=11, positive_deltas=12,
timestamp=15) with ``BucketSpan{offset=1, length=2}``. A WriteRequest body
is the concatenation of its framed TimeSeries, so a batch can be split and
joined as byte strings (:func:`frame`, :func:`unframe`).
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence

__all__ = [
    "STALE_NAN",
    "encode_histogram",
    "encode_labels",
    "encode_sample",
    "frame",
    "series_message",
    "unframe",
    "varint",
]

STALE_NAN = struct.unpack("<d", struct.pack("<Q", 0x7FF0000000000002))[0]
"""Prometheus' stale marker: a NaN with this exact bit pattern ends a series."""

_DOUBLE = struct.Struct("<d")


def varint(n: int) -> bytes:
    """Protobuf base-128 varint of ``n`` (a negative int64 as its 10-byte two's complement)."""
    if n < 0:
        n += 1 << 64
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _zigzag(n: int) -> int:
    return (n << 1) ^ (n >> 63) if n < 0 else n << 1


def _field_bytes(field: int, data: bytes) -> bytes:
    return varint(field << 3 | 2) + varint(len(data)) + data


def encode_labels(labels: Iterable[tuple[str, str]]) -> bytes:
    """The ``labels`` fields of a TimeSeries (give them sorted by name, as the specification requires)."""
    return b"".join(_field_bytes(1, _field_bytes(1, k.encode()) + _field_bytes(2, v.encode())) for k, v in labels)


def encode_sample(value: float, timestamp_ms: int) -> bytes:
    """The ``samples`` field of a TimeSeries holding one sample."""
    body = b"\x09" + _DOUBLE.pack(value) + b"\x10" + varint(timestamp_ms)
    return b"\x12" + varint(len(body)) + body


def _spans(field: int, spans: Sequence[tuple[int, int]]) -> bytes:
    return b"".join(
        _field_bytes(field, b"\x08" + varint(_zigzag(offset)) + b"\x10" + varint(length)) for offset, length in spans
    )


def _deltas(field: int, deltas: Sequence[int]) -> bytes:
    if not deltas:
        return b""
    return _field_bytes(field, b"".join(varint(_zigzag(d)) for d in deltas))


def encode_histogram(
    *,
    count: int,
    total: float,
    schema: int,
    zero_threshold: float,
    zero_count: int,
    negative: tuple[Sequence[tuple[int, int]], Sequence[int]],
    positive: tuple[Sequence[tuple[int, int]], Sequence[int]],
    timestamp_ms: int,
) -> bytes:
    """The ``histograms`` field of a TimeSeries: one native histogram with integer counts.

    ``negative`` and ``positive`` are (spans as (offset, length), deltas) as Prometheus defines them.
    """
    body = b"".join(
        (
            b"\x08" + varint(count),
            b"\x19" + _DOUBLE.pack(total),
            b"\x20" + varint(_zigzag(schema)),
            b"\x29" + _DOUBLE.pack(zero_threshold),
            b"\x30" + varint(zero_count),
            _spans(8, negative[0]),
            _deltas(9, negative[1]),
            _spans(11, positive[0]),
            _deltas(12, positive[1]),
            b"\x78" + varint(timestamp_ms),
        )
    )
    return b"\x22" + varint(len(body)) + body


def series_message(labels: bytes, data: bytes) -> bytes:
    """A TimeSeries framed as one ``timeseries`` field of a WriteRequest: ``labels`` then samples or histograms."""
    return _field_bytes(1, labels + data)


def frame(series: Iterable[bytes]) -> bytes:
    """A WriteRequest body from framed TimeSeries (:func:`series_message`)."""
    return b"".join(series)


def unframe(body: bytes) -> list[bytes]:
    """The framed TimeSeries of a WriteRequest body that :func:`frame` made."""
    out: list[bytes] = []
    i, n = 0, len(body)
    while i < n:
        start = i
        if body[i] != 0x0A:
            raise ValueError(f"not a WriteRequest timeseries field at byte {i}")
        i += 1
        length = shift = 0
        while True:
            b = body[i]
            i += 1
            length |= (b & 0x7F) << shift
            shift += 7
            if b < 0x80:
                break
        i += length
        if i > n:
            raise ValueError("truncated WriteRequest")
        out.append(body[start:i])
    return out
