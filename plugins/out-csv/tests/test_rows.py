"""Row text: Go csv quoting, %f values, columns, extra_tags and metadata."""

import pytest
from conftest import K6_DEFAULT_HEADER, request_container
from horde.metrics import DEFAULT_SYSTEM_TAGS, SYSTEM_TAGS, ConnectedSamples, TagSet, parse_system_tags
from horde.metrics import go_float_fixed as go_float
from horde_out_csv.config import TimeFormat
from horde_out_csv.rows import RowFormatter, columns_for, go_quote


@pytest.mark.parametrize(
    "field,quoted",
    [
        ("", ""),
        ("plain", "plain"),
        ("a,b", '"a,b"'),
        ('say "hi"', '"say ""hi"""'),
        ("a\nb", '"a\nb"'),
        ("a\rb", '"a\rb"'),
        (" lead", '" lead"'),
        ("\tlead", '"\tlead"'),
        ("\u00a0nbsp", '"\u00a0nbsp"'),
        ("\u3000ideo", '"\u3000ideo"'),
        ("\x1cnot-go-space", "\x1cnot-go-space"),
        ("trail ", "trail "),
        ("\\.", '"\\."'),
        ("\\.x", "\\.x"),
        ("a&b=c", "a&b=c"),
    ],
)
def test_go_quote(field, quoted):
    assert go_quote(field) == quoted


@pytest.mark.parametrize(
    "value,text",
    [
        (1.0, "1.000000"),
        (0.330391, "0.330391"),
        (2316.0, "2316.000000"),
        (0.0078125, "0.007812"),
        (1e20, "100000000000000000000.000000"),
        (-0.0, "-0.000000"),
        (1e-7, "0.000000"),
        (float("inf"), "+Inf"),
        (float("-inf"), "-Inf"),
        (float("nan"), "NaN"),
    ],
)
def test_go_float(value, text):
    assert go_float(value) == text


def test_default_header_is_k6s():
    assert RowFormatter(DEFAULT_SYSTEM_TAGS).header() == K6_DEFAULT_HEADER + "\n"


def test_header_with_chosen_system_tags():
    assert (
        RowFormatter(parse_system_tags("status,url")).header()
        == "metric_name,timestamp,metric_value,status,url,extra_tags,metadata\n"
    )
    assert RowFormatter(parse_system_tags("")).header() == "metric_name,timestamp,metric_value,extra_tags,metadata\n"


def test_all_system_tags_add_ip_and_ocsp_but_not_vu_iter():
    cols, ignored = columns_for(SYSTEM_TAGS)
    assert "ip" in cols and "ocsp_status" in cols and "vu" not in cols and "iter" not in cols
    assert list(cols) == sorted(cols) and not ignored


def test_row_layout_extra_tags_and_metadata(builtin):
    f = RowFormatter(DEFAULT_SYSTEM_TAGS)
    tags = {"status": "200", "method": "GET", "url": "http://x/", "name": "http://x/", "testid": "t", "page": "home"}
    c = request_container(builtin, 1_795_303_223_537_028_460, tags, {"trace_id": "abc1"})
    lines = f.rows([c]).splitlines(keepends=True)
    assert len(lines) == 9 and all(line.endswith("\n") and not line.endswith("\r\n") for line in lines)
    assert lines[0] == (
        "http_reqs,1795303223,1.000000,,,,,,GET,http://x/,,,,200,,,http://x/,page=home&testid=t,trace_id=abc1\n"
    )
    assert [line.split(",")[0] for line in lines] == [m.name for m in builtin.http_request]


def test_disabled_system_tags_are_dropped_not_extra(builtin):
    """k6 ignores disabled system tags in extra_tags and metadata; other tags stay."""
    f = RowFormatter(parse_system_tags("status"))
    c = ConnectedSamples(
        (builtin.checks,),
        (1.0,),
        0,
        TagSet.of(status="200", ip="1.2.3.4", kind="a"),
        {"ip": "x", "status": "y", "trace": "t"},
    )
    assert f.rows([c]) == "checks,0,1.000000,200,kind=a,trace=t\n"


def test_vu_and_iter_go_to_metadata(builtin):
    f = RowFormatter(SYSTEM_TAGS)
    c = ConnectedSamples((builtin.iterations,), (1.0,), 0, TagSet.of(scenario="default"), {"iter": "0", "vu": "1"})
    row = f.rows([c])
    assert row.endswith(",iter=0&vu=1\n") and row.count(",") == 3 + len(f.columns) + 1


def test_fields_needing_quotes_are_quoted(builtin):
    f = RowFormatter(parse_system_tags("name,check"))
    c = ConnectedSamples(
        (builtin.checks,), (1.0,), 0, TagSet.of(check='is "ok", really', name=" x", k="a,b"), {"m": "line\nbreak"}
    )
    assert f.rows([c]) == 'checks,0,1.000000,"is ""ok"", really"," x","k=a,b","m=line\nbreak"\n'


def test_tag_runs_are_cached_per_tag_set(builtin):
    f = RowFormatter(DEFAULT_SYSTEM_TAGS)
    tags = TagSet.of(status="200")
    assert f.tag_run(tags) is f.tag_run(TagSet.of({"status": 200}))


def test_non_finite_values_in_a_container(builtin):
    f = RowFormatter(())
    c = ConnectedSamples((builtin.vus, builtin.vus_max), (float("inf"), 2.0), 0, TagSet.of())
    assert f.rows([c]) == "vus,0,+Inf,,\nvus_max,0,2.000000,,\n"


def test_time_format_is_used(builtin):
    f = RowFormatter((), TimeFormat.UNIX_NANO)
    c = ConnectedSamples((builtin.vus,), (1.0,), 1_795_303_223_537_028_460, TagSet.of())
    assert f.rows([c]) == "vus,1795303223537028460,1.000000,,\n"
