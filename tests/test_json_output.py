"""The built-in json output against k6 v1.1.0's own bytes (tests/fixtures/k6/sample.json)."""

from __future__ import annotations

import calendar
import gzip
import io
import json
import time
from pathlib import Path

import pytest
from horde.errors import RunError
from horde.metrics import ConnectedSamples, MetricRegistry, MetricType, Sample, TagSet, ValueType, gofmt
from horde.output import Params
from horde.output.binding import create_output, new_plugin_manager
from horde.output.manager import Manager
from horde.output.registry import load_registry
from horde.outputs.json import JsonOutput

K6_SAMPLE = Path(__file__).parent / "fixtures" / "k6" / "sample.json"


@pytest.fixture
def utc(monkeypatch):
    """Run in UTC, as the k6 fixture was recorded."""
    _set_tz(monkeypatch, "UTC")
    yield
    monkeypatch.undo()
    time.tzset()
    gofmt._second_cache.clear()


def _set_tz(monkeypatch, tz):
    monkeypatch.setenv("TZ", tz)
    time.tzset()
    gofmt._second_cache.clear()


def _ns(stamp: str) -> int:
    """RFC3339 UTC with nanoseconds -> integer nanoseconds."""
    base, _, frac = stamp.rstrip("Z").partition(".")
    secs = calendar.timegm(time.strptime(base, "%Y-%m-%dT%H:%M:%S"))
    return secs * 1_000_000_000 + int((frac or "0").ljust(9, "0"))


class Threshold:
    """A parsed threshold as outputs see it: str() for the plain form, to_json() for the object form."""

    def __init__(self, source):
        self.source = source

    def __str__(self):
        return self.source if isinstance(self.source, str) else self.source["threshold"]

    def to_json(self):
        return self.source


def rebuild_k6_run():
    """Metrics, thresholds and containers (grouped as k6's engine emits them) that produced the fixture."""
    reg = MetricRegistry()
    thresholds = {}
    containers = []
    for line in K6_SAMPLE.read_text().splitlines():
        rec = json.loads(line)
        if rec["type"] == "Metric":
            d = rec["data"]
            m = reg.get_or_new(d["name"], MetricType.parse(d["type"]), ValueType.parse(d["contains"]))
            for sub in d["submetrics"] or ():
                m.add_submetric(sub["suffix"], sub["tags"])
            thresholds[d["name"]] = [Threshold(t) for t in d["thresholds"]]
            continue
        d = rec["data"]
        metric = reg.get(rec["metric"])
        when, tags, md = _ns(d["time"]), TagSet.of(d["tags"]), d.get("metadata")
        last = containers[-1] if containers else None
        if isinstance(last, ConnectedSamples) and last.time == when and last.tags is tags:
            last.metrics = last.metrics + (metric,)
            last.values = last.values + (float(d["value"]),)
        elif rec["metric"] == "http_reqs":
            containers.append(ConnectedSamples((metric,), (float(d["value"]),), when, tags, md))
        else:
            containers.append(Sample(metric, when, float(d["value"]), tags, md))
    # a threshold on a sub-metric is not listed on its parent metric
    thresholds["http_req_duration{status:200}"] = [Threshold("max<1000")]
    return thresholds, containers


