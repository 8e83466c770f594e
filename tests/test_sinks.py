"""Sinks: k6's aggregates; the trend sketch's 1% bound against k6's exact percentile."""

from __future__ import annotations

import math
import random
import sys

import pytest
from horde.metrics import (
    RELATIVE_ACCURACY,
    ConnectedSamples,
    CounterSink,
    GaugeSink,
    Metric,
    MetricStore,
    MetricType,
    RateSink,
    Sample,
    TagSet,
    TrendSink,
    ValueType,
    new_sink,
)
from sinkstate import sink_state

BOUND = RELATIVE_ACCURACY * (1 + 1e-9)  # 1%, plus float rounding of the bound itself
PERCENTILES = [0, 0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 1]


def k6_percentile(values, p):
    """k6's TrendSink.P: linear interpolation on the sorted values at i = p*(n-1)."""
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0]
    v = sorted(values)
    i = p * (len(v) - 1)
    lo, hi = v[math.floor(i)], v[math.ceil(i)]
    return lo + (hi - lo) * (i - math.floor(i))


def _trend(values):
    sink = TrendSink()
    sink.add_many(values)
    return sink


DISTRIBUTIONS = {
    "lognormal_ms": lambda r, n: [r.lognormvariate(3, 1.5) for _ in range(n)],
    "uniform": lambda r, n: [r.uniform(0.1, 1000) for _ in range(n)],
    "exponential": lambda r, n: [r.expovariate(0.01) for _ in range(n)],
    "bimodal": lambda r, n: [r.gauss(5, 0.5) if r.random() < 0.8 else r.gauss(900, 50) for _ in range(n)],
    "tiny_and_huge": lambda r, n: [10 ** r.uniform(-15, 15) for _ in range(n)],
    "negative": lambda r, n: [-r.lognormvariate(2, 1) for _ in range(n)],
    "few_distinct": lambda r, n: [r.choice([0.5, 1, 2, 250]) for _ in range(n)],
    "with_zeros": lambda r, n: [0.0 if r.random() < 0.3 else r.expovariate(1) for _ in range(n)],
}


@pytest.mark.parametrize("dist", sorted(DISTRIBUTIONS))
@pytest.mark.parametrize("n", [2, 3, 17, 1000, 20000])
def test_trend_percentiles_within_one_percent_of_k6(dist, n):
    rng = random.Random(f"{dist}-{n}")
    values = DISTRIBUTIONS[dist](rng, n)
    sink = _trend(values)
    for p in PERCENTILES:
        exact = k6_percentile(values, p)
        got = sink.percentile(p)
        if exact == 0:
            assert got == 0, (p, got)
        else:
            assert abs(got - exact) <= BOUND * abs(exact), (dist, n, p, got, exact)


def test_trend_random_percentiles():
    rng = random.Random(7)
    values = [rng.lognormvariate(4, 1) for _ in range(5000)]
    sink = _trend(values)
    for _ in range(300):
        p = rng.random()
        exact = k6_percentile(values, p)
        assert abs(sink.percentile(p) - exact) <= BOUND * exact


def test_trend_exact_count_min_max_avg():
    rng = random.Random(3)
    values = [rng.uniform(-50, 5000) for _ in range(10000)]
    sink = _trend(values)
    assert sink.count == 10000
    assert sink.min == min(values) and sink.max == max(values)
    assert sink.sum == sum(values)
    assert sink.avg == pytest.approx(math.fsum(values) / len(values), rel=1e-12)
    agg = sink.aggregates()
    assert agg["count"] == 10000 and agg["min"] == min(values) and agg["max"] == max(values)
    assert agg["med"] == sink.percentile(0.5)
    assert set(agg) == {"avg", "min", "med", "max", "count", "p(90)", "p(95)"}


def test_trend_small_cases_match_k6_exactly():
    assert TrendSink().percentile(0.95) == 0
    assert _trend([7.3]).percentile(0.5) == 7.3 and _trend([7.3]).percentile(0.99) == 7.3
    s = _trend([1.0, 2.0])
    assert s.percentile(0) == 1.0 and s.percentile(1) == 2.0
    empty = TrendSink().aggregates(percentiles=(0.5, 0.999))
    assert empty == {"avg": 0.0, "min": 0.0, "med": 0.0, "max": 0.0, "count": 0, "p(50)": 0.0, "p(99.9)": 0.0}


def test_trend_memory_is_bounded_over_a_million_values():
    rng = random.Random(11)
    sink = TrendSink()
    lo, hi = 0.01, 60_000.0  # 10 µs .. 1 min in ms
    add = sink.add
    draw = rng.uniform
    for _ in range(100_000):
        add(10 ** draw(-2, math.log10(hi)))
    after_100k = len(sink.buckets())
    for _ in range(900_000):
        add(10 ** draw(-2, math.log10(hi)))
    buckets = sink.buckets()
    assert sink.count == 1_000_000
    gamma = (1 + RELATIVE_ACCURACY) / (1 - RELATIVE_ACCURACY)
    limit = math.ceil(math.log(hi / lo) / math.log(gamma)) + 2
    assert len(buckets) <= limit  # ~780: set by the value range, not the count
    assert len(buckets) - after_100k <= 5
    assert sum(n for _, n in buckets) == 1_000_000
    values_ascending = [v for v, _ in buckets]
    assert values_ascending == sorted(values_ascending)


