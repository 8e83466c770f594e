"""Aggregation and the protobuf/snappy encoding, decoded by the service's own decoder."""

import cramjam
from horde.metrics import BuiltinMetrics, ConnectedSamples, MetricRegistry, Sample, TagSet
from horde_insights.histogram import Histogram
from horde_insights.wire.metricset import decode_metric_set
from horde_out_cloud.aggregate import Aggregator
from horde_out_cloud.batch import build_batches

S = 1_000_000_000


def decode(batch):
    return decode_metric_set(bytes(cramjam.snappy.decompress_raw(batch.body)))


def test_samples_aggregate_per_bucket_and_tag_set_and_decode_losslessly():
    b = BuiltinMetrics(MetricRegistry())
    agg = Aggregator(period_s=1, wait_s=0)
    ok = TagSet.of(status="200", name="a", test_run_id="x", __internal="y")
    bad = TagSet.of(status="500", name="a")
    t0 = 1_700_000_000 * S
    durations = []
    containers = []
    for i in range(3000):
        d = 0.5 + (i % 997) * 1.37
        durations.append(d)
        tags = bad if i % 10 == 0 else ok
        containers.append(
            ConnectedSamples(
                b.http_request, (1, d, 0, 0, 0, 0, d, 0, 1.0 if tags is bad else 0.0), t0 + (i % 3) * S + i, tags
            )
        )
    containers.append(Sample(b.vus, t0, 3.0, TagSet.of()))
    containers.append(Sample(b.vus, t0 + 10, 7.0, TagSet.of()))
    agg.add(containers)
    assert agg.collect(t0 + 2 * S) and agg.pending_samples > 0  # only the first buckets are complete
    agg.add([])
    rest = agg.collect(t0, everything=True)
    assert agg.pending_samples == 0 and rest
    assert agg.discarded_tags == set()

    agg2 = Aggregator(period_s=1, wait_s=0)
    agg2.add(containers)
    batches = build_batches(agg2, "42", 1, agg2.collect(0, everything=True), max_series=1000)
    assert agg2.discarded_tags == {"test_run_id", "__internal"}
    assert len(batches) == 1 and batches[0].samples == 3000 * 9 + 2
    ms = decode(batches[0])
    assert ms.test_run_id == "42" and ms.aggregation_period == 1
    by = {name: (kind, series) for name, kind, series in ms.metrics}
    kind, series = by["http_reqs"]
    assert kind == "counter" and sum(p.value for s in series for p in s.points) == 3000
    assert {tuple(sorted(s.labels)) for s in series} == {("name", "status")}
    kind, series = by["http_req_failed"]
    assert (
        sum(p.value for s in series for p in s.points) == 300 and sum(p.count for s in series for p in s.points) == 3000
    )
    kind, series = by["http_req_duration"]
    h = Histogram.of((p.hist, p.count, p.sum, p.min, p.max, p.resolution) for s in series for p in s.points)
    assert h.count == 3000 and h.min == min(durations) and h.max == max(durations)
    exact = sorted(durations)
    for q in (0.5, 0.95, 0.99):
        want = exact[int(q * (len(exact) - 1))]
        assert abs(h.quantile(q) - want) / want < 0.01
    kind, series = by["vus"]
    (p,) = series[0].points
    assert kind == "gauge" and (p.value, p.count, p.min, p.max) == (7.0, 2, 3.0, 7.0)


def test_batches_hold_at_most_max_series():
    b = BuiltinMetrics(MetricRegistry())
    agg = Aggregator(period_s=1, wait_s=0)
    agg.add([Sample(b.iterations, 5 * S, 1.0, TagSet.of(n=str(i))) for i in range(25)])
    batches = build_batches(agg, "1", 1, agg.collect(0, everything=True), max_series=10)
    assert [sum(len(s) for _, _, s in decode(x).metrics) for x in batches] == [10, 10, 5]
    assert len({x.key for x in batches}) == 3 and sum(x.samples for x in batches) == 25
