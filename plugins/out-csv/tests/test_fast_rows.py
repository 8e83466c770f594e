"""The template fast path of RowFormatter against a plain sample-by-sample reference, byte for byte."""

import io
import math
import random
import time

import pytest
from conftest import T0, fixture_containers, make_params, run_output
from horde.metrics import (
    DEFAULT_SYSTEM_TAGS,
    SYSTEM_TAGS,
    BuiltinMetrics,
    ConnectedSamples,
    MetricRegistry,
    MetricType,
    Sample,
    TagSet,
    parse_system_tags,
)
from horde.metrics import go_float_fixed as go_float
from horde_out_csv.config import TimeFormat
from horde_out_csv.rows import RowFormatter, columns_for, go_quote
from horde_out_csv.timefmt import time_formatter

SECOND = 1_000_000_000


def reference(containers, system_tags, time_format) -> str:
    """k6's rows one sample at a time, the straightforward way."""
    columns, ignored = columns_for(system_tags)
    skip = set(columns) | ignored
    fmt_time = time_formatter(time_format)

    def pairs(items):
        return go_quote("&".join(f"{k}={v}" for k, v in items if k not in skip))

    lines = []
    for c in containers:
        for m, v in zip(c.metrics, c.values):
            fields = [
                go_quote(m.name),
                fmt_time(c.time),
                go_float(v),
                *(go_quote(c.tags.get(k) or "") for k in columns),
                pairs(c.tags.items()),
                pairs(c.metadata.items()) if c.metadata else "",
            ]
            lines.append(",".join(fields) + "\n")
    return "".join(lines)


def encoded(text: str) -> bytes:
    """What the file holds for ``text``: surrogateescape, else (the whole write) replace."""
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace")


def random_containers(rng: random.Random, n: int) -> list:
    """Containers covering what the fast path must get right: shared and odd tag sets and metadata,
    names and tags with N (the non-finite sentinel), % and the template marks, non-finite, int and
    extreme values, values as lists or of the wrong length, lone Samples, and times that repeat,
    tick by a nanosecond, cross seconds and go back."""
    registry = MetricRegistry()
    b = BuiltinMetrics(registry)
    custom = registry.get_or_new("Net_Nodes", MetricType.GAUGE)
    tuples = [
        b.http_request,
        b.http_request_no_failed,
        b.iteration_end,
        b.iteration_end[:2],
        (b.checks,),
        (custom, b.vus),
        (custom,),
    ]
    tag_sets = [
        TagSet.of(
            scenario="default",
            method="GET",
            url="http://x/",
            name="http://x/",
            status="200",
            proto="HTTP/1.1",
            expected_response="true",
        ),
        TagSet.of(scenario="default"),
        TagSet.of(scenario="default", method="OPTIONS", name="/a%sb%F%%", url="http://x/%20?q=N", testid="N%d"),
        TagSet.of(check='is "ok", really', group="::g", k="a,b", lead=" x", nl="a\nb"),
        TagSet.of(k="marks\x00in\x01tags", status="\x01"),
        TagSet.of(ip="1.2.3.4", vu="3", iter="4", error_code="1211", tls_version="tls1.3", ocsp_status="good"),
        TagSet.of(),
    ]
    shared = {"vu": "1", "iter": "7"}
    metadata = [None, None, None, shared, shared, {}, {"trace_id": "N%s\x01,x", "vu": "2"}, {"status": "dropped"}]
    values = [
        0.0,
        1.0,
        -0.0,
        0.1928009986877441,
        1e-7,
        5e-7,
        0.0000015,
        123456.789012345,
        1e20,
        -3.25,
        7,
        2316,
        2**53 + 1,
        -1,
    ]
    odd = [math.inf, -math.inf, math.nan]
    t = T0
    out = []
    for _ in range(n):
        t += rng.choice([0, 1, 999, 1_000_000, 450_000_000, SECOND - 1, -5 * SECOND, 3 * SECOND])
        metrics = rng.choice(tuples)
        vals = tuple(
            rng.choice(odd)
            if rng.random() < 0.03
            else rng.choice(values)
            if rng.random() < 0.5
            else rng.uniform(-1, 1) * 10 ** rng.randint(-8, 9)
            for _ in metrics
        )
        shape = rng.random()
        if shape < 0.04:
            vals = list(vals)
        elif shape < 0.07:
            vals = vals[:-1] if len(vals) > 1 else vals + (1.0,)
        tags, md = rng.choice(tag_sets), rng.choice(metadata)
        if shape > 0.95:
            out.append(Sample(metrics[0], t, vals[0], tags, md))
        else:
            out.append(ConnectedSamples(metrics, vals, t, tags, md))
    return out