def test_trend_merge_equals_adding_everything():
    rng = random.Random(5)
    a_vals = [rng.expovariate(0.1) for _ in range(3000)]
    b_vals = [-rng.expovariate(0.1) for _ in range(1000)] + [0.0] * 10
    a, b, both = _trend(a_vals), _trend(b_vals), _trend(a_vals + b_vals)
    a.merge(b)
    a.merge(TrendSink())
    assert (a.count, a.min, a.max) == (both.count, both.min, both.max)
    assert a.sum == pytest.approx(both.sum)
    assert a.buckets() == both.buckets()
    for p in PERCENTILES:
        assert a.percentile(p) == both.percentile(p)


def test_counter_sink():
    s = CounterSink()
    assert s.is_empty() and s.aggregates(10) == {"count": 0.0, "rate": 0.0}
    s.add_many([1, 1, 3.5])
    assert not s.is_empty()
    assert s.aggregates(2.0) == {"count": 5.5, "rate": 2.75}
    assert s.aggregates(0) == {"count": 5.5, "rate": 0.0}
    t = CounterSink()
    t.add(4.5)
    s.merge(t)
    assert s.count == 10


def test_gauge_sink():
    s = GaugeSink()
    assert s.is_empty() and s.aggregates() == {"value": 0.0, "min": 0.0, "max": 0.0}
    s.add_many([5, -2, 3])
    assert s.aggregates() == {"value": 3, "min": -2, "max": 5}
    s.add(0)
    assert not s.is_empty() and s.aggregates()["value"] == 0


def test_rate_sink():
    s = RateSink()
    assert s.is_empty() and "rate" not in s.aggregates()
    s.add_many([1, 0, 0.5, 0, 1])
    assert s.aggregates() == {"passes": 3, "fails": 2, "rate": 0.6}


def test_new_sink_by_type():
    assert isinstance(new_sink(MetricType.COUNTER), CounterSink)
    assert isinstance(new_sink(MetricType.GAUGE), GaugeSink)
    assert isinstance(new_sink(MetricType.TREND), TrendSink)
    assert isinstance(new_sink(MetricType.RATE), RateSink)


def test_metric_store_feeds_metrics_and_matching_submetrics():
    dur = Metric("http_req_duration", MetricType.TREND, ValueType.TIME)
    reqs = Metric("http_reqs", MetricType.COUNTER)
    ok = dur.add_submetric("status:200", {"status": "200"})
    store = MetricStore()
    assert store.sink(dur) is None and store.sink(reqs) is None
    t200 = TagSet.of(status="200", method="GET")
    t404 = TagSet.of(status="404", method="GET")
    store.add(
        [
            ConnectedSamples((reqs, dur), (1.0, 10.0), 1, t200),
            ConnectedSamples((reqs, dur), (1.0, 30.0), 2, t404),
            Sample(dur, 3, 20.0, t200),
        ]
    )
    assert store.sink(reqs).count == 2
    assert store.sink(dur).count == 3 and store.sink(dur).max == 30.0
    assert store.sink(ok).count == 2 and store.sink(ok).max == 20.0
    with store.locked():
        pass


def test_trend_extreme_magnitudes_keep_the_bound():
    values = [5e-324, 1e-300, 3e-200, 1e-12, 2.5e-10, 1.0, 1e200, 1e300, 1.7e308, -1e-300, -1.7e308]
    sink = _trend(values)
    for p in PERCENTILES:
        exact = k6_percentile(values, p)
        got = sink.percentile(p)
        assert not math.isnan(got) and not math.isinf(got)
        if p in (0, 1):
            assert got == exact
    pos = sorted(v for v in values if v >= 1e-300)
    sink = _trend(pos)
    for k in range(len(pos)):
        p = k / (len(pos) - 1)
        assert abs(sink.percentile(p) - pos[k]) <= BOUND * pos[k], (p, pos[k])


