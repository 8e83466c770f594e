"""Every point keeps its sample's own time; only a point InfluxDB would overwrite is moved, and counted.

InfluxDB's series is measurement + tag set (fields do not count): two points
of one series at one timestamp (at the write precision) are one point.
"""

from __future__ import annotations

import random

import pytest
from horde.metrics import BuiltinMetrics, ConnectedSamples, MetricRegistry, MetricType, Sample, TagSet
from horde_out_influx.collisions import TakenSlots
from horde_out_influx.lineproto import LineEncoder
from reference_encoder import ReferenceEncoder
from test_lineproto import parse_line

K6_FIELDS = {"vu": "string", "iter": "string", "url": "string"}
SECOND = 1_000_000_000
T0 = 1_795_303_223_000_000_000
BASE = {"scenario": "default", "testid": "t", "method": "GET", "status": "200", "name": "home"}


def times(encoder: LineEncoder, containers) -> list[int]:
    """The timestamp of every line ``encoder`` writes for ``containers``."""
    return [parse_line(line.rstrip("\n"))[3] for line in encoder.lines(containers)]


def request(b: BuiltinMetrics, t: int, url: str = "http://h/", **tags: str) -> ConnectedSamples:
    values = (1.0, 0.25, 0.01, 0.0, 0.0, 0.02, 0.2, 0.03, 0.0)
    return ConnectedSamples(b.http_request, values, t, TagSet.of({**BASE, "url": url, **tags}), {"vu": "1"})


