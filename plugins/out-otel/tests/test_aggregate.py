"""k6's metric mapping, decoded with opentelemetry-proto: types, units, buckets, attributes, cumulative totals."""

from __future__ import annotations

from horde.metrics import MetricRegistry, MetricType, Sample, TagSet, ValueType
from horde_out_otel.aggregate import (
    DEFAULT_BOUNDS,
    Aggregator,
    decode_export,
    encode_export,
    resource_attributes,
    split_export,
    split_to_size,
)
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.metrics.v1 import metrics_pb2

CUMULATIVE = metrics_pb2.AGGREGATION_TEMPORALITY_CUMULATIVE


def _decode(agg: Aggregator, now: int = 2_000) -> dict[str, metrics_pb2.Metric]:
    export = agg.export(now)
    assert export is not None
    assert decode_export(encode_export(export)) == export
    req = ExportMetricsServiceRequest.FromString(export.body)
    (rm,) = req.resource_metrics
    (sm,) = rm.scope_metrics
    assert sm.scope.name == "k6"
    return {m.name: m for m in sm.metrics}


def test_every_metric_type_maps_as_k6_does():
    reg = MetricRegistry()
    counter = reg.get_or_new("data_sent", MetricType.COUNTER, ValueType.DATA)
    gauge = reg.get_or_new("vus", MetricType.GAUGE)
    trend = reg.get_or_new("http_req_duration", MetricType.TREND, ValueType.TIME)
    rate = reg.get_or_new("checks", MetricType.RATE)
    tags = TagSet.of({"scenario": "default", "group": "", "status": "200"})
    agg = Aggregator("k6_", {"service.name": "s"})
    values = [(counter, 100.0), (counter, 50.0), (gauge, 3.0), (gauge, 5.0), (rate, 1.0), (rate, 0.0), (rate, 1.0)]
    values += [(trend, v) for v in (0.0, 5.0, 5.1, 10_000.0, 20_000.0)]
    agg.add([Sample(m, 1, v, tags) for m, v in values], now_ns=1_000)
    got = _decode(agg)
    assert set(got) == {"k6_data_sent", "k6_vus", "k6_http_req_duration", "k6_checks.occurred", "k6_checks.total"}

    m = got["k6_data_sent"]
    assert (m.WhichOneof("data"), m.unit, m.sum.is_monotonic, m.sum.aggregation_temporality) == (
        "sum",
        "By",
        True,
        CUMULATIVE,
    )
    (dp,) = m.sum.data_points
    assert dp.as_double == 150.0 and dp.start_time_unix_nano == 1_000 and dp.time_unix_nano == 2_000
    # attributes: the tags, less the empty ones
    assert {(a.key, a.value.string_value) for a in dp.attributes} == {("scenario", "default"), ("status", "200")}

    m = got["k6_vus"]
    assert (m.WhichOneof("data"), m.unit) == ("gauge", "")
    assert m.gauge.data_points[0].as_double == 5.0

    m = got["k6_http_req_duration"]
    assert (m.WhichOneof("data"), m.unit, m.histogram.aggregation_temporality) == ("histogram", "ms", CUMULATIVE)
    (hp,) = m.histogram.data_points
    assert tuple(hp.explicit_bounds) == DEFAULT_BOUNDS
    assert (hp.count, hp.sum, hp.min, hp.max) == (5, 30_010.1, 0.0, 20_000.0)
    # upper bounds are inclusive: 0 -> (-inf, 0], 5 -> (0, 5], 5.1 -> (5, 10], 10000 -> (7500, 10000], 20000 -> overflow
    expected = [0] * (len(DEFAULT_BOUNDS) + 1)
    for i in (0, 1, 2, 14, 15):
        expected[i] += 1
    assert list(hp.bucket_counts) == expected

    for name, value in (("k6_checks.occurred", 2), ("k6_checks.total", 3)):
        m = got[name]
        assert (m.unit, m.sum.is_monotonic, m.sum.data_points[0].WhichOneof("value")) == ("", True, "as_int")
        assert m.sum.data_points[0].as_int == value


def test_exports_are_cumulative_and_series_split_by_tags():
    reg = MetricRegistry()
    reqs = reg.get_or_new("http_reqs", MetricType.COUNTER)
    a, b = TagSet.of({"status": "200"}), TagSet.of({"status": "500"})
    agg = Aggregator("", {})
    agg.add([Sample(reqs, 1, 1.0, a), Sample(reqs, 1, 1.0, b)], 1)
    _decode(agg)
    agg.add([Sample(reqs, 2, 1.0, a)] * 3, 2)
    (m,) = _decode(agg).values()
    totals = {dp.attributes[0].value.string_value: dp.as_double for dp in m.sum.data_points}
    assert totals == {"200": 4.0, "500": 1.0}
    assert agg.samples == 5 and agg.series == 2


