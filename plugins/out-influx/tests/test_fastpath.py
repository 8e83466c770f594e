"""The per-container encoder writes exactly what the per-sample one did (tests/reference_encoder.py).

Random flushes mix containers that take the fast path with every reason to
leave it: NaN and infinities, exponents, ints and bools, series shared between
metrics tuples, repeated metrics, points of one series at one time (moved to a
free time), tag values that need escaping, non-ASCII text, tiny batch caps.
"""

from __future__ import annotations

import math
import random

import pytest
from horde.metrics import BuiltinMetrics, ConnectedSamples, MetricRegistry, MetricType, Sample, TagSet
from horde_out_influx.lineproto import LineEncoder
from reference_encoder import ReferenceEncoder

DIVISORS = [1, 1_000, 1_000_000, 1_000_000_000, 60_000_000_000, 3_600_000_000_000]
FIELDS = [
    {"vu": "string", "iter": "string", "url": "string"},
    {},
    {"url": "string", "status": "int", "zeta": "float", "ok": "bool", "alpha": "int"},
]
NASTY = [
    "a b",
    "a,b",
    "a=b",
    "a\\b",
    "trail\\",
    "new\nline",
    'quo"te',
    "é ü",
    "100%",
    "%s%r",
    "1.0",
    "x.0",
    "",
    "e-5",
    "\x00",
    "nan",
    "v1.0 x",
]


def _value(rng: random.Random):
    kind = rng.random()
    if kind < 0.45:
        return rng.uniform(1e-4, 5e-4) * 1000.0  # full precision, as measured
    if kind < 0.6:
        return rng.choice([0.0, 1.0, -0.0, 2.0, 123.0, -5.0, 0.5, 0.25, 1e15, 9007199254740992.0])
    if kind < 0.7:
        return rng.randrange(-1000, 100_000)
    if kind < 0.75:
        return rng.choice([1e-5, 1.5e-7, -3e-9, 1e16, 2.5e16, 1e21, 1.2345678901234567e25, 5e-324, 1.7e308])
    if kind < 0.8:
        return rng.choice([math.nan, math.inf, -math.inf])
    if kind < 0.85:
        return rng.choice([True, False, 2**53 + 1, -(2**60) - 3, 10**17 + 1, 12345678901234567])
    return round(rng.uniform(-1e6, 1e6), rng.randrange(0, 9))


def _flushes(seed: int, n_flushes: int = 4, per_flush: int = 150, calm: bool = False) -> list[list]:
    """Random flushes; ``calm`` ones mostly take the fast path, with a rare NaN, exponent or repeated time."""
    rng = random.Random(seed)
    registry = MetricRegistry()
    b = BuiltinMetrics(registry)
    custom = [registry.get_or_new(name, MetricType.TREND) for name in ("my_trend", "other", "_u", "z9")]
    base = [TagSet.of({"scenario": "default", "testid": "t"}), TagSet.of({})]
    for _ in range(4):
        tags = {
            rng.choice(["name", "url", "status", "zeta", "ok", "alpha", "k", "k k", "k,k", "k=k", ""]): rng.choice(
                NASTY + ["200", "GET", "http://x/a b"]
            )
            for _ in range(rng.randrange(1, 5))
        }
        base.append(TagSet.of(tags))
    tuples = [
        b.http_request,
        b.http_request_no_failed,
        b.iteration_end,
        b.iteration_end[:2],
        (custom[0], custom[0]),
        (),
        tuple(custom),
        (b.http_reqs,),
    ]
    if calm:
        tuples = [b.http_request, b.iteration_end, tuple(custom)]
    steps = [1, 7, 999, 1_000_000, 2_000_000_000] if calm else [0, 0, 1, 7, 999, 1_000_000, 2_000_000_000]
    odd = 0.03 if calm else 0.3
    t = rng.randrange(0, 1_000_000)
    out = []
    for _ in range(n_flushes):
        flush = []
        for _ in range(per_flush):
            t += rng.choice(steps)
            tags = rng.choice(base)
            if rng.random() < odd / 2:
                m = rng.choice(custom + [b.checks, b.http_reqs])
                flush.append(Sample(m, t, _value(rng), tags, {"vu": "1"}))
                continue
            metrics = rng.choice(tuples)
            if rng.random() > odd:  # plain floats: what the engine emits
                values = tuple(
                    rng.uniform(1e-4, 5e-4) * 1000.0 if rng.random() < 0.6 else rng.choice([0.0, 1.0]) for _ in metrics
                )
            else:
                values = tuple(_value(rng) for _ in metrics)
            if rng.random() < odd / 5:
                values = list(values)
            if rng.random() < odd / 10:
                values = values[:-1]  # fewer values than metrics: only the pairs are written
            md = {"vu": str(rng.randrange(1, 9)), "iter": "3"} if rng.random() < 0.5 else None
            flush.append(ConnectedSamples(metrics, values, t if rng.random() > odd / 3 else t - 5, tags, md))
        out.append(flush)
    return out


