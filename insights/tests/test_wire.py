import cramjam
import pytest
import wirebuild
from helpers import K6_PUSH
from horde_insights.wire.metricset import DecodeError, TooManyValues, decode_metric_set


def decoded():
    return decode_metric_set(bytes(cramjam.snappy.decompress_raw(K6_PUSH)))


def test_decodes_a_real_k6_v1_1_0_push():
    ms = decoded()
    assert ms.aggregation_period == 3
    by_name = {name: (kind, series) for name, kind, series in ms.metrics}
    kind, series = by_name["http_reqs"]
    assert kind == "counter" and sum(p.value for s in series for p in s.points) == 20
    kind, series = by_name["http_req_duration"]
    assert kind == "trend"
    p = series[0].points[0]
    assert p.count == 20 == sum(p.hist.values())
    assert p.resolution == 0.001 and 0 < p.min <= p.max
    kind, series = by_name["checks"]
    assert kind == "rate" and series[0].labels["check"] == "is 200 <img src=x>"
    assert series[0].points[0].count == 20


@pytest.mark.parametrize("cut", [1, 7, 100])
def test_truncated_protobuf_is_a_decode_error(cut):
    raw = bytes(cramjam.snappy.decompress_raw(K6_PUSH))
    with pytest.raises(DecodeError):
        decode_metric_set(raw[:-cut])


@pytest.mark.parametrize(
    "build, limit",
    [
        (lambda n: wirebuild.counter_bomb(n), "entries"),
        (lambda n: wirebuild.label_bomb(n), "entries"),
        (lambda n: wirebuild.histogram_bomb(n), "entries"),
    ],
)
def test_entries_are_capped_while_decoding(build, limit):
    assert sum(len(s.points) for _, _, ss in decode_metric_set(build(90), max_entries=100).metrics for s in ss) <= 90
    with pytest.raises(TooManyValues, match=f"more than 100 {limit}"):
        decode_metric_set(build(200), max_entries=100)


def test_protobuf_values_are_capped_while_decoding():
    body = wirebuild.metric_set("m", 1, [wirebuild.field(2, wirebuild.field(1, b"\x11" + b"\0" * 8) * 10)])
    assert decode_metric_set(body, max_values=100).metrics[0][2][0].points[0].value == 0
    with pytest.raises(TooManyValues, match="more than 20 protobuf values"):
        decode_metric_set(
            wirebuild.metric_set("m", 1, [wirebuild.field(2, wirebuild.field(1, b"\x18\x01" * 50))]), max_values=20
        )


def test_histogram_counters_are_decoded_exactly():
    ((_, kind, series),) = decode_metric_set(wirebuild.histogram_bomb(5)).metrics
    assert kind == "trend" and series[0].points[0].hist == {0: 1, 1: 1, 2: 1, 3: 1, 4: 1}


# -- the fast path (C parser) decodes exactly what the careful decoder decodes ----------------------
def _fast_and_careful(raw: bytes):
    from horde_insights.wire.fast import decode_fast
    from horde_insights.wire.metricset import MAX_ENTRIES, MAX_VALUES, decode_careful

    return decode_fast(raw, MAX_ENTRIES, MAX_VALUES), decode_careful(raw)


def test_fast_path_equals_careful_decoder_on_a_real_k6_push():
    from pathlib import Path

    import cramjam

    raw = bytes(
        cramjam.snappy.decompress_raw((Path(__file__).parent / "fixtures" / "k6-v1.1.0-push.snappy").read_bytes())
    )
    fast, careful = _fast_and_careful(raw)
    assert fast is not None and fast == careful
    assert [s.text for _, _, ss in fast.metrics for s in ss][0]  # labels text given to the store