def _run(out, containers, thresholds=None, batches=1, error=None):
    out.set_thresholds(thresholds or {})
    out.start()
    size = max(1, len(containers) // batches)
    for i in range(0, len(containers), size):
        out.add_samples(containers[i : i + size])
    out.add_samples([])
    out.stop(error)


@pytest.mark.parametrize("batches", [1, 3, 40])
def test_bytes_identical_to_k6(tmp_path, utc, batches):
    thresholds, containers = rebuild_k6_run()
    assert sum(len(c) for c in containers) == 25
    path = tmp_path / "out.json"
    out = JsonOutput(Params("json", str(path)))
    _run(out, containers, thresholds, batches)
    assert path.read_bytes() == K6_SAMPLE.read_bytes()
    assert out.written == 25


def test_gzip_when_the_name_ends_in_gz(tmp_path, utc):
    thresholds, containers = rebuild_k6_run()
    path = tmp_path / "out.json.gz"
    _run(JsonOutput(Params("json", str(path))), containers, thresholds)
    raw = path.read_bytes()
    assert raw[:2] == b"\x1f\x8b"
    assert gzip.decompress(raw) == K6_SAMPLE.read_bytes()


@pytest.mark.parametrize("arg", ["", "-"])
def test_stdout_for_empty_or_dash(arg, utc):
    thresholds, containers = rebuild_k6_run()
    stdout = io.StringIO()
    out = JsonOutput(Params("json", arg, stdout=stdout))
    assert out.description() == "json(stdout)"
    _run(out, containers, thresholds)
    assert stdout.getvalue() == K6_SAMPLE.read_text()


def test_description_names_the_file(tmp_path):
    assert JsonOutput(Params("json", "results.json")).description() == "json (results.json)"


def _point_lines(containers):
    stdout = io.StringIO()
    _run(JsonOutput(Params("json", "-", stdout=stdout)), containers)
    return stdout.getvalue().splitlines()


def test_point_line_shape_and_metric_line_first(utc):
    reg = MetricRegistry()
    m = reg.get_or_new("data_sent", MetricType.COUNTER, ValueType.DATA)
    lines = _point_lines(
        [
            Sample(m, 1_000_000_000, 1048576.0, TagSet.of(scenario="default", group="")),
            Sample(m, 1_000_000_001, 5.0, TagSet.of(), {}),
        ]
    )
    assert lines == [
        '{"type":"Metric","data":{"name":"data_sent","type":"counter","contains":"data","thresholds":[],"submetrics":null},"metric":"data_sent"}',
        '{"metric":"data_sent","type":"Point","data":{"time":"1970-01-01T00:00:01Z","value":1.048576e+06,"tags":{"group":"","scenario":"default"}}}',
        '{"metric":"data_sent","type":"Point","data":{"time":"1970-01-01T00:00:01.000000001Z","value":5,"tags":{}}}',
    ]


def test_each_metric_declared_once_right_before_its_first_point(utc):
    reg = MetricRegistry()
    a = reg.get_or_new("m_a", MetricType.GAUGE)
    b = reg.get_or_new("m_b", MetricType.RATE)
    t = TagSet.of(k="v")
    lines = _point_lines([Sample(a, 1, 1.0, t), ConnectedSamples((b, a), (0.0, 2.0), 2, t), Sample(b, 3, 1.0, t)])
    kinds = [(json.loads(l)["type"], json.loads(l)["metric"]) for l in lines]
    assert kinds == [
        ("Metric", "m_a"),
        ("Point", "m_a"),
        ("Metric", "m_b"),
        ("Point", "m_b"),
        ("Point", "m_a"),
        ("Point", "m_b"),
    ]


def test_tags_and_metadata_sorted_unescaped_and_metadata_omitted_when_empty(utc):
    m = MetricRegistry().get_or_new("checks", MetricType.RATE)
    tags = TagSet.of({"z": "<b>&</b>", "a": 'naïve "q"', "m": "x\ty"})
    lines = _point_lines(
        [
            Sample(m, 1, 1.0, tags, {"vu": "2", "iter": "0", "trace_id": "t"}),
            Sample(m, 1, 0.0, tags, None),
            Sample(m, 1, 0.0, tags, {}),
        ]
    )
    assert lines[1] == (
        '{"metric":"checks","type":"Point","data":{"time":"1970-01-01T00:00:00.000000001Z","value":1,'
        '"tags":{"a":"naïve \\"q\\"","m":"x\\ty","z":"<b>&</b>"},"metadata":{"iter":"0","trace_id":"t","vu":"2"}}}'
    )
    assert '"metadata"' not in lines[2] and '"metadata"' not in lines[3]
    assert all(json.loads(l) for l in lines)


@pytest.mark.parametrize(
    "value, text",
    [
        (1.0, "1"),
        (42.0, "42"),
        (0.0, "0"),
        (-0.0, "-0"),
        (-3.0, "-3"),
        (0.32227, "0.32227"),
        (12.5, "12.5"),
        (999999.0, "999999"),
        (1e6, "1e+06"),
        (1048576.0, "1.048576e+06"),
        (1234567.0, "1.234567e+06"),
        (12345678.9, "1.23456789e+07"),
        (1e15, "1e+15"),
        (1e21, "1e+21"),
        (1.2345678901234568e17, "1.2345678901234568e+17"),
        (0.000123, "0.000123"),
        (0.0001, "0.0001"),
        (1e-05, "1e-05"),
        (1.5e-07, "1.5e-07"),
        (-2.5e-05, "-2.5e-05"),
        (123456.7, "123456.7"),
        (0.1 + 0.2, "0.30000000000000004"),
        (5e-324, "5e-324"),
        (1.7976931348623157e308, "1.7976931348623157e+308"),
        (1e100, "1e+100"),
        (float("nan"), "NaN"),
        (float("inf"), "+Inf"),
        (float("-inf"), "-Inf"),
    ],
)
def test_values_formatted_as_k6_v1(value, text):
    assert gofmt.go_float(value) == text


def _reference_go_g(v: float) -> str:
    """Go's FormatFloat(v, 'g', -1, 64), derived independently from Decimal's view of the shortest repr.

    Go: shortest digits; %e form when the decimal exponent is < -4 or >= 6 (eprec is 6 for
    the shortest precision); the exponent has a sign and at least two digits.
    """
    from decimal import Decimal

    sign, digits, exp = Decimal(repr(v)).normalize().as_tuple()
    ds = "".join(map(str, digits))
    x = exp + len(ds) - 1  # decimal exponent of the first digit
    s = "-" if sign else ""
    if x < -4 or x >= 6:
        mant = ds[0] + ("." + ds[1:] if len(ds) > 1 else "")
        return f"{s}{mant}e{'+' if x >= 0 else '-'}{abs(x):02d}"
    if x < 0:
        return s + "0." + "0" * (-x - 1) + ds
    if len(ds) <= x + 1:
        return s + ds + "0" * (x + 1 - len(ds))
    return s + ds[: x + 1] + "." + ds[x + 1 :]


def test_values_match_reference_on_random_floats():
    import random
    import struct

    rng = random.Random(99)
    for _ in range(20000):
        kind = rng.random()
        if kind < 0.4:
            v = rng.uniform(-1e7, 1e7)
        elif kind < 0.7:
            v = float(rng.randint(-(10**8), 10**8))
        elif kind < 0.9:
            v = round(rng.uniform(0, 2000), rng.randint(0, 6))
        else:
            v = struct.unpack("<d", struct.pack("<Q", rng.getrandbits(63)))[0]
            if v != v or v in (float("inf"),):
                continue
        if v == 0:
            continue
        assert gofmt.go_float(v) == _reference_go_g(v), v
        assert float(gofmt.go_float(v)) == v


@pytest.mark.parametrize(
    "tz, ns, text",
    [
        ("UTC", 1_763_767_223_537_028_460, "2025-11-21T23:20:23.53702846Z"),
        ("UTC", 1_763_767_223_000_000_000, "2025-11-21T23:20:23Z"),
        ("UTC", 1_763_767_223_100_000_000, "2025-11-21T23:20:23.1Z"),
        ("UTC", 1_763_767_223_000_000_001, "2025-11-21T23:20:23.000000001Z"),
        ("IST-05:30", 1_763_767_223_537_028_460, "2025-11-22T04:50:23.53702846+05:30"),
        ("EST+05", 0, "1969-12-31T19:00:00-05:00"),
        ("EST5EDT,M3.2.0,M11.1.0", 1_750_000_000_000_000_000, "2025-06-15T11:06:40-04:00"),
        # a zone whose summer time is UTC+0: Go writes Z for any zero offset
        ("AZOT1AZOST,M3.5.0/0,M10.5.0/1", 1_750_000_000_000_000_000, "2025-06-15T15:06:40Z"),
        ("AZOT1AZOST,M3.5.0/0,M10.5.0/1", 1_735_689_600_000_000_000, "2024-12-31T23:00:00-01:00"),
    ],
)
def test_rfc3339_nano_in_local_zone(monkeypatch, tz, ns, text):
    _set_tz(monkeypatch, tz)
    try:
        assert gofmt.rfc3339_nano(ns) == text
    finally:
        monkeypatch.undo()
        time.tzset()
        gofmt._second_cache.clear()


def test_times_of_many_seconds_are_all_right(utc):
    base = 1_763_767_223 * 10**9
    for k in range(30):
        ns = base + k * 1_500_000_000
        sec, frac = divmod(ns, 10**9)
        expect = (
            time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec)) + (f".{frac:09d}".rstrip("0") if frac else "") + "Z"
        )
        assert gofmt.rfc3339_nano(ns) == expect