def test_two_workers_interleaved_keep_every_sample_time():
    """Two worker processes each emit in time order, and their flushes interleave: nothing collides, so
    nothing moves (this used to move about 29% of the points by up to a few ms)."""
    rng = random.Random(3)
    b = BuiltinMetrics(MetricRegistry())
    flushes = []
    clocks = [T0, T0 + 137]
    for _ in range(40):
        for w in (0, 1):
            flush = []
            for _ in range(25):
                clocks[w] += rng.randrange(50_000, 400_000)
                flush.append(request(b, clocks[w], url=f"http://h/{rng.randrange(3)}"))
                flush.append(
                    ConnectedSamples(
                        b.iteration_end,
                        (80.0, 300.0, 0.5, 1.0),
                        clocks[w] + 5,
                        TagSet.of({"scenario": "default", "testid": "t"}),
                    )
                )
            flushes.append(flush)
    enc = LineEncoder(K6_FIELDS)
    got = [t for flush in flushes for t in times(enc, flush)]
    assert got == [c.time for flush in flushes for c in flush for _ in c.metrics]
    assert enc.moved == 0 and enc.unchecked == 0
    # at µs precision the two workers do end requests in one µs now and then: only those points move
    enc, ref = LineEncoder(K6_FIELDS, 1_000), ReferenceEncoder(K6_FIELDS, 1_000)
    lines = [list(enc.lines(f)) for f in flushes]
    assert lines == [list(ref.lines(f)) for f in flushes]
    got = [parse_line(ln.rstrip("\n"))[3] for f in lines for ln in f]
    want = [c.time // 1_000 for flush in flushes for c in flush for _ in c.metrics]
    assert 0 < enc.moved == sum(g != w for g, w in zip(got, want)) < len(want) // 100


def test_points_differing_only_in_fields_at_one_time_are_moved_one_unit_apart():
    b = BuiltinMetrics(MetricRegistry())
    enc = LineEncoder(K6_FIELDS)
    first = times(enc, [request(b, 100, url="http://h/a")])
    # the same tag set: `url` is a field, an empty tag is not written, `vu` is metadata
    second = times(enc, [request(b, 100, url="http://h/b")])
    third = times(enc, [request(b, 100, url="http://h/c", group="")])
    other_tag = times(enc, [request(b, 100, url="http://h/a", status="404")])
    assert (first, second, third, other_tag) == ([100] * 9, [101] * 9, [102] * 9, [100] * 9)
    assert enc.moved == 18 and enc.unchecked == 0


def test_another_measurement_at_the_same_time_and_tags_is_no_collision():
    registry = MetricRegistry()
    b = BuiltinMetrics(registry)
    mine = registry.get_or_new("my_counter", MetricType.COUNTER)
    tags = TagSet.of(BASE)
    enc = LineEncoder(K6_FIELDS)
    lines = list(
        enc.lines(
            [
                Sample(b.checks, 7, 1.0, tags),
                Sample(mine, 7, 1.0, tags),
                ConnectedSamples(b.iteration_end, (1.0, 2.0, 3.0, 1.0), 7, tags),
                Sample(mine, 7, 2.0, tags),
            ]
        )
    )
    assert [parse_line(ln.rstrip("\n"))[3] for ln in lines] == [7] * 6 + [8]
    assert enc.moved == 1


def test_at_ms_precision_points_in_one_ms_collide_and_a_moved_point_takes_its_slot():
    b = BuiltinMetrics(MetricRegistry())
    enc = LineEncoder(K6_FIELDS, 1_000_000)
    ms = T0 // 1_000_000
    got = [
        times(enc, [request(b, T0 + 10)]),
        times(enc, [request(b, T0 + 999_999)]),
        times(enc, [request(b, T0 + 1_000_000)]),
        times(enc, [request(b, T0 + 3_000_000)]),
    ]
    assert got == [[ms] * 9, [ms + 1] * 9, [ms + 2] * 9, [ms + 3] * 9]
    assert enc.moved == 18


def test_a_pile_up_at_a_coarse_precision_takes_the_next_free_seconds():
    """precision=s and 3000 points of one series in one second: each goes to the next free second, walked once."""
    m = MetricRegistry().get_or_new("mm", MetricType.GAUGE)
    tags = TagSet.of({"k": "v"})
    flush = [Sample(m, T0 + i, float(i), tags) for i in range(3000)]
    flush += [Sample(m, T0 + 5 * SECOND, 1.0, tags), Sample(m, T0 + 4000 * SECOND, 1.0, tags)]
    enc = LineEncoder({}, SECOND)
    s = T0 // SECOND
    assert times(enc, flush) == list(range(s, s + 3000)) + [s + 3000, s + 4000]
    assert enc.moved == 3000 - 1 + 1
    ref = ReferenceEncoder({}, SECOND)
    assert list(ref.lines(flush)) == list(LineEncoder({}, SECOND).lines(flush))


def test_a_late_point_within_the_window_is_checked():
    m = MetricRegistry().get_or_new("mm", MetricType.GAUGE)
    tags = TagSet.of({"k": "v"})
    late = T0 + TakenSlots.WINDOW_NS - 2 * SECOND
    enc = LineEncoder({})
    assert times(enc, [Sample(m, T0, 1.0, tags), Sample(m, late, 1.0, tags), Sample(m, T0, 2.0, tags)]) == [
        T0,
        late,
        T0 + 1,
    ]
    assert (enc.moved, enc.unchecked) == (1, 0)


def test_a_point_older_than_the_window_keeps_its_time_and_is_counted_unchecked():
    m = MetricRegistry().get_or_new("mm", MetricType.GAUGE)
    tags = TagSet.of({"k": "v"})
    later = T0 + TakenSlots.WINDOW_NS + 2 * SECOND
    enc = LineEncoder({})
    assert times(enc, [Sample(m, T0, 1.0, tags), Sample(m, later, 1.0, tags), Sample(m, T0, 2.0, tags)]) == [
        T0,
        later,
        T0,
    ]
    assert (enc.moved, enc.unchecked) == (0, 1)


def test_past_max_slots_the_oldest_second_is_forgotten(monkeypatch):
    monkeypatch.setattr(TakenSlots, "MAX_SLOTS", 10)
    m = MetricRegistry().get_or_new("mm", MetricType.GAUGE)
    enc = LineEncoder({})
    flush = [Sample(m, T0, 1.0, TagSet.of({"k": str(i)})) for i in range(12)]
    assert times(enc, flush) == [T0] * 12 and len(enc._taken) == 12
    # a point one second later opens a new bucket: the table is over its cap, the oldest second goes
    assert times(enc, [Sample(m, T0 + SECOND, 1.0, TagSet.of({"k": "0"}))]) == [T0 + SECOND]
    assert len(enc._taken) == 1
    assert times(enc, [Sample(m, T0, 1.0, TagSet.of({"k": "0"}))]) == [T0]
    assert (enc.moved, enc.unchecked) == (0, 1)


@pytest.mark.parametrize("divisor", [1, 1_000_000, SECOND])
def test_fast_path_containers_whose_slot_is_taken_are_moved(divisor):
    """A (tag set, metrics) pair seen before takes the fast path, unless its slot is taken."""
    b = BuiltinMetrics(MetricRegistry())
    enc = LineEncoder(K6_FIELDS, divisor)
    flush = [request(b, T0 + i, url=f"http://h/{i}") for i in (0, 1, 2, 2, 2)]
    got = times(enc, flush)
    ts = T0 // divisor
    if divisor == 1:
        assert got == [ts] * 9 + [ts + 1] * 9 + [ts + 2] * 9 + [ts + 3] * 9 + [ts + 4] * 9 and enc.moved == 18
    else:
        assert got == [t for i in range(5) for t in [ts + i] * 9] and enc.moved == 36


def test_slots_stay_bounded_when_moved_points_run_into_the_next_second():
    """Pairs of requests in one ms (ms precision) move one point a ms later, sometimes into a second no own
    time has reached yet: the window still moves on with the samples' own times, and old seconds go."""
    b = BuiltinMetrics(MetricRegistry())
    enc = LineEncoder(K6_FIELDS, 1_000_000)
    t = T0 - 1_000_000  # each pair: the last ms of a second, so the moved points open the next second
    for _ in range(60):
        t += SECOND
        list(enc.batches([request(b, t + 1), request(b, t + 2)]))
    taken = enc._taken
    assert enc.moved == 60 * 9 and enc.unchecked == 0
    assert len(taken._buckets) <= taken.keep + 1 and len(taken) <= 2 * (taken.keep + 1)