def test_trend_percentiles_are_exact_while_few_values_then_within_one_percent():
    import random

    from horde.metrics.sinks import EXACT_LIMIT, TrendSink

    sink = TrendSink()
    for v in (10.0, 20.0, 30.0):
        sink.add(v)
    assert sink.percentile(0.5) == 20.0  # k6's exact answer, not a bucket's
    assert sink.percentile(0.9) == 28.0
    rng = random.Random(7)
    values = [rng.lognormvariate(3, 1) for _ in range(EXACT_LIMIT * 3)]
    big = TrendSink()
    for v in values[:EXACT_LIMIT]:
        big.add(v)
    exact = sorted(values[:EXACT_LIMIT])
    assert big.percentile(1.0) == exact[-1] and big.percentile(0.5) == (exact[499] + exact[500]) / 2
    for v in values[EXACT_LIMIT:]:
        big.add(v)
    assert big._exact is None  # folded: bounded memory from here on
    allv = sorted(values)
    i = 0.95 * (len(allv) - 1)
    want = allv[int(i)] + (allv[int(i) + 1] - allv[int(i)]) * (i - int(i))
    assert abs(big.percentile(0.95) - want) / want <= 0.01


def _chunks(rng, values):
    """``values`` cut in pieces of random sizes (empty ones too), some over EXACT_LIMIT."""
    out, i = [], 0
    while i < len(values):
        size = rng.choice([0, 1, 2, 7, 300, 999, 1000, 1001, 1500])
        out.append(values[i : i + size])
        i += size
    return out


def _edges_and_neighbours(rng, n):
    """Bucket edges gamma**i, their float neighbours, and values twice the bisection's slack away."""
    gamma = (1 + RELATIVE_ACCURACY) / (1 - RELATIVE_ACCURACY)
    out = []
    while len(out) < n:
        edge = gamma ** rng.randrange(-3000, 3000)
        out += [
            edge,
            math.nextafter(edge, 0),
            math.nextafter(edge, math.inf),
            edge * (1 + 2**-29),
            edge * (1 - 2**-29),
            -edge,
        ]
    return out[:n]


ODD = [
    0.0,
    -0.0,
    5e-324,
    -5e-324,
    sys.float_info.min,
    -sys.float_info.min,
    1e-310,
    1,
    True,
    False,
    3,
    -7,
    1e300,
    -1e300,
    math.nan,
    0.5,
    250.0,
    1.0,
    2**60,
]

BATCH_DISTRIBUTIONS = {
    **DISTRIBUTIONS,
    "narrow_dense": lambda r, n: [r.uniform(1, 1.5) for _ in range(n)],  # few bucket edges: bisections
    "odd_values": lambda r, n: [r.choice(ODD) if r.random() < 0.3 else r.lognormvariate(0, 2) for _ in range(n)],
    "edges": _edges_and_neighbours,
    "ints": lambda r, n: [r.randrange(-5, 1000) for _ in range(n)],
    "ties": lambda r, n: [r.choice([0.0, -0.0, 0, False, 1, 1.0, True, 2, 2.0, -2, -2.0]) for _ in range(n)],
}


@pytest.mark.parametrize("kind", [CounterSink, GaugeSink, RateSink, TrendSink])
@pytest.mark.parametrize("dist", sorted(BATCH_DISTRIBUTIONS))
def test_add_many_equals_add_one_by_one(kind, dist):
    rng = random.Random(f"batch-{dist}")
    values = BATCH_DISTRIBUTIONS[dist](rng, 3500)
    one = kind()
    for v in values:
        one.add(v)
    many = kind()
    for chunk in _chunks(rng, values):
        many.add_many(chunk)
    assert sink_state(many) == sink_state(one)
    shuffled = kind()  # and from any iterable
    shuffled.add_many(iter(values))
    assert sink_state(shuffled) == sink_state(one)


@pytest.mark.parametrize("kind", [CounterSink, GaugeSink, RateSink, TrendSink])
@pytest.mark.parametrize(
    "values",
    [
        [2, 2.0, 1],
        [1, 2.0, 2, True],
        [0.0, -0.0],
        [-0.0, 0.0, -0.0],
        [1, True, 1.0],
        [math.nan, 1.0, math.nan, -1.0],
        [math.nan],
        [-1.0, math.nan],
        [],
    ],
)
def test_add_many_keeps_the_first_of_equal_extremes_and_skips_nan_as_add_does(kind, values):
    one, many = kind(), kind()
    for v in values:
        one.add(v)
    many.add_many(values)
    assert sink_state(many) == sink_state(one)


def test_trend_add_many_buckets_values_near_every_edge_as_add_does():
    # one bisection per edge decides a value's bucket unless the value is within 2**-30 of the edge:
    # values 2**-29 away, around edges from 1e-300 to 1e300, must land where add() puts them; and
    # columns holding the edge itself and its float neighbours too
    gamma = (1 + RELATIVE_ACCURACY) / (1 - RELATIVE_ACCURACY)
    for i in range(-34500, 34500, 37):
        edge = gamma**i
        column = sorted(edge * (1 + j * 2**-29) for j in range(-40, 41) if j)
        near = sorted(column + [edge, math.nextafter(edge, 0), math.nextafter(edge, math.inf)])
        for values in (column, near):
            one, many = TrendSink(), TrendSink()
            for v in values:
                one.add(v)
            many.add_many(values)
            assert sorted(many._pos.items()) == sorted(one._pos.items()), i