def _encode(encoder, flushes) -> list:
    got = []
    for flush in flushes:
        got.append([(bt.body, bt.points) for bt in encoder.batches(flush)])
        got.append((encoder.invalid, encoder.moved))
    return got


@pytest.mark.parametrize("calm", [False, True])
@pytest.mark.parametrize("divisor", DIVISORS)
@pytest.mark.parametrize("fields", range(len(FIELDS)))
@pytest.mark.parametrize("seed", range(6))
def test_random_flushes_match_the_per_sample_encoder(seed, fields, divisor, calm):
    flushes = _flushes(seed * 31 + fields, calm=calm)
    caps = [(5_000_000, 10_000), (5_000_000, 7), (900, 10_000), (2500, 40)][seed % 4]
    new = LineEncoder(FIELDS[fields], divisor, *caps)
    ref = ReferenceEncoder(FIELDS[fields], divisor, *caps)
    assert _encode(new, flushes) == _encode(ref, flushes)


def _emitted(seed: int = 7) -> list:
    """Realistic flushes: http and iteration containers of a few VUs, floats and int byte counts."""
    rng = random.Random(seed)
    b = BuiltinMetrics(MetricRegistry())
    base = TagSet.of({"scenario": "default", "testid": "t"})
    http = [
        base.with_tags(
            {"method": "GET", "name": u, "url": u, "proto": "HTTP/1.1", "status": s, "expected_response": "true"}
        )
        for u in ("http://h/a", "http://h/b c")
        for s in ("200", "404")
    ]
    t = 1_795_303_223_537_028_460
    out = []
    for _ in range(2000):
        t += rng.randrange(1, 800_000)
        v = [rng.uniform(1e-4, 5e-4) * 1000.0 for _ in range(4)]
        out.append(
            ConnectedSamples(
                b.http_request,
                (1.0, v[1] + v[2] + v[3], v[0], 0.0, 0.0, v[1], v[2], v[3], 0.0),
                t,
                rng.choice(http),
                {"vu": "1", "iter": "2"},
            )
        )
        out.append(
            ConnectedSamples(
                b.iteration_end,
                (rng.randrange(60, 120), rng.randrange(200, 400), v[0] * 9, 1.0),
                t + rng.randrange(0, 3),
                base,
                {"vu": "1", "iter": "2"},
            )
        )
    return [out[i : i + 700] for i in range(0, len(out), 700)]


@pytest.mark.parametrize("divisor", DIVISORS)
def test_realistic_flushes_match_and_take_the_fast_path(divisor):
    flushes = _emitted()
    new = LineEncoder(FIELDS[0], divisor, max_points=1000)
    calls = []
    slow = new._sample_lines
    new._sample_lines = lambda c, ts: calls.append(c) or slow(c, ts)
    assert _encode(new, flushes) == _encode(ReferenceEncoder(FIELDS[0], divisor, max_points=1000), flushes)
    # the first container of each (tag set, metrics) pair only: a container whose series already had a point
    # at its time moves as a whole (many do at a coarse precision)
    assert len(calls) == 5
    assert new.moved == 0 if divisor == 1 else new.moved > 0


def test_one_flush_or_one_container_at_a_time_give_the_same_bytes():
    (flush, *_), *_ = [_flushes(3, n_flushes=1, per_flush=400)]
    for divisor in (1, 1_000_000_000):
        whole = LineEncoder(FIELDS[2], divisor)
        single = LineEncoder(FIELDS[2], divisor)
        one = b"".join(bt.body for bt in whole.batches(flush))
        each = b"".join(bt.body for c in flush for bt in single.batches([c]))
        assert one == each
        assert (whole.invalid, whole.moved) == (single.invalid, single.moved)


def test_series_shared_by_two_metrics_tuples_are_moved_apart():
    b = BuiltinMetrics(MetricRegistry())
    tags = TagSet.of({"scenario": "default"})
    containers = [
        ConnectedSamples(b.iteration_end, (10, 20, 1.5, 1.0), 100, tags),
        ConnectedSamples(b.iteration_end[:2], (11, 21), 100, tags),
        ConnectedSamples(b.iteration_end, (12, 22, 2.5, 1.0), 100, tags),
    ]
    enc = LineEncoder({})
    lines = list(enc.lines(containers))
    assert [ln.rsplit(" ", 1)[1] for ln in lines] == ["100\n"] * 4 + ["101\n"] * 2 + [
        "102\n",
        "102\n",
        "101\n",
        "101\n",
    ]
    assert enc.moved == 6


@pytest.mark.parametrize("seed", range(3))
def test_groups_forgotten_while_their_series_times_are_kept(monkeypatch, seed):
    """With room for few (tag set, metrics) pairs, groups are dropped and rebuilt all the time."""
    monkeypatch.setattr(LineEncoder, "MAX_GROUPS", 3)
    flushes = _flushes(seed, calm=bool(seed % 2))
    assert _encode(LineEncoder(FIELDS[0], 1_000_000), flushes) == _encode(
        ReferenceEncoder(FIELDS[0], 1_000_000), flushes
    )