@pytest.mark.parametrize("time_format", list(TimeFormat))
@pytest.mark.parametrize(
    "system_tags",
    [DEFAULT_SYSTEM_TAGS, SYSTEM_TAGS, parse_system_tags("status,url,vu")],
    ids=["default", "all", "some"],
)
def test_rows_equal_the_reference(time_format, system_tags, monkeypatch):
    monkeypatch.setenv("TZ", "Asia/Kolkata")
    time.tzset()
    try:
        rng = random.Random(f"{time_format}{len(system_tags)}")
        containers = random_containers(rng, 3000)
        expected = reference(containers, system_tags, time_format)
        for binary in (False, True):
            f = RowFormatter(system_tags, time_format, binary=binary)
            f.MAX_CACHED = 4  # restart the caches often
            got, i = [], 0
            while i < len(containers):  # chunks of any size, the formatter's state carried between them
                step = rng.randint(1, 400)
                got.append(f.rows(containers[i : i + step]))
                i += step
            if binary:
                assert b"".join(got) == expected.encode("utf-8", "surrogateescape")
            else:
                assert "".join(got) == expected
    finally:
        monkeypatch.undo()
        time.tzset()


def test_fixture_rows_equal_the_reference():
    containers = fixture_containers()
    for time_format in TimeFormat:
        expected = reference(containers, DEFAULT_SYSTEM_TAGS, time_format)
        assert RowFormatter(DEFAULT_SYSTEM_TAGS, time_format).rows(containers) == expected
        assert RowFormatter(DEFAULT_SYSTEM_TAGS, time_format, binary=True).rows(containers) == expected.encode()


@pytest.mark.parametrize(
    "value,text",
    [
        (0, "0.000000"),
        (7, "7.000000"),
        (-1, "-1.000000"),
        (2**53 + 1, "9007199254740992.000000"),
        (1e20, "100000000000000000000.000000"),
        (1.7976931348623157e308, "%f" % 1.7976931348623157e308),
        (5e-7, "0.000000"),
        (1.5e-6, "0.000002"),
        (2.5e-6, "0.000003"),
        (0.0000005000000000001, "0.000001"),
        (-1e-9, "-0.000000"),
        (-0.0, "-0.000000"),
        (0.1928009986877441, "0.192801"),
        (True, "1.000000"),
        (math.inf, "+Inf"),
        (-math.inf, "-Inf"),
        (math.nan, "NaN"),
    ],
)
@pytest.mark.parametrize("binary", [False, True])
def test_values_are_written_as_go_does(value, text, binary, builtin):
    f = RowFormatter((), binary=binary)
    rows = f.rows([ConnectedSamples((builtin.vus, builtin.vus_max), (value, 1.0), 0, TagSet.of())])
    expected = f"vus,0,{text},,\nvus_max,0,1.000000,,\n"
    assert rows == (expected.encode() if binary else expected)


