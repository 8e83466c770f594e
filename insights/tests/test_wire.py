import cramjam
import pytest

from helpers import K6_PUSH
from horde_insights.wire.metricset import DecodeError, decode_metric_set


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