def test_no_samples_no_export_and_no_occurred_series_before_a_non_zero_sample():
    agg = Aggregator("", {})
    assert agg.export(1) is None
    rate = MetricRegistry().get_or_new("http_req_failed", MetricType.RATE)
    agg.add([Sample(rate, 1, 0.0, TagSet.of({}))], 1)
    assert set(_decode(agg)) == {"http_req_failed.total"}


def test_resource_attributes():
    env = {"OTEL_RESOURCE_ATTRIBUTES": "deployment.environment=staging,team=a%20b,service.instance.id=pod-1"}
    attrs = resource_attributes("svc", "1.2.3", "0.1.0", env)
    assert attrs["service.name"] == "svc" and attrs["service.version"] == "1.2.3"
    assert attrs["deployment.environment"] == "staging" and attrs["team"] == "a b"
    assert attrs["service.instance.id"] == "pod-1"
    assert attrs["telemetry.sdk.language"] == "python"
    one, two = resource_attributes("s", "v", "0", {}), resource_attributes("s", "v", "0", {})
    assert one["service.instance.id"] != two["service.instance.id"]


def test_split_to_size_keeps_every_data_point():
    reg = MetricRegistry()
    reqs = reg.get_or_new("http_reqs", MetricType.COUNTER)
    dur = reg.get_or_new("http_req_duration", MetricType.TREND, ValueType.TIME)
    agg = Aggregator("", {"service.name": "s"})
    for i in range(200):
        tags = TagSet.of({"url": f"http://t/{i}"})
        agg.add([Sample(reqs, 1, 1.0, tags), Sample(dur, 1, float(i), tags)], 1)
    export = agg.export(2)
    assert export is not None and export.points == 400
    parts = split_to_size(export, 5_000)
    assert len(parts) > 2 and all(len(p.body) <= 5_000 for p in parts)
    assert sum(p.points for p in parts) == 400
    urls: dict[str, set[str]] = {}
    for p in parts:
        req = ExportMetricsServiceRequest.FromString(p.body)
        assert req.resource_metrics[0].resource.attributes[0].key
        for m in req.resource_metrics[0].scope_metrics[0].metrics:
            kind = m.WhichOneof("data")
            urls.setdefault(m.name, set()).update(
                dp.attributes[0].value.string_value for dp in getattr(m, kind).data_points
            )
    assert {k: len(v) for k, v in urls.items()} == {"http_reqs": 200, "http_req_duration": 200}
    one = Aggregator("", {})
    one.add([Sample(reqs, 1, 1.0, TagSet.of({}))], 1)
    single = one.export(2)
    assert single is not None and split_export(single) is None


def test_lone_samples_do_not_grow_the_caches():
    """A lone Sample makes its ``metrics`` tuple afresh on every access: the caches must not keep one per sample."""
    reg = MetricRegistry()
    checks = reg.get_or_new("checks", MetricType.RATE)
    tags = TagSet.of({"check": "ok"})
    agg = Aggregator("", {})
    for _ in range(50):
        agg.add([Sample(checks, 1, 1.0, tags) for _ in range(100)], 1)
    assert len(agg._runs) == 0 and len(agg._singles) == 1 and agg.series == 1
    totals = {m.name: m.sum.data_points[0].as_int for m in _decode(agg).values()}
    assert totals == {"checks.occurred": 5000, "checks.total": 5000}


def test_delta_exports_carry_the_changes_of_the_series_that_changed():
    reg = MetricRegistry()
    reqs = reg.get_or_new("http_reqs", MetricType.COUNTER)
    dur = reg.get_or_new("http_req_duration", MetricType.TREND, ValueType.TIME)
    vus = reg.get_or_new("vus", MetricType.GAUGE)
    a, b = TagSet.of({"status": "200"}), TagSet.of({"status": "500"})
    agg = Aggregator("", {}, delta=True)
    agg.add([Sample(reqs, 1, 1.0, a), Sample(reqs, 1, 1.0, b), Sample(dur, 1, 3.0, a), Sample(vus, 1, 4.0, a)], 1)
    first = _decode(agg, now=10)
    assert first["http_reqs"].sum.aggregation_temporality == metrics_pb2.AGGREGATION_TEMPORALITY_DELTA
    assert first["http_req_duration"].histogram.aggregation_temporality == metrics_pb2.AGGREGATION_TEMPORALITY_DELTA
    assert (
        len(first["http_reqs"].sum.data_points) == 2 and first["http_reqs"].sum.data_points[0].start_time_unix_nano == 1
    )
    agg.add([Sample(reqs, 2, 1.0, a)] * 3, 11)
    second = _decode(agg, now=20)
    assert set(second) == {"http_reqs"}  # only what changed
    (dp,) = second["http_reqs"].sum.data_points
    assert (dp.as_double, dp.start_time_unix_nano, dp.time_unix_nano) == (3.0, 10, 20)
    assert agg.export(30) is None  # nothing changed