def test_metric_line_with_thresholds_and_submetrics(utc):
    reg = MetricRegistry()
    m = reg.get_or_new("http_req_duration", MetricType.TREND, ValueType.TIME)
    m.add_submetric("status:200", {"status": "200"})
    stdout = io.StringIO()
    out = JsonOutput(Params("json", "-", stdout=stdout))
    _run(
        out,
        [Sample(m, 0, 1.0, TagSet.of())],
        {"http_req_duration": ["p(95)<500", Threshold({"threshold": "avg<9", "abortOnFail": True})]},
    )
    first = stdout.getvalue().splitlines()[0]
    assert first == (
        '{"type":"Metric","data":{"name":"http_req_duration","type":"trend","contains":"time",'
        '"thresholds":["p(95)<500",{"threshold":"avg<9","abortOnFail":true}],'
        '"submetrics":[{"name":"http_req_duration{status:200}","suffix":"status:200","tags":{"status":"200"}}]},'
        '"metric":"http_req_duration"}'
    )


def test_each_output_instance_declares_metrics_again(tmp_path, utc):
    m = MetricRegistry().get_or_new("my_rate", MetricType.RATE)
    s = [Sample(m, 0, 1.0, TagSet.of())]
    assert _point_lines(s)[0].startswith('{"type":"Metric"')
    assert _point_lines(s)[0].startswith('{"type":"Metric"')


