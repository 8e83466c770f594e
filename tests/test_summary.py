"""The end-of-test summary and --summary-export, compared with real k6 v1.1.0 output.

Two real runs are used:
- tests/fixtures/k6 (copies of the research run in /work/shared/fixtures/k6): sample.js against a
  local HTTP server; its raw sample values are unknown, so its text is compared line by line for layout
  (names, dots, sections, markers) with the numbers masked.
- tests/fixtures/k6_golden: golden.js (no HTTP), whose samples are all known, so horde must reproduce
  k6's summary text byte for byte and its export key for key.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from horde.errors import UserError
from horde.groups import GroupTree
from horde.metrics import (
    BuiltinMetrics,
    ConnectedSamples,
    MetricRegistry,
    MetricStore,
    MetricType,
    Sample,
    TagSet,
    ValueType,
)
from horde.summary import (
    DEFAULT_TREND_STATS,
    dump_summary_export,
    metric_values,
    parse_trend_stats,
    render_summary,
    summary_export,
    validate_time_unit,
)
from horde.thresholds import parse_thresholds

HERE = Path(__file__).parent
GOLDEN = HERE / "fixtures" / "k6_golden"
SHARED = HERE / "fixtures" / "k6"  # copies of the real k6 v1.1.0 files in /work/shared/fixtures/k6

T0 = 1_800_000_000_000_000_000


class Run:
    """A registry, store, thresholds and group tree fed like the engine feeds them."""

    def __init__(self, thresholds: dict | None = None) -> None:
        self.registry = MetricRegistry()
        self.builtin = BuiltinMetrics(self.registry)
        self.store = MetricStore()
        self.groups = GroupTree()
        self.thresholds_def = thresholds or {}
        self.thresholds = None
        self.t = T0

    def metric(self, name: str, mtype: MetricType, contains: ValueType = ValueType.DEFAULT):
        return self.registry.get_or_new(name, mtype, contains)

    def parse(self):
        self.thresholds = parse_thresholds(self.thresholds_def, self.registry)
        return self.thresholds

    def add(self, metric, value: float, tags: dict | None = None) -> None:
        self.t += 1000
        base = {"scenario": "default"}
        base.update(tags or {})
        self.store.add([Sample(metric, self.t, float(value), TagSet.of(base))])

    def check(self, group: str, name: str, passed: bool) -> None:
        self.groups.record_check(group, name, passed)
        self.add(self.builtin.checks, 1.0 if passed else 0.0, {"group": group, "check": name})


# -- the golden run: golden.js replayed ---------------------------------------------------------------


def _golden_run(export_name: str = "export.json") -> tuple[Run, float, dict]:
    export = json.loads((GOLDEN / export_name).read_text())
    m = export["metrics"]
    group_export = json.loads((GOLDEN / "export.json").read_text())["metrics"]
    options_thresholds = {
        "my_trend": ["p(99.9)<0.0001", "max<100000", "med>1"],
        'my_trend{kind:"b"}': ["avg<1"],
        "plain_trend{kind:a}": [{"threshold": "avg<3", "abortOnFail": True, "delayAbortEval": "1h"}],
        "my_counter": ["rate>1000", "count>1"],
        "empty_rate": ["rate>0.5"],
        "empty_counter": ["count>1", "rate<1"],
        "my_gauge": ["value<0"],
        "checks": ["rate>0.99"],
    }
    run = Run(options_thresholds)
    counter = run.metric("my_counter", MetricType.COUNTER)
    time_counter = run.metric("my_time_counter", MetricType.COUNTER, ValueType.TIME)
    gauge = run.metric("my_gauge", MetricType.GAUGE)
    time_gauge = run.metric("my_time_gauge", MetricType.GAUGE, ValueType.TIME)
    rate = run.metric("my_rate", MetricType.RATE)
    run.metric("empty_rate", MetricType.RATE)
    run.metric("empty_counter", MetricType.COUNTER)
    trend = run.metric("my_trend", MetricType.TREND, ValueType.TIME)
    plain = run.metric("plain_trend", MetricType.TREND)
    zeta = run.metric("Zeta_trend", MetricType.TREND)
    run.parse()

    b = run.builtin
    # iteration_duration has 2 values: its min and max. group_duration has 4 (2 groups x 2 iterations):
    # solve them from min, med, max and p(90) (i = 2.7 on the sorted values).
    it = m["iteration_duration"]
    iteration_durations = (it["min"] if "min" in it else 2 * it["avg"] - it["max"], it["max"])
    gd = group_export["group_duration"]
    v3, v0 = gd["max"], gd["min"]
    v2 = (gd["p(90)"] - 0.7 * v3) / 0.3
    v1 = 2 * gd["med"] - v2
    group_durations = [[v1, v0], [v2, v3]]  # per iteration: inner first, then front

    for i in range(2):
        run.check("::front", "ok one", True)
        run.check("::front::inner", "bad one", False)
        run.add(b.group_duration, group_durations[i][0], {"group": "::front::inner"})
        run.add(b.group_duration, group_durations[i][1], {"group": "::front"})
        run.check("", "half", i == 0)
        run.add(counter, 5)
        run.add(time_counter, 123456.5)
        run.add(gauge, 7 + i)
        run.add(gauge, 3)
        run.add(time_gauge, 61234.5 * (i + 1))
        run.add(rate, 1 if i > 0 else 0)
        run.add(trend, 0.0005 if i == 0 else 70000, {"kind": "a" if i == 0 else "b"})
        run.add(plain, 2.5 if i == 0 else 123456.789, {"kind": "a" if i == 0 else "b"})
        run.add(zeta, 999.999 if i == 0 else 1000.001)
        run.store.add(
            [
                ConnectedSamples(
                    b.iteration_end,
                    (0.0, 0.0, iteration_durations[i], 1.0),
                    run.t + 5,
                    TagSet.of({"group": "", "scenario": "default"}),
                )
            ]
        )
    elapsed = m["iterations"]["count"] / m["iterations"]["rate"]
    return run, elapsed, export


@pytest.fixture(scope="module")
def golden():
    run, elapsed, export = _golden_run()
    result = run.thresholds.evaluate(run.store, elapsed, final=True)
    return run, elapsed, export, result


def _k6_summary_text(stdout: str) -> str:
    """The part of k6's stdout that its summary wrote: from the line before the first section title
    up to the blank lines before the progress line."""
    start = stdout.index("\n  █ ")
    end = stdout.index("\nrunning (")
    return stdout[start:end]


def test_golden_summary_text_is_byte_identical(golden):
    run, elapsed, _, _ = golden
    text = render_summary(run.store, run.thresholds, elapsed, run.groups)
    expected = _k6_summary_text((GOLDEN / "stdout.txt").read_text())
    # k6 writes "\n" + summary + "\n\n" and its progress bar then starts a line of its own.
    assert text.strip("\n") == expected.strip("\n")
    assert text.startswith("\n\n  █ THRESHOLDS \n\n")
    assert text.endswith("0 B/s\n\n\n\n")


def test_golden_summary_with_trend_stats_and_time_unit():
    run, elapsed, _ = _golden_run("export_stats.json")
    run.thresholds.evaluate(run.store, elapsed, final=True)
    stats = "avg,p(99),count,max,p(99.90)"
    mine = render_summary(run.store, run.thresholds, elapsed, run.groups, trend_stats=stats, time_unit="ms")
    theirs = _k6_summary_text((GOLDEN / "stdout_stats.txt").read_text())
    # k6 prints nothing for an aggregation that is not a summary trend stat ("med="); horde prints it.
    assert "    ✓ 'med>1' med=\n" in theirs
    theirs = theirs.replace("    ✓ 'med>1' med=\n", "    ✓ 'med>1' med=35000.00ms\n")
    assert mine.strip("\n") == theirs.strip("\n")


def test_golden_breached_message(golden):
    _, _, _, result = golden
    assert result.message == (
        "thresholds on metrics 'checks, empty_counter, my_gauge, my_trend, my_trend{kind:\"b\"}' have been crossed"
    )
    err = result.error()
    assert err.exit_code == 99 and err.run_status == 3  # final: Finished, result failed


def test_golden_export_matches_k6(golden):
    run, elapsed, export, _ = golden
    doc = summary_export(run.store, run.thresholds, run.groups, elapsed)
    assert doc["root_group"] == export["root_group"]
    assert set(doc["metrics"]) == set(export["metrics"])
    for name, values in export["metrics"].items():
        mine = doc["metrics"][name]
        assert set(mine) == set(values), name
        for key, v in values.items():
            if key == "thresholds":
                assert mine[key] == v, name
            elif name == "group_duration" and key not in ("min", "max", "avg"):
                assert mine[key] == pytest.approx(v, rel=0.01), (name, key)  # 4 values: sketch percentiles
            else:
                assert mine[key] == pytest.approx(v, rel=1e-9, abs=1e-12), (name, key)
    # the text form round-trips and is indented like k6's
    text = dump_summary_export(doc)
    assert json.loads(text) == json.loads(json.dumps(doc))
    assert text.startswith('{\n    "metrics": {\n')


def test_export_integral_values_are_ints(golden):
    run, elapsed, _, _ = golden
    doc = summary_export(run.store, run.thresholds, run.groups, elapsed)
    assert doc["metrics"]["my_counter"]["count"] == 10 and isinstance(doc["metrics"]["my_counter"]["count"], int)
    assert '"count": 10,' in dump_summary_export(doc)
    assert "setup_data" not in doc
    doc = summary_export(run.store, run.thresholds, run.groups, elapsed, setup_data={"a": 1}, has_setup_data=True)
    assert doc["setup_data"] == {"a": 1}


# -- the shared sample run (HTTP): layout compared with numbers masked -----------------------------------

_NUM = re.compile(r"\d+(?:\.\d+)?(?:µs|ms|s| kB| MB| B|%)?(?:/s)?")


def _mask(line: str) -> str:
    """The line with every value replaced by '#', and the padding after values collapsed."""
    head, sep, tail = line.partition(".:")
    if sep:
        # keep the dotted name exactly (its width does not depend on values)
        head = head + sep
    else:
        head, tail = "", line
    tail = _NUM.sub("#", tail)
    tail = re.sub(r" +", " ", tail).rstrip()
    return head + tail


def _sample_run() -> tuple[Run, float]:
    export = json.loads((SHARED / "summary-export.json").read_text())
    m = export["metrics"]
    run = Run(
        {
            "http_req_duration": ["p(95)<500", "avg<200"],
            "http_req_duration{status:200}": ["max<1000"],
            "checks": [{"threshold": "rate>0.9", "abortOnFail": True, "delayAbortEval": "10s"}],
            "http_req_failed": ["rate<0.6"],
            "my_counter": ["count>1"],
            "my_gauge": ["value>0"],
        }
    )
    counter = run.metric("my_counter", MetricType.COUNTER)
    gauge = run.metric("my_gauge", MetricType.GAUGE)
    rate = run.metric("my_rate", MetricType.RATE)
    trend = run.metric("my_trend", MetricType.TREND, ValueType.TIME)
    run.parse()
    b = run.builtin
    d = m["http_req_duration"]
    durations = [d["min"], d["max"], d["med"], d["avg"], 0.2, 0.1, 0.05, 0.09]
    for i in range(4):
        for j, (status, group, check) in enumerate((("200", "::front", "status is 200"), ("404", "", "status is 404"))):
            tags = TagSet.of(
                {
                    "status": status,
                    "group": group,
                    "scenario": "default",
                    "method": "GET",
                    "expected_response": "true" if status == "200" else "false",
                }
            )
            run.store.add(
                [
                    ConnectedSamples(
                        b.http_request,
                        (1, durations[2 * i + j], 0.1, 0.05, 0, 0.02, 0.09, 0.03, 0 if status == "200" else 1),
                        run.t,
                        tags,
                    )
                ]
            )
            run.check(group, check, True)
        run.add(counter, 1, {"kind": "a"})
        run.add(gauge, 42)
        run.add(rate, 1)
        run.add(trend, 12.5)
        run.add(b.group_duration, 0.5, {"group": "::front"})
        run.store.add(
            [ConnectedSamples(b.iteration_end, (151, 579, 101.5, 1), run.t, TagSet.of({"scenario": "default"}))]
        )
    return run, m["iterations"]["count"] / m["iterations"]["rate"]


def test_sample_run_layout_matches_k6():
    run, elapsed = _sample_run()
    run.thresholds.evaluate(run.store, elapsed, final=True)
    mine = render_summary(run.store, run.thresholds, elapsed, run.groups).strip("\n").split("\n")
    theirs = _k6_summary_text((SHARED / "sample_stdout.txt").read_text()).strip("\n").split("\n")
    assert [_mask(x) for x in mine] == [_mask(x) for x in theirs]


def test_sample_run_export_shape_matches_k6():
    run, elapsed = _sample_run()
    run.thresholds.evaluate(run.store, elapsed, final=True)
    doc = summary_export(run.store, run.thresholds, run.groups, elapsed)
    export = json.loads((SHARED / "summary-export.json").read_text())
    assert set(doc) == set(export)
    assert doc["root_group"] == export["root_group"]
    assert set(doc["metrics"]) == set(export["metrics"])
    for name, values in export["metrics"].items():
        assert set(doc["metrics"][name]) == set(values), name
        if "thresholds" in values:
            assert doc["metrics"][name]["thresholds"] == values["thresholds"]
    assert doc["metrics"]["http_reqs"]["count"] == 8
    assert doc["metrics"]["checks"] == {"passes": 8, "fails": 0, "value": 1, "thresholds": {"rate>0.9": False}}
    assert doc["metrics"]["http_req_failed"]["passes"] == 4  # 4 failed requests: passes counts the 1s


# -- the group tree ----------------------------------------------------------------------------------------


def test_group_tree_paths_ids_and_counts():
    tree = GroupTree()
    tree.group("::empty")
    tree.record_check("::front", "status is 200", True)
    tree.record_check("::front", "status is 200", False)
    tree.record_check("", "status is 404", True)
    tree.record_check("::front::inner", "status is 404", False)
    doc = tree.to_json()
    assert doc["path"] == "" and doc["id"] == "d41d8cd98f00b204e9800998ecf8427e" and doc["name"] == ""
    front = doc["groups"]["front"]
    assert front["id"] == "6972d1500632a99e8640138dbf1dc09e" and front["path"] == "::front"
    assert front["checks"]["status is 200"] == {
        "name": "status is 200",
        "path": "::front::status is 200",
        "id": "a03c1271c250664fa2fe67f850582a66",
        "passes": 1,
        "fails": 1,
    }
    assert doc["checks"]["status is 404"]["id"] == "a99dd72b327083f90d8bda9720114261"
    assert front["groups"]["inner"]["checks"]["status is 404"]["path"] == "::front::inner::status is 404"
    assert doc["groups"]["empty"] == {
        "name": "empty",
        "path": "::empty",
        "id": doc["groups"]["empty"]["id"],
        "groups": {},
        "checks": {},
    }
    # the compact summary lists checks by name over all groups, in first-seen order
    assert tree.ordered_checks() == [("status is 200", 1, 1), ("status is 404", 1, 1)]


# -- formatting ---------------------------------------------------------------------------------------------


def test_trend_stats_and_time_unit_validation():
    assert parse_trend_stats(None) == DEFAULT_TREND_STATS
    assert parse_trend_stats("avg,p(99.9),count") == ("avg", "p(99.9)", "count")
    for bad, message in (
        ("avg,foo", "invalid trend stat 'foo', unknown format"),
        ("p(101)", "invalid percentile trend stat value 'p(101)', provide a number between 0 and 100"),
        ("p(x)", "invalid percentile trend stat value 'p(x)', provide a number between 0 and 100"),
    ):
        with pytest.raises(UserError) as info:
            parse_trend_stats(bad)
        assert str(info.value) == message and info.value.exit_code == 104  # messages: k6 v1.1.0
    assert validate_time_unit("us") == "us" and validate_time_unit("") is None
    with pytest.raises(UserError, match=r"^invalid summary time unit 'xs', use 's', 'ms' or 'us'$"):
        validate_time_unit("xs")


def test_metric_values_per_sink_type():
    run = Run()
    c = run.metric("c1", MetricType.COUNTER)
    g = run.metric("g1", MetricType.GAUGE)
    r = run.metric("r1", MetricType.RATE)
    t = run.metric("t1", MetricType.TREND)
    for v in (1, 2, 3):
        run.add(c, v)
        run.add(g, v)
        run.add(t, v)
    run.add(r, 0)
    run.add(r, 5)
    s = run.store.sink
    assert metric_values(s(c), 2.0) == {"count": 6, "rate": 3.0}
    assert metric_values(s(c), 0.0)["rate"] == 0.0
    assert metric_values(s(g), 1.0) == {"value": 3, "min": 1, "max": 3}
    assert metric_values(s(r), 1.0) == {"rate": 0.5, "passes": 1, "fails": 1}
    assert metric_values(s(t), 1.0, ("avg", "min", "max", "count", "p(0)", "p(100)")) == {
        "avg": 2,
        "min": 1,
        "max": 3,
        "count": 3,
        "p(0)": 1,
        "p(100)": 3,
    }


def _lines(text: str) -> list[str]:
    return text.strip("\n").split("\n")


def test_no_thresholds_no_checks_and_sections():
    run = Run()
    b = run.builtin
    run.parse()
    run.store.add(
        [
            ConnectedSamples(
                b.http_request,
                (1, 2.0, 0.5, 0.1, 0, 0.1, 1.8, 0.1, 0),
                run.t,
                TagSet.of({"expected_response": "true", "scenario": "default"}),
            )
        ]
    )
    run.add(b.ws_sessions, 1)
    run.add(b.grpc_req_duration, 3.0)
    run.add(run.metric("browser_web_vital_lcp", MetricType.TREND, ValueType.TIME), 1.0)
    run.add(run.metric("browser_data_sent", MetricType.COUNTER, ValueType.DATA), 12345678)
    run.add(run.metric("vus_custom", MetricType.GAUGE), 1)  # k6 files metrics by name prefix
    run.add(b.vus, 2)
    text = render_summary(run.store, None, 2.0)
    lines = _lines(text)
    assert "THRESHOLDS" not in text and "checks_total" not in text
    assert lines[0] == "  █ TOTAL RESULTS "
    titles = [line.strip() for line in lines if line.strip().isupper()]
    assert titles == ["█ TOTAL RESULTS", "HTTP", "EXECUTION", "BROWSER", "WEB_VITALS", "GRPC", "WEBSOCKET"]
    # compact mode leaves out the request phases and group_duration
    for hidden in ("http_req_blocked", "http_req_waiting", "http_req_tls_handshaking"):
        assert hidden not in text
    names = [line.split(".")[0].strip() for line in lines if ".:" in line]
    assert names == [
        "http_req_duration",
        "{ expected_response:true }",
        "http_req_failed",
        "http_reqs",
        "vus",
        "vus_custom",
        "browser_data_sent",
        "browser_web_vital_lcp",
        "grpc_req_duration",
        "ws_sessions",
    ]
    assert re.search(r"browser_data_sent\.+: 12 MB +6\.2 MB/s\n", text)
    # ...which the export keeps
    doc = summary_export(run.store, None, None, 2.0)
    assert "http_req_blocked" in doc["metrics"] and "http_req_duration{expected_response:true}" in doc["metrics"]
    assert doc["root_group"]["groups"] == {} and doc["root_group"]["checks"] == {}


def test_colors_keep_the_layout():
    run, elapsed = _sample_run()
    run.thresholds.evaluate(run.store, elapsed, final=True)
    plain = render_summary(run.store, run.thresholds, elapsed, run.groups)
    colored = render_summary(run.store, run.thresholds, elapsed, run.groups, colors=True)
    assert "\x1b[32m✓\x1b[0m" in colored and "\x1b[1mTOTAL RESULTS\x1b[0m" in colored
    assert re.sub(r"\x1b\[[0-9;]*m", "", colored) == plain


def test_failed_thresholds_and_checks_marks():
    run = Run({"my_rate": ["rate>0.5"], "my_rate{k:v}": ["rate<0.1"]})
    r = run.metric("my_rate", MetricType.RATE)
    run.parse()
    run.add(r, 0, {"k": "v"})
    run.add(r, 1, {"k": "v"})
    run.add(r, 0)
    for passed in (True, True, False):
        run.check("::g", "c1", passed)
    result = run.thresholds.evaluate(run.store, 1.0, final=True)
    assert result.breached == ["my_rate", "my_rate{k:v}"]
    lines = _lines(render_summary(run.store, run.thresholds, 1.0, run.groups))
    assert lines[2:8] == [
        "    my_rate",
        "    ✗ 'rate>0.5' rate=33.33%",
        "",
        "      {k:v}",
        "      ✗ 'rate<0.1' rate=50.00%",
        "",
    ]
    assert "    ✗ c1" in lines and "      ↳  66% — ✓ 2 / ✗ 1" in lines
    assert "    checks_succeeded...................: 66.66% 2 out of 3" in lines
    assert "    checks_failed......................: 33.33% 1 out of 3" in lines


def test_thresholded_metrics_without_samples_are_shown():
    """k6 marks metrics with thresholds (and the parent of a sub-metric) observed, so they are shown."""
    run = Run({"my_trend{a:b}": ["p(95)<5"], "my_counter": ["count>1"]})
    run.metric("my_trend", MetricType.TREND, ValueType.TIME)
    run.metric("my_counter", MetricType.COUNTER)
    run.metric("unused", MetricType.COUNTER)
    run.parse()
    run.thresholds.evaluate(run.store, 0.0, final=True)
    text = render_summary(run.store, run.thresholds, 0.0)
    assert "    my_trend{a:b}\n    ✓ 'p(95)<5' p(95)=0s\n" in text
    assert "    my_counter\n    ✗ 'count>1' count=0\n" in text
    names = [line.split(".")[0].strip() for line in _lines(text) if ".:" in line]
    assert names == ["my_counter", "my_trend", "{ a:b }"]
    doc = summary_export(run.store, run.thresholds, None, 0.0)
    assert doc["metrics"]["my_counter"] == {"count": 0, "rate": 0, "thresholds": {"count>1": True}}
    assert doc["metrics"]["my_trend{a:b}"]["thresholds"] == {"p(95)<5": False}
    assert "unused" not in doc["metrics"]


def test_metric_order_follows_k6_locale_compare():
    """The order k6 v1.1.0 printed for these counter names (JavaScript localeCompare)."""
    k6_order = [
        "_x",
        "a__b",
        "a_1",
        "a_b",
        "A_c",
        "a1",
        "a10",
        "a9",
        "aA",
        "ab",
        "aB",
        "Ab",
        "AB",
        "ab_",
        "ab1",
        "abc",
        "z0",
        "Z1",
    ]
    run = Run()
    shuffled = sorted(k6_order, key=lambda n: (len(n), n[::-1]))
    for name in shuffled:
        run.add(run.metric(name, MetricType.COUNTER), 1)
    lines = _lines(render_summary(run.store, None, 1.0))
    names = [line.split(".")[0].strip() for line in lines if ".:" in line]
    assert names[: len(k6_order)] == k6_order
