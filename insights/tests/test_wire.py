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