def test_fast_path_equals_careful_decoder_on_every_value_kind_and_histogram_shape():
    import wirebuild as W

    labels = {"name": "http://x/<b>", "status": "200", "ünï": "cödé"}
    trend = (
        W.at(5)
        + W.field(2, W.varint(3) + W.varint(0) + W.varint(7) + W.varint(1))  # packed counters, a zero
        + W.field(3, W.uint(1, 900) + W.uint(2, 2))
        + W.field(3, W.uint(1, 10) + W.uint(2, 2))  # a gap of 10 empty buckets
        + W.double(5, 1.5)
        + W.uint(6, 11)
        + W.double(7, 0.01)
        + W.double(8, 0.9)
        + W.uint(9, 2)
        + W.uint(10, 1)
        + W.double(11, 0.001)
    )
    raw = W.metric_set_of(
        [
            ("c", 1, [W.series(labels, 2, [W.at(1) + W.double(2, 3.5), W.at(2)]), W.series({}, 2, [W.at(1)])]),
            (
                "g",
                2,
                [
                    W.series(
                        labels,
                        3,
                        [W.at(1) + W.double(2, 7) + W.uint(3, 4) + W.double(4, 1) + W.double(5, 9) + W.double(6, 5)],
                    )
                ],
            ),
            ("r", 3, [W.series(labels, 4, [W.at(1) + W.uint(2, 3) + W.uint(3, 10)])]),
            ("t", 4, [W.series(labels, 5, [trend, W.at(6)])]),
        ]
    )
    fast, careful = _fast_and_careful(raw)
    assert fast is not None and fast == careful
    t = fast.metrics[3][2][0].points[0]
    assert t.hist == {900: 3, 912: 7, 913: 1} and (t.low, t.high, t.resolution) == (2, 1, 0.001)


def test_fast_path_hands_unusual_pushes_to_the_careful_decoder():
    import wirebuild as W
    from horde_insights.wire.fast import decode_fast
    from horde_insights.wire.metricset import decode_metric_set

    bad_spans = W.at(1) + W.field(2, W.varint(1)) + W.field(3, W.uint(1, 0) + W.uint(2, 2))
    cases = [
        W.metric_set_of([("t", 4, [W.series({}, 5, [bad_spans])])]),  # spans longer than the counters
        W.metric_set_of([("c", 1, [W.series({}, 3, [W.at(1)])])]),  # gauge samples in a counter
        W.metric_set_of([("", 1, [])]),  # no name
        W.metric_set_of([("x", 9, [])]),  # unknown type
        W.field(1, b"\xff\xfe"),  # invalid UTF-8
        W.metric_set_of([("c", 1, [W.series({"k": "v"}, 2, [W.at(1)])])]) + b"\x0a",  # truncated
    ]
    bad_time = W.field(1, b"\x08")  # a Timestamp cut inside its varint
    bad_span = W.at(1) + W.field(2, W.varint(1)) + W.field(3, b"\x10")
    more_counters = W.at(1) + W.packed(2, [1, 2]) + W.field(3, W.uint(2, 1))
    counters_no_spans = W.at(1) + W.packed(2, [1])
    cases += [
        W.metric_set_of([("t", 4, [W.series({}, 5, [more_counters])])]),  # counters longer than the spans
        W.metric_set_of([("t", 4, [W.series({}, 5, [counters_no_spans])])]),
        W.metric_set_of([("r", 3, [W.series({}, 4, [W.at(1)]) + W.field(5, W.field(1, W.at(1)))])]),  # rate + trend
        W.metric_set_of([("c", 1, [W.series({}, 2, [bad_time + W.double(2, 1)])])]),  # malformed timestamp
        W.metric_set_of([("t", 4, [W.series({}, 5, [bad_span])])]),  # malformed span
        W.metric_set_of([("c", 1, [W.field(1, W.field(1, b"\xff") + W.field(2, b"v"))])]),  # label not UTF-8
    ]
    for raw in cases:
        assert decode_fast(raw, 1000, 1000) is None
        with pytest.raises(DecodeError):
            decode_metric_set(raw)


