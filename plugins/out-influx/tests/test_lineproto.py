"""The line protocol matches what k6 v1.1.0 wrote (fixtures/k6_sample.lp) and batches are capped."""

from __future__ import annotations

import math
import re

import pytest
from conftest import FIXTURES
from horde.metrics import ConnectedSamples, MetricRegistry, MetricType, Sample, TagSet, go_float_decimal
from horde_out_influx.lineproto import Batch, LineEncoder, split_body

K6_DEFAULT_FIELDS = {"vu": "string", "iter": "string", "url": "string"}


def _split(text: str, sep: str) -> list[str]:
    """Split on ``sep`` not escaped by a backslash and not inside double quotes."""
    parts, cur, quoted, i = [], "", False, 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            cur += text[i : i + 2]
            i += 2
            continue
        if ch == '"':
            quoted = not quoted
        if ch == sep and not quoted:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
        i += 1
    parts.append(cur)
    return parts


def _unescape(text: str) -> str:
    return re.sub(r"\\([, =])", r"\1", text)


def parse_line(line: str):
    """(measurement, tags, fields, timestamp) of one k6 line."""
    head, fields, ts = _split(line, " ")
    name, *tags = _split(head, ",")
    tag_map = dict(_unescape(t).split("=", 1) for t in tags)
    field_map = {}
    for f in _split(fields, ","):
        k, v = f.split("=", 1)
        field_map[k] = v
    return name, tag_map, field_map, int(ts)


def k6_lines() -> list[str]:
    return (FIXTURES / "k6_sample.lp").read_text().splitlines()


def test_every_k6_line_is_reproduced_exactly():
    registry = MetricRegistry()
    encoder = LineEncoder(K6_DEFAULT_FIELDS)
    for line in k6_lines():
        name, tags, fields, ts = parse_line(line)
        metric = registry.get_or_new(name, MetricType.TREND)
        if "url" in fields:
            tags["url"] = fields["url"].strip('"')
        tags.setdefault("group", "")  # k6 drops empty tags: the root group
        sample = Sample(metric, ts, float(fields["value"]), TagSet.of(tags), {"vu": "1", "iter": "2", "trace_id": "x"})
        assert list(encoder.lines([sample])) == [line + "\n"]


def test_connected_samples_share_tags_and_time():
    registry = MetricRegistry()
    a = registry.get_or_new("http_reqs", MetricType.COUNTER)
    b = registry.get_or_new("http_req_duration", MetricType.TREND)
    tags = TagSet.of({"status": "200", "url": "http://x/a b", "check": "a,b=c"})
    c = ConnectedSamples((a, b), (1.0, 0.5), 1_700_000_000_123_456_789, tags)
    assert list(LineEncoder(K6_DEFAULT_FIELDS).lines([c])) == [
        'http_reqs,check=a\\,b\\=c,status=200 url="http://x/a b",value=1 1700000000123456789\n',
        'http_req_duration,check=a\\,b\\=c,status=200 url="http://x/a b",value=0.5 1700000000123456789\n',
    ]


def test_typed_fields_sorted_around_value_and_precision():
    m = MetricRegistry().get_or_new("mm", MetricType.GAUGE)
    tags = TagSet.of({"status": "200", "a": "1.5", "ok": "true", "zz": 'x"y', "bad": "NaN"})
    enc = LineEncoder({"status": "int", "a": "float", "ok": "bool", "zz": "string", "bad": "float"}, divisor=1_000_000)
    (line,) = enc.lines([Sample(m, 1_700_000_000_123_456_789, 42.0, tags)])
    assert line == 'mm a=1.5,bad="NaN",ok=true,status=200i,value=42,zz="x\\"y" 1700000000123\n'


def test_nan_and_inf_are_left_out_and_counted():
    m = MetricRegistry().get_or_new("mm", MetricType.GAUGE)
    enc = LineEncoder({})
    lines = list(
        enc.lines(
            [Sample(m, 1, math.nan, TagSet.of()), Sample(m, 2, math.inf, TagSet.of()), Sample(m, 3, 1.0, TagSet.of())]
        )
    )
    assert lines == ["mm value=1 3\n"] and enc.invalid == 2


@pytest.mark.parametrize(
    "v,text",
    [
        (1.0, "1"),
        (0.232383, "0.232383"),
        (42.0, "42"),
        (-0.5, "-0.5"),
        (1e21, "1000000000000000000000"),
        (1.5e-7, "0.00000015"),
        (123456789.125, "123456789.125"),
        (2.5e16, "25000000000000000"),
    ],
)
def test_floats_have_no_exponent(v, text):
    assert go_float_decimal(v) == text
    assert float(text) == v


def test_batches_are_capped_in_points_and_bytes():
    m = MetricRegistry().get_or_new("metric_name", MetricType.COUNTER)
    samples = [Sample(m, i, 1.0, TagSet.of({"k": "v"})) for i in range(1000)]
    by_points = list(LineEncoder({}, max_points=300).batches(samples))
    assert [b.points for b in by_points] == [300, 300, 300, 100]
    by_bytes = list(LineEncoder({}, max_bytes=1000).batches(samples))
    assert all(len(b.body) <= 1000 for b in by_bytes)
    assert sum(b.points for b in by_bytes) == 1000
    assert b"".join(b.body for b in by_bytes) == b"".join(b.body for b in by_points)
    for b in by_bytes:
        assert b.body.count(b"\n") == b.points and b.body.endswith(b"\n")


def test_non_ascii_batches_fit_in_bytes():
    m = MetricRegistry().get_or_new("m_x", MetricType.COUNTER)
    samples = [Sample(m, i, 1.0, TagSet.of({"k": "é" * 50})) for i in range(100)]
    batches = list(LineEncoder({}, max_bytes=700).batches(samples))
    assert all(len(b.body) <= 700 for b in batches) and sum(b.points for b in batches) == 100


def test_split_body_keeps_every_line():
    body = b"".join(b"m value=%d %d\n" % (i, i) for i in range(7))
    first, second = split_body(Batch(body, 7))
    assert first.body + second.body == body
    assert (first.points, second.points) == (first.body.count(b"\n"), second.body.count(b"\n"))
    assert first.points >= 1 and second.points >= 1


def test_escaping_is_done_once_per_tag_set(emitter):
    enc = LineEncoder(K6_DEFAULT_FIELDS)
    containers = [c for i in range(200) for c in emitter.request(status=200 if i % 2 else 404)]
    calls = []
    compute = enc._for_tags
    enc._for_tags = lambda tags: calls.append(tags) or compute(tags)
    assert sum(b.points for b in enc.batches(containers)) == 2000
    assert len(calls) == len(set(map(id, calls))) == len({id(c.tags) for c in containers}) == 3


def test_integer_and_bool_values_are_written_as_floats():
    m = MetricRegistry().get_or_new("mm", MetricType.RATE)
    lines = list(
        LineEncoder({}).lines(
            [Sample(m, 5, True, TagSet.of()), Sample(m, 6, 3, TagSet.of()), Sample(m, 7, 1e-7, TagSet.of())]
        )
    )
    assert lines == ["mm value=1 5\n", "mm value=3 6\n", "mm value=0.0000001 7\n"]
