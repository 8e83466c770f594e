"""The hand-made encoding, decoded by Google's protobuf runtime; native histogram buckets as Prometheus defines them."""

from __future__ import annotations

import math
import random
import struct

import cramjam
import pytest
from horde.metrics import ConnectedSamples, Metric, MetricType, Sample, TagSet, ValueType
from horde_out_prometheus.delivery import decode_batch, encode_batch, make_batch
from horde_out_prometheus.histogram import ZERO_THRESHOLD, NativeHistogram, bucket_key
from horde_out_prometheus.protobuf import STALE_NAN, frame, unframe, varint
from horde_out_prometheus.series import SeriesSet
from prompb import decode

MS = 1_000_000
DURATION = Metric("http_req_duration", MetricType.TREND, ValueType.TIME)
REQS = Metric("http_reqs", MetricType.COUNTER)
VUS = Metric("vus", MetricType.GAUGE)
FAILED = Metric("http_req_failed", MetricType.RATE)
SIZE = Metric("data_size", MetricType.TREND, ValueType.DATA)


def _labels(ts) -> dict[str, str]:
    return {lb.name: lb.value for lb in ts.labels}


def _by_name(series: list[bytes]) -> dict[str, object]:
    msg = decode(frame(series))
    return {_labels(ts)["__name__"]: ts for ts in msg.timeseries}


def test_varint_and_framing() -> None:
    assert varint(0) == b"\x00" and varint(300) == b"\xac\x02" and len(varint(-1)) == 10
    parts = [b"\x0a\x01x", b"\x0a" + varint(200) + b"y" * 200]
    assert unframe(frame(parts)) == parts
    batch = make_batch(parts)
    assert decode_batch(encode_batch(batch)).series == parts


def test_k6_names_labels_and_values() -> None:
    s = SeriesSet(native_histograms=False, trend_stats=["p(99)", "p(99.9)", "avg", "count", "sum", "min", "max", "med"])
    tags = TagSet.of(method="GET", status="200", group="", name="http://x/")
    s.add(
        [
            ConnectedSamples((REQS, DURATION, FAILED), (1.0, 250.0, 0.0), 1000 * MS, tags),
            ConnectedSamples((REQS, DURATION, FAILED), (1.0, 750.0, 1.0), 1001 * MS + 5, tags),
            Sample(VUS, 1002 * MS, 7.0, TagSet.of()),
        ]
    )
    got = _by_name(s.take())
    assert set(got) == {
        "k6_http_reqs_total",
        "k6_http_req_failed_rate",
        "k6_vus",
        *(f"k6_http_req_duration_{x}" for x in ("p99", "p999", "avg", "count", "sum", "min", "max", "med")),
    }
    reqs = got["k6_http_reqs_total"]
    # tags with an empty value are no labels; labels are sorted by name
    assert [lb.name for lb in reqs.labels] == ["__name__", "method", "name", "status"]
    assert reqs.samples[0].value == 2.0 and reqs.samples[0].timestamp == 1001
    assert got["k6_http_req_failed_rate"].samples[0].value == 0.5
    assert got["k6_vus"].samples[0].value == 7.0 and got["k6_vus"].samples[0].timestamp == 1002
    assert got["k6_http_req_duration_avg"].samples[0].value == pytest.approx(0.5)  # seconds
    assert got["k6_http_req_duration_sum"].samples[0].value == pytest.approx(1.0)
    assert got["k6_http_req_duration_count"].samples[0].value == 2.0
    assert got["k6_http_req_duration_max"].samples[0].value == pytest.approx(0.75)
    assert got["k6_http_req_duration_p99"].samples[0].value == pytest.approx(0.745, rel=0.02)
    # nothing new: nothing sent; an update within the millisecond already sent goes out 1 ms later
    assert s.take() == []
    s.add([Sample(REQS, 1001 * MS + 9, 1.0, tags)])
    again = _by_name(s.take())["k6_http_reqs_total"]
    assert again.samples[0].value == 3.0 and again.samples[0].timestamp == 1002
    stale = decode(frame(s.stale_markers(5000))).timeseries
    assert len(stale) == 11 and all(
        struct.pack("<d", t.samples[0].value) == struct.pack("<d", STALE_NAN) for t in stale
    )
    assert all(t.samples[0].timestamp == 5000 for t in stale)


