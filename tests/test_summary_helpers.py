"""horde.summary_helpers (k6's jslib textSummary and jUnit) and the handle_summary data shape.

tests/fixtures/k6_handle_summary holds real k6 v1.1.0 runs of golden_hs.js with --summary-mode legacy:
its handleSummary logs its data (log*.json, k6's --log-format json) and returns nothing, so k6 prints
its jslib textSummary of that same data (legacy*.txt). text_summary must reproduce it byte for byte.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from horde.groups import GroupTree
from horde.metrics import BuiltinMetrics, MetricRegistry, MetricStore, MetricType, Sample, TagSet, ValueType
from horde.summary import summary_data
from horde.summary_helpers import jUnit, junit, text_summary, textSummary
from horde.thresholds import parse_thresholds

FIXTURES = Path(__file__).parent / "fixtures" / "k6_handle_summary"


def k6_data(log_name: str) -> dict:
    """The handleSummary data k6 logged (the console line of a --log-format json log)."""
    for line in (FIXTURES / log_name).read_text().splitlines():
        record = json.loads(line)
        if record.get("source") == "console":
            return json.loads(record["msg"])
    raise AssertionError(f"no console line in {log_name}")


def k6_legacy_text(stdout_name: str) -> str:
    """What k6's jslib textSummary returned: the stdout between the banner and the closing progress block."""
    stdout = (FIXTURES / stdout_name).read_text()
    start = stdout.index("gracefulStop: 30s)\n\n") + len("gracefulStop: 30s)\n\n") + 1  # the wrapper's "\n"
    end = stdout.index("\n\n\nrunning (")
    return stdout[start:end]


@pytest.mark.parametrize(("log", "stdout"), [("log.json", "legacy.txt"), ("log_stats.json", "legacy_stats.txt")])
def test_text_summary_is_k6_jslib_text_byte_for_byte(log, stdout):
    data = k6_data(log)
    assert text_summary(data, indent=" ", enable_colors=False) == k6_legacy_text(stdout)
    assert textSummary is text_summary


def test_text_summary_colors_keep_the_text():
    data = k6_data("log.json")
    colored = text_summary(data, indent=" ", enable_colors=True)
    assert "\x1b[" in colored
    import re

    assert re.sub(r"\x1b\[[0-9;]*m", "", colored) == text_summary(data, indent=" ", enable_colors=False)


def test_text_summary_indent_is_applied_to_every_line():
    data = k6_data("log.json")
    plain = text_summary(data, indent=" ", enable_colors=False).split("\n")
    wide = text_summary(data, indent="   ", enable_colors=False).split("\n")
    assert [l and "  " + l for l in plain if l.strip()] == [l for l in wide if l.strip()]


def test_junit_has_one_case_per_threshold_and_counts_failures():
    data = k6_data("log.json")
    xml = junit(data)
    assert xml.startswith('<?xml version="1.0"?>\n<testsuites ')
    root = ET.fromstring(xml.split("\n", 1)[1])
    suite = root.find("testsuite")
    assert suite is not None and suite.get("name") == "k6 thresholds"
    expected = {
        f"{name} - {source}": t["ok"]
        for name, m in data["metrics"].items()
        for source, t in m.get("thresholds", {}).items()
    }
    cases = {c.get("name"): c.find("failure") is None for c in suite.findall("testcase")}
    assert cases == expected
    failures = sum(1 for ok in expected.values() if not ok)
    assert root.get("tests") == suite.get("tests") == str(len(expected))
    assert root.get("failures") == suite.get("failures") == str(failures) and failures > 0
    assert 'name="my&quot;suite"' in jUnit(data, name='my"suite')


def _types(value):
    if isinstance(value, dict):
        return {k: _types(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_types(v) for v in value[:1]]
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    return type(value).__name__


def test_summary_data_has_k6_handle_summary_shape():
    """Metric entries, options, state and root_group as k6's data: same keys and value types."""
    k6 = k6_data("log.json")
    registry = MetricRegistry()
    builtin = BuiltinMetrics(registry)
    store = MetricStore()
    groups = GroupTree()
    counter = registry.get_or_new("my_counter", MetricType.COUNTER)
    trend = registry.get_or_new("my_trend", MetricType.TREND, ValueType.TIME)
    gauge = registry.get_or_new("my_gauge", MetricType.GAUGE)
    thresholds = parse_thresholds({"my_counter": ["count>1"], 'my_trend{kind:"b"}': ["avg<1"]}, registry)
    tags = TagSet.of({"scenario": "default"})
    b_tags = TagSet.of({"scenario": "default", "kind": "b"})
    store.add(
        [
            Sample(counter, 1, 5.0, tags),
            Sample(trend, 2, 70000.0, b_tags),
            Sample(gauge, 3, 3.0, tags),
            Sample(builtin.checks, 4, 1.0, tags),
        ]
    )
    groups.record_check("::front", "ok one", True)
    groups.record_check("::front::inner", "bad one", False)
    groups.record_check("", "half", True)
    for entry in thresholds.entries:
        for t in entry.thresholds:
            t.last_failed = t.source == "avg<1"
    data = summary_data(store, thresholds, groups, 2.0, setup_data={"a": 1})
    assert set(data) == set(k6) | {"setup_data"} == {"metrics", "setup_data", "root_group", "options", "state"}
    no_setup = summary_data(store, thresholds, groups, 2.0, has_setup_data=False)
    assert set(no_setup) == set(k6)  # k6's JSON of the data has no setup_data without setup()
    assert _types(data["options"]) == _types(k6["options"])
    assert _types(data["state"]) == _types(k6["state"])
    assert data["state"]["testRunDurationMs"] == 2000.0
    for name in ("my_counter", "my_trend", 'my_trend{kind:"b"}', "my_gauge", "checks"):
        mine, theirs = dict(data["metrics"][name]), dict(k6["metrics"][name])
        assert set(mine) - {"thresholds"} == set(theirs) - {"thresholds"}, name
        assert all(_types(t) == {"ok": "bool"} for t in mine.pop("thresholds", {}).values()), name
        theirs.pop("thresholds", None)
        assert _types(mine) == _types(theirs), name
    assert data["metrics"]['my_trend{kind:"b"}']["thresholds"] == {"avg<1": {"ok": False}}
    assert data["metrics"]["my_counter"]["values"] == {"count": 5, "rate": 2.5}
    assert data["setup_data"] == {"a": 1}
    # root_group: groups and checks are lists (not the export's maps), with k6's paths and ids
    k6_front = k6["root_group"]["groups"][0]
    front = data["root_group"]["groups"][0]
    assert _types(data["root_group"]) == _types(k6["root_group"])
    assert (front["name"], front["path"], front["id"]) == (k6_front["name"], k6_front["path"], k6_front["id"])
    assert front["checks"][0]["id"] == k6_front["checks"][0]["id"]
    assert front["groups"][0]["checks"][0] | {"passes": 0, "fails": 2} == k6_front["groups"][0]["checks"][0]