@pytest.mark.parametrize(
    "name,tags,metadata",
    [
        ("plain", {}, None),
        ("N_in_name", {}, None),
        ("plain", {"k": "NaN"}, None),
        ("plain", {}, {"k": "INF"}),
    ],
)
def test_non_finite_values_are_found_next_to_an_n(name, tags, metadata):
    registry = MetricRegistry()
    m = registry.get_or_new(name, MetricType.GAUGE)
    for time_format in (TimeFormat.UNIX, TimeFormat.UNIX_NANO):
        f = RowFormatter((), time_format, binary=True)
        for v, text in ((1.5, "1.500000"), (math.inf, "+Inf"), (-math.inf, "-Inf"), (math.nan, "NaN")):
            c = ConnectedSamples((m,), (v,), 0, TagSet.of(tags), metadata)
            assert f.rows([c]) == reference([c], (), time_format).encode()
            assert text in f.rows([c]).decode()


def test_ordinary_containers_take_the_fast_path(monkeypatch):
    containers = [
        c
        for c in random_containers(random.Random(1), 500)
        if type(c.values) is tuple and len(c.values) == len(c.metrics) and all(map(math.isfinite, c.values))
    ]
    for time_format in (TimeFormat.UNIX, TimeFormat.RFC3339_NANO):
        f = RowFormatter(DEFAULT_SYSTEM_TAGS, time_format, binary=True)
        monkeypatch.setattr(f, "_sample_rows", lambda *a: pytest.fail("slow path taken"))
        assert f.rows(containers) == reference(containers, DEFAULT_SYSTEM_TAGS, time_format).encode()


def test_same_tags_with_other_metrics_and_times(builtin):
    """The template cached per tag set is only reused for the same metrics and timestamp text."""
    tags = TagSet.of(scenario="default")
    cs = [
        ConnectedSamples(builtin.iteration_end, (1, 2, 3.5, 1.0), T0, tags),
        ConnectedSamples(builtin.iteration_end[:2], (4, 5), T0, tags),
        ConnectedSamples((builtin.vus,), (6.0,), T0 + 1, tags),
        ConnectedSamples(tuple(builtin.iteration_end[:2]), (7, 8), T0 + SECOND, tags),
        ConnectedSamples(builtin.iteration_end, (1, 2, 3.5, 1.0), T0 - SECOND, tags),
    ]
    f = RowFormatter(DEFAULT_SYSTEM_TAGS, binary=True)
    assert f.rows(cs) == reference(cs, DEFAULT_SYSTEM_TAGS, TimeFormat.UNIX).encode()


@pytest.mark.parametrize("tag_values", [["\udc80x"], ["\ud800x"], ["\udc80x", "\ud800x"], ["ok"]])
def test_unpaired_surrogates_are_encoded_as_one_write_was(tag_values, builtin):
    """Escapable surrogates become their bytes; a write holding any other is encoded with ``replace``
    throughout, as when the whole text was encoded at once."""
    cs = [
        ConnectedSamples(builtin.iteration_end, (1, 2, 3.5, 1.0), T0 + i, TagSet.of(k=v), {"m": v})
        for i, v in enumerate(tag_values + ["plain"])
    ]
    before = [ConnectedSamples((builtin.vus,), (1.0,), T0 - 10 * SECOND, TagSet.of())]
    for time_format in (TimeFormat.UNIX, TimeFormat.UNIX_NANO):
        f = RowFormatter(DEFAULT_SYSTEM_TAGS, time_format, binary=True)
        for batch in (before, cs, before):  # the state left by a failed fast path stays right
            assert f.rows(batch) == encoded(reference(batch, DEFAULT_SYSTEM_TAGS, time_format))


def test_file_and_stdout_hold_the_reference_rows(tmp_path):
    containers = random_containers(random.Random(7), 3000)
    expected = reference(containers, DEFAULT_SYSTEM_TAGS, TimeFormat.UNIX)
    path = tmp_path / "out.csv"
    out = run_output(make_params(str(path)), [containers[:1000], containers[1000:]])
    header, _, rows = path.read_bytes().partition(b"\n")
    assert rows == expected.encode()
    assert out.written == sum(len(c.values) for c in containers)
    stdout = io.StringIO()
    run_output(make_params("-", stdout=stdout), [containers])
    assert stdout.getvalue().partition("\n")[2] == expected