def test_stop_flushes_everything_and_closes_the_file(tmp_path, utc):
    path = tmp_path / "r.json"
    out = JsonOutput(Params("json", str(path)))
    out.start()
    m = MetricRegistry().get_or_new("iterations", MetricType.COUNTER)
    for i in range(1000):
        out.add_samples([Sample(m, i, 1.0, TagSet.of())])
    out.stop(RunError("aborted"))
    lines = path.read_text().splitlines()
    assert len(lines) == 1001 and out.written == 1000
    assert out._file is None


def test_start_fails_on_unwritable_path(tmp_path):
    out = JsonOutput(Params("json", str(tmp_path / "no" / "such" / "dir.json")))
    with pytest.raises(OSError):
        out.start()


def test_json_through_the_registry_and_manager(tmp_path, utc, horde_env):
    thresholds, containers = rebuild_k6_run()
    path = tmp_path / "via-manager.json"
    reg = load_registry({})
    out = create_output(reg.get("json"), Params("json", str(path)), new_plugin_manager())
    mgr = Manager([out])
    mgr.set_thresholds(thresholds)
    mgr.start(lambda e: None)
    mgr.add_samples(containers)
    mgr.stop(None)
    assert path.read_bytes() == K6_SAMPLE.read_bytes()
    assert mgr.failures == {}
