"""MetricStore.add feeds whole columns to the sinks: the result must be the one of adding each sample in turn."""

from __future__ import annotations

import pickle
import random

import pytest
from horde.metrics import (
    BuiltinMetrics,
    ConnectedSamples,
    MetricRegistry,
    MetricStore,
    MetricType,
    Sample,
    TagSet,
    TrendSink,
    new_sink,
)
from horde.thresholds import parse_thresholds
from sinkstate import sink_state


def _one_by_one(containers, metrics):
    """Each sample added in turn to its metric's sink and to the sinks of the sub-metrics it matches."""
    sinks = {m: new_sink(m.type) for m in metrics}
    subs = {sub: new_sink(m.type) for m in metrics for sub in m.submetrics}
    for c in containers:
        for m, v in zip(c.metrics, c.values):
            sinks[m].add(v)
            for sub in m.submetrics:
                if c.tags.contains(sub.tags):
                    subs[sub].add(v)
    return sinks, subs


def _assert_same(store, containers, metrics, folded=None):
    """``store`` holds what adding ``containers`` one by one gives; ``folded`` collects the trend sinks
    an encoder folded (it sends no exact values its receiver no longer keeps): the rest is the same."""
    sinks, subs = _one_by_one(containers, metrics)
    for target, sink in [*sinks.items(), *subs.items()]:
        got = store.sink(target)
        if got is None:  # never sampled
            assert sink.is_empty(), target
        else:
            if folded is not None and isinstance(sink, TrendSink) and got._exact is None and sink._exact is not None:
                sink.fold()
                folded.append(target)
            assert sink_state(got) == sink_state(sink), target


def _registry():
    registry = MetricRegistry()
    b = BuiltinMetrics(registry)
    parse_thresholds(
        {
            "http_reqs{method:GET}": ["count>0"],
            "checks{check:ok}": ["rate>0"],
            "http_req_duration{status:200}": ["p(95)<500"],
        },
        registry,
    )
    return registry, b


def _requests(rng, b, n, tag_sets):
    """One-GET iterations as the engine emits them: a 9-sample HTTP container, a 4-sample iteration end."""
    out = []
    for i in range(n):
        tags = rng.choice(tag_sets)
        w = rng.lognormvariate(-1.5, 0.4)
        out.append(
            ConnectedSamples(
                b.http_request,
                (
                    1.0,
                    w + 0.03,
                    rng.expovariate(50),
                    0.0,
                    0.0,
                    0.01,
                    w,
                    0.02,
                    0.0 if tags["expected_response"] == "true" else 1.0,
                ),
                i,
                tags,
            )
        )
        out.append(ConnectedSamples(b.iteration_end, (151.0, 224.0, w + 0.1, 1.0), i, TagSet.of(scenario="default")))
    return out


def _tag_sets():
    return [
        TagSet.of(scenario="default", method=m, status=s, expected_response="true" if s == "200" else "false")
        for m in ("GET", "POST")
        for s in ("200", "200", "200", "404")
    ]


@pytest.mark.parametrize("batch", [1, 7, 1000, 2500])
def test_batches_of_requests_give_the_one_by_one_result(batch):
    registry, b = _registry()
    rng = random.Random(batch)
    containers = _requests(rng, b, 5000, _tag_sets())
    store = MetricStore()
    for i in range(0, len(containers), 2 * batch):
        store.add(containers[i : i + 2 * batch])
    _assert_same(store, containers, registry.all())


def test_every_request_expected_feeds_the_submetric_the_same_column():
    registry, b = _registry()
    containers = _requests(random.Random(3), b, 3000, [TagSet.of(status="200", method="GET", expected_response="true")])
    store = MetricStore()
    for i in range(0, len(containers), 2000):
        store.add(containers[i : i + 2000])
    _assert_same(store, containers, registry.all())