def test_native_histogram_message() -> None:
    s = SeriesSet(native_histograms=True, trend_stats=["p(99)"])
    values = [0.0, 1.0, 1.5, 2.0, 1000.0, 2000.0, 2000.0]
    s.add([Sample(DURATION, 7 * MS, v, TagSet.of(status="200")) for v in values])
    s.add([Sample(SIZE, 7 * MS, 4096.0, TagSet.of())])
    got = _by_name(s.take())
    h = got["k6_http_req_duration_seconds"].histograms[0]
    assert got["k6_data_size_bytes"].histograms[0].count_int == 1
    assert h.count_int == 7 and h.sum == pytest.approx(sum(values) / 1000)
    assert h.schema == 3 and h.zero_threshold == ZERO_THRESHOLD and h.zero_count_int == 1
    assert h.timestamp == 7
    # expand spans and deltas back into bucket -> count
    buckets: dict[int, int] = {}
    key, count = 0, 0
    deltas = iter(h.positive_deltas)
    for i, span in enumerate(h.positive_spans):
        key = span.offset if i == 0 else key + span.offset
        for _ in range(span.length):
            count += next(deltas)
            buckets[key] = count
            key += 1
    expected: dict[int, int] = {}
    for v in values[1:]:
        k = bucket_key(v / 1000)
        expected[k] = expected.get(k, 0) + 1
    assert buckets == expected


def test_bucket_bounds_are_prometheus_schema_3() -> None:
    # bucket k holds (2^((k-1)/8), 2^(k/8)]: exact powers fall on the upper bound
    assert bucket_key(1.0) == 0 and bucket_key(2.0) == 8 and bucket_key(0.5) == -8
    assert bucket_key(1.0000001) == 1 and bucket_key(2 ** (1 / 8)) in (1, 2)
    rnd = random.Random(7)
    for _ in range(2000):
        v = math.exp(rnd.uniform(-20, 20))
        k = bucket_key(v)
        assert 2 ** ((k - 1) / 8) * (1 - 1e-12) <= v <= 2 ** (k / 8) * (1 + 1e-12)


def test_negative_values_and_spans() -> None:
    h = NativeHistogram()
    for v in (-1.0, -1.0, 1.0, 1.0, 1.0, 2 ** (5 / 8)):
        h.observe(v)
    assert h.negative_spans() == ([(0, 1)], [2])
    assert h.positive_spans() == ([(0, 1), (4, 1)], [3, -2])


def test_snappy_body_is_what_prometheus_reads() -> None:
    s = SeriesSet(native_histograms=False, trend_stats=["p(99)"])
    s.add([Sample(REQS, 1 * MS, 1.0, TagSet.of())])
    body = frame(s.take())
    assert bytes(cramjam.snappy.decompress_raw(cramjam.snappy.compress_raw(body))) == body
    assert len(decode(body).timeseries) == 1


def test_observe_many_is_observe_one_by_one() -> None:
    rnd = random.Random(3)
    for values in ([rnd.expovariate(10) for _ in range(500)], [0.0, -2.5, 1.0, 4.0, 2.0**0.5], [1.0, math.nan]):
        one, many = NativeHistogram(), NativeHistogram()
        for v in values:
            one.observe(v)
        many.observe_many(values)
        assert (one.count, one.zero_count, one.positive, one.negative) == (
            many.count,
            many.zero_count,
            many.positive,
            many.negative,
        )
        assert one.sum == pytest.approx(many.sum, nan_ok=True)