def test_fast_path_equals_careful_decoder_on_odd_but_valid_encodings():
    import wirebuild as W

    def ts(seconds: int, nanos: int) -> bytes:
        return W.field(1, W.uint(1, seconds) + W.varint(2 << 3) + W.varint(nanos % (1 << 64)))

    def hist(counters: bytes, *spans: tuple[int, int]) -> bytes:
        return W.at(1) + counters + b"".join(W.field(3, W.uint(1, o) + W.uint(2, n)) for o, n in spans) + W.uint(6, 9)

    counters = [
        ts(1, 7) + W.at(2) + W.double(2, 1),  # time given twice: the last one counts whole (not merged)
        W.double(2, 2),  # no time: 0
        ts(5, 500_000_000) + W.double(2, 3),
        ts(5, -1) + W.double(2, 4),  # a negative int32 as a 10-byte varint
        W.at(0) + W.double(2, 5),  # time 0 sent explicitly
    ]
    trends = [
        hist(W.uint(2, 3) + W.uint(2, 4), (2, 2)),  # unpacked counters
        hist(W.packed(2, [1]) + W.packed(2, [2, 3]), (0, 1), (4, 2)),  # counters in two packed chunks
        hist(W.packed(2, [5, 0, 6]), (0, 0), (7, 3), (0, 0)),  # empty spans, a zero counter in a span
        hist(W.packed(2, [1, 1, 1]), (300, 1), (0, 1), (200, 1)),  # adjacent spans, offsets past 127
        hist(b""),  # no histogram
    ]
    raw = W.metric_set_of(
        [
            ("c", 1, [W.series({"a": "1"}, 2, counters) + W.field(2, W.field(1, W.at(9)))]),  # counter samples twice
            ("t", 4, [W.series({"b": "2"}, 5, trends)]),
        ]
    )
    fast, careful = _fast_and_careful(raw)
    assert fast is not None and fast == careful
    assert [p.time for p in fast.metrics[0][2][0].points] == [2.0, 0.0, 5.5, 5 - 1e-9, 0.0, 9.0]
    assert [p.hist for p in fast.metrics[1][2][0].points] == [
        {2: 3, 3: 4},
        {0: 1, 5: 2, 6: 3},
        {7: 5, 9: 6},
        {300: 1, 301: 1, 502: 1},
        {},
    ]


def test_fast_path_takes_an_ordinary_push_of_every_kind(monkeypatch):
    """An ordinary push (many series per metric, two values per series at shared times, histograms as
    k6 builds them) must not fall back to the careful decoder: that would be right but ~10x slower."""
    import random

    import wirebuild as W
    from horde_insights.wire import metricset

    rng = random.Random(7)
    kinds = [("http_reqs", 1), ("vus", 2), ("http_req_failed", 3), ("http_req_duration", 4)]
    series: dict[int, list[bytes]] = {mtype: [] for _, mtype in kinds}
    for i in range(40):
        tags = {"name": f"http://app.test/item/{i}", "method": "GET", "status": "200", "instance_id": "1"}
        values: dict[int, list[bytes]] = {mtype: [] for _, mtype in kinds}
        for t in (30, 33):
            n = rng.randint(1, 60)
            values[1].append(W.at(t) + W.double(2, float(n)))
            values[2].append(W.at(t) + W.double(2, 5) + W.uint(3, 3) + W.double(4, 1) + W.double(5, 9) + W.double(6, 4))
            values[3].append(W.at(t) + W.uint(2, n // 7) + W.uint(3, n))
            values[4].append(W.trend(t, [rng.lognormvariate(4, 1) for _ in range(n)]))
        for mtype, vs in values.items():
            series[mtype].append(W.series(tags, mtype + 1, vs))
    raw = W.metric_set_of([(name, mtype, series[mtype]) for name, mtype in kinds])
    fast, careful = _fast_and_careful(raw)
    assert fast is not None, "the fast path fell back on an ordinary push"
    assert fast == careful
    assert [(name, kind, len(ss), len({s.text for s in ss})) for name, kind, ss in fast.metrics] == [
        ("http_reqs", "counter", 40, 40),
        ("vus", "gauge", 40, 40),
        ("http_req_failed", "rate", 40, 40),
        ("http_req_duration", "trend", 40, 40),
    ]
    assert max(len(p.hist) for s in fast.metrics[3][2] for p in s.points) > 5  # many buckets

    def no_careful(*args, **kwargs):
        raise AssertionError("decode_metric_set fell back to the careful decoder")

    monkeypatch.setattr(metricset, "decode_careful", no_careful)
    assert metricset.decode_metric_set(raw) == careful


# -- the store writes a point's histogram as JSON text --------------------------------------------
def test_hist_text_is_json_dumps_text():
    import json
    import random

    from horde_insights.store.pushes import _hist_text

    rng = random.Random(3)
    hists = [{}, {0: 1}, {-5: 2, 7: 0}, {2**70: 2**65, 1: 3}, {912: 7, 900: 3, 913: 1}]  # dict order kept
    hists += [{rng.randrange(0, 10**6): rng.randrange(1, 10**9) for _ in range(rng.randrange(50))} for _ in range(50)]
    for h in hists:
        assert _hist_text(h) == json.dumps(h, separators=(",", ":"))