def test_mixed_batches_keep_each_sinks_order():
    # metrics shared between container shapes, lone samples, a metrics list, a repeated metric, and
    # values not parallel to the metrics: cut into runs or fed one container at a time, same sums
    registry, b = _registry()
    custom = registry.get_or_new("my_trend", MetricType.TREND)
    gauge = registry.get_or_new("my_gauge", MetricType.GAUGE)
    count = registry.get_or_new("my_counter", MetricType.COUNTER)
    rng = random.Random(11)
    tag_sets = _tag_sets()
    containers = []
    for i in range(6000):
        tags = rng.choice(tag_sets)
        v = rng.lognormvariate(0, 2) * rng.choice([1, 1, 1, -1, 0])
        kind = rng.randrange(10)
        if kind == 0:
            containers.append(
                ConnectedSamples(b.http_request_no_failed, tuple(rng.random() for _ in range(8)), i, tags)
            )
        elif kind == 1:
            containers.append(ConnectedSamples(b.iteration_end[:2], (rng.random(), 3.0), i, tags))
        elif kind == 2:
            containers.append(Sample(rng.choice([custom, b.group_duration, b.http_req_duration]), i, v, tags))
        elif kind == 3:
            containers.append(Sample(b.checks, i, rng.choice([0.0, 1.0]), TagSet.of(check=rng.choice(["ok", "ko"]))))
        elif kind == 4:
            metrics = [custom, gauge, count] if rng.random() < 0.01 else (custom, gauge, count)  # a list: no hash
            containers.append(ConnectedSamples(metrics, [v, v, rng.random()], i, tags))
        elif kind == 5:
            containers.append(ConnectedSamples((custom, custom, count), (v, -v, 0.1), i, tags))
        elif kind == 6:
            containers.append(ConnectedSamples((count, custom, gauge), (0.3,), i, tags))
        elif kind == 7:
            containers.append(ConnectedSamples((gauge,), (v, 99.0), i, tags))
        else:
            containers += _requests(rng, b, 1, tag_sets)
    store = MetricStore()
    i = 0
    while i < len(containers):
        n = rng.choice([1, 50, 400, 3000])
        store.add(iter(containers[i : i + n]))
        i += n
    _assert_same(store, containers, registry.all())


@pytest.mark.parametrize("shapes", ["shared_metric", "repeated_metric"])
def test_long_runs_of_containers_whose_columns_would_reorder_a_sink(shapes):
    registry, b = _registry()
    rng = random.Random(shapes)
    if shapes == "shared_metric":  # the 8 metrics of a request without expected_response and the 9 of one with
        containers = [
            ConnectedSamples(
                rng.choice([b.http_request, b.http_request_no_failed]),
                tuple(rng.lognormvariate(0, 3) for _ in range(9)),
                i,
                TagSet.of(status="200"),
            )
            for i in range(3000)
        ]
    else:
        containers = [
            ConnectedSamples(
                (b.http_req_waiting, b.http_req_waiting, b.vus, b.vus, b.data_sent),
                (rng.lognormvariate(0, 3), -rng.random(), rng.random(), 7.0, rng.random()),
                i,
                TagSet.of(status="200"),
            )
            for i in range(3000)
        ]
    store = MetricStore()
    store.add(containers)
    _assert_same(store, containers, registry.all())


@pytest.mark.parametrize("seed", [1, 2])
def test_worker_batches_in_columns_give_the_one_by_one_result_and_keep_the_order(seed):
    # what a worker sends (horde.metrics.wire columns) and the store it aggregates each batch into from them
    from horde.metrics.wire import Decoder, Encoder

    registry, b = _registry()
    custom = registry.get_or_new("my_trend", MetricType.TREND)
    rng = random.Random(seed)
    tag_sets = _tag_sets()
    containers = []
    for i in range(4000):
        kind = rng.randrange(12)
        tags = rng.choice(tag_sets)
        if kind == 0:
            containers.append(Sample(custom, i, rng.random(), tags, {"vu": str(i)}))
        elif kind == 1 and seed == 2:  # values not one per metric: the batch goes in as containers
            containers.append(ConnectedSamples((custom,), (1.0, 2.0), i, tags))
        elif kind == 2 and seed == 2:  # a metrics list
            containers.append(ConnectedSamples([custom, b.vus], [3.0, 4.0], i, tags))
        else:
            containers += _requests(rng, b, 1, tag_sets)
    encoder, decoder = Encoder(), Decoder(registry)
    i, decoded, folded = 0, [], []
    while i < len(containers):
        n = rng.choice([1, 50, 400, 3000])
        store = MetricStore()
        msg = pickle.loads(encoder.encode_columns(containers[i : i + n], store, {"x": 1}))
        assert msg[0] == "c" and msg[4] == {"x": 1}
        batch = decoder.decode_columns(msg[1], msg[2], msg[3], msg[5])
        assert len(batch) == len(containers[i : i + n])
        _assert_same(store, containers[i : i + n], registry.all(), folded)
        decoded += batch.containers()
        i += n
    assert folded  # past EXACT_LIMIT values sent, a trend's exact values stop travelling
    assert [(tuple(c.metrics), tuple(c.values), c.time, c.tags, c.metadata) for c in decoded] == [
        (tuple(c.metrics), tuple(c.values), c.time, c.tags, c.metadata) for c in containers
    ]


