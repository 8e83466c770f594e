"""Tiny protobuf writers for building hostile ``MetricSet`` bodies in tests."""

from __future__ import annotations


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def field(num: int, payload: bytes) -> bytes:
    """A length-delimited field."""
    return varint(num << 3 | 2) + varint(len(payload)) + payload


def metric_set(name: str, mtype: int, series: list[bytes]) -> bytes:
    """A MetricSet with one metric (type 1 counter … 4 trend) holding the serialized ``series``."""
    metric = field(1, name.encode()) + varint(2 << 3) + varint(mtype) + b"".join(field(3, s) for s in series)
    return field(1, b"r") + field(3, metric)


def counter_bomb(values: int) -> bytes:
    """One counter series with ``values`` empty counter values (2 bytes each)."""
    return metric_set("bomb", 1, [field(2, b"\x0a\x00" * values)])


def label_bomb(labels: int) -> bytes:
    """One counter series with ``labels`` distinct labels and one value."""
    labs = b"".join(field(1, field(1, b"k%d" % i) + field(2, b"v")) for i in range(labels))
    return metric_set("labels", 1, [labs + field(2, field(1, b""))])


def histogram_bomb(counters: int) -> bytes:
    """One trend value whose histogram has ``counters`` non-zero counters in one span."""
    span = field(3, varint(1 << 3) + varint(0) + varint(2 << 3) + varint(counters))
    value = field(2, b"\x01" * counters) + span + varint(6 << 3) + varint(counters)
    return metric_set("hist", 4, [field(5, field(1, value))])


def double(num: int, value: float) -> bytes:
    """A ``double`` field."""
    import struct

    return varint(num << 3 | 1) + struct.pack("<d", value)


def uint(num: int, value: int) -> bytes:
    """A varint field."""
    return varint(num << 3) + varint(value)


def series(labels: dict[str, str], values_field: int, values: list[bytes]) -> bytes:
    """A TimeSeries: ``labels``, and ``values`` (each a serialized value message, its time included)
    under the typed values field (2 counter, 3 gauge, 4 rate, 5 trend)."""
    labs = b"".join(field(1, field(1, k.encode()) + field(2, v.encode())) for k, v in labels.items())
    return labs + field(values_field, b"".join(field(1, v) for v in values))


def at(seconds: int) -> bytes:
    """The ``time`` field of a value: a Timestamp at ``seconds``."""
    return field(1, uint(1, seconds))


def metric_set_of(metrics: list[tuple[str, int, list[bytes]]]) -> bytes:
    """A MetricSet of several metrics: (name, type 1 counter … 4 trend, serialized series)."""
    out = field(1, b"r") + uint(2, 3)
    for name, mtype, ss in metrics:
        out += field(3, field(1, name.encode()) + uint(2, mtype) + b"".join(field(3, s) for s in ss))
    return out


def packed(num: int, values: list[int]) -> bytes:
    """A packed repeated varint field."""
    return field(num, b"".join(varint(v) for v in values))


def trend(seconds: int, values_ms: list[float], resolution: float = 0.001) -> bytes:
    """A trend value at ``seconds`` holding ``values_ms`` in k6's histogram (one span per non-empty bucket)."""
    import math

    from horde_insights.histogram import bucket_index

    counts: dict[int, int] = {}
    for v in values_ms:
        idx = bucket_index(math.ceil(v / resolution))
        counts[idx] = counts.get(idx, 0) + 1
    order = sorted(counts)
    spans = b""
    prev_end = 0
    for n, idx in enumerate(order):
        spans += field(3, uint(1, idx if n == 0 else idx - prev_end) + uint(2, 1))
        prev_end = idx + 1
    return (
        at(seconds)
        + packed(2, [counts[i] for i in order])
        + spans
        + double(5, sum(values_ms))
        + uint(6, len(values_ms))
        + double(7, min(values_ms))
        + double(8, max(values_ms))
        + double(11, resolution)
    )


def http_push(seconds: int, endpoints: list[dict]) -> bytes:
    """A snappy-compressed push of ``http_reqs``, ``http_req_failed`` and ``http_req_duration`` at ``seconds``:
    per endpoint ``{"tags": {...}, "durations": [ms, ...], "failed": n}`` (one request per duration)."""
    import cramjam

    reqs, failed, durs = [], [], []
    for e in endpoints:
        n = len(e["durations"])
        reqs.append(series(e["tags"], 2, [at(seconds) + double(2, float(n))]))
        failed.append(series(e["tags"], 4, [at(seconds) + uint(2, e.get("failed", 0)) + uint(3, n)]))
        durs.append(series(e["tags"], 5, [trend(seconds, e["durations"])]))
    body = metric_set_of([("http_reqs", 1, reqs), ("http_req_failed", 3, failed), ("http_req_duration", 4, durs)])
    return bytes(cramjam.snappy.compress_raw(body))