def _dyadic(rng: random.Random) -> float:
    """A value whose sums are exact in any order (a multiple of 1/1024 below 2**20)."""
    return rng.randrange(1 << 30) / 1024 * rng.choice([1, 1, 1, -1, 0])


@pytest.mark.parametrize("seed, samples", [(1, False), (2, False), (1, True), (2, True)])
def test_worker_aggregates_merged_by_the_coordinator_give_the_one_by_one_result(seed, samples):
    # a worker aggregates each batch in a store of its own and sends the sinks (horde.metrics.wire),
    # with the samples when an output wants them; the coordinator, with a registry of its own, merges
    # the sinks: every sink and sub-metric sink must hold what adding every sample in turn gives
    # (values whose sums are exact in any order), and the samples arrive as they were emitted
    from horde.metrics.wire import Decoder, Encoder

    wreg, wb = _registry()
    creg, _ = _registry()
    custom = wreg.get_or_new("my_trend", MetricType.TREND)  # unknown to the coordinator: made there
    gauge = wreg.get_or_new("my_gauge", MetricType.GAUGE)
    count = wreg.get_or_new("my_counter", MetricType.COUNTER)
    rng = random.Random(seed)
    tag_sets = _tag_sets()
    containers = []
    for i in range(5000):
        tags = rng.choice(tag_sets)
        kind = rng.randrange(6)
        if kind == 0:
            containers.append(ConnectedSamples((custom, gauge, count), (_dyadic(rng), _dyadic(rng), 1.0), i, tags))
        elif kind == 5 and seed == 2 and rng.random() < 0.1:  # not one value per metric, a metrics list
            containers.append(ConnectedSamples((custom,), (_dyadic(rng), 2.0), i, tags))
            containers.append(ConnectedSamples([custom, count], [_dyadic(rng), 3.0], i, tags))
        elif kind == 1:
            containers.append(Sample(wb.checks, i, rng.choice([0.0, 1.0]), TagSet.of(check=rng.choice(["ok", "ko"]))))
        else:
            values = (1.0, *(abs(_dyadic(rng)) for _ in range(7)), rng.choice([0.0, 1.0]))
            containers.append(ConnectedSamples(wb.http_request, values, i, tags))
    encoder, decoder, store = Encoder(), Decoder(creg), MetricStore()
    i, decoded = 0, []
    while i < len(containers):
        n = rng.choice([1, 50, 400, 3000])
        part = containers[i : i + n]
        msg = pickle.loads(encoder.encode_columns(part, MetricStore(), None, samples=samples))
        batch = decoder.decode_columns(msg[1], msg[2], msg[3], msg[5])
        assert len(batch) == (len(part) if samples else 0)  # samples travel only when wanted
        decoded += batch.containers()
        batch.add_to(store)
        i += n
    if samples:
        assert [(tuple(m.name for m in c.metrics), tuple(c.values), c.time, c.tags) for c in decoded] == [
            (tuple(m.name for m in c.metrics), tuple(c.values), c.time, c.tags) for c in containers
        ]
    sinks, subs = _one_by_one(containers, wreg.all())
    expected = {m.name: s for m, s in sinks.items() if not s.is_empty()}
    expected.update({sub.name: s for sub, s in subs.items() if not s.is_empty()})
    got = {m.name: s for m, s in store.sinks.items()}
    got.update({sub.name: s for sub, s in store.sub_sinks.items() if not s.is_empty()})
    assert set(got) == set(expected) and "my_trend" in got and "http_req_duration{status:200}" in got
    for name, sink in expected.items():
        assert sink_state(got[name]) == sink_state(sink), name
    assert creg.get("my_trend").type is MetricType.TREND


def test_merging_a_sink_into_a_store_creates_the_sinks_of_late_submetrics():
    registry = MetricRegistry()
    trend = registry.get_or_new("late_trend", MetricType.TREND)
    store = MetricStore()
    store.add([Sample(trend, 0, 1.0, TagSet.of(k="a"))])
    sub = trend.add_submetric("k:a", {"k": "a"})  # after the metric's first sample
    part = new_sink(MetricType.TREND)
    part.add(2.0)
    sub_part = new_sink(MetricType.TREND)
    sub_part.add(2.0)
    store.merge(trend, part, [(sub, sub_part)])
    assert store.sink(trend).count == 2 and store.sink(sub).count == 1
