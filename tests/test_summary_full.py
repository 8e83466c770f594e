"""GroupedSummary (the data of --summary-mode full) routes samples as k6's summary output does,
and render_summary(grouped=...) lays out its GROUP and SCENARIO sections as k6 v1.1.0's full mode."""

from __future__ import annotations

from horde.groups import GroupTree
from horde.metrics import BuiltinMetrics, MetricRegistry, MetricStore, MetricType, Sample, TagSet
from horde.summary import render_summary
from horde.summary_full import GroupedSummary


def _setup():
    registry = MetricRegistry()
    builtin = BuiltinMetrics(registry)
    custom = registry.get_or_new("my_counter", MetricType.COUNTER)
    return builtin, custom


def test_samples_go_to_their_own_group_and_named_scenario_only():
    builtin, custom = _setup()
    grouped = GroupedSummary()
    tags = [
        {"scenario": "default", "group": ""},  # root: TOTAL RESULTS only
        {"scenario": "default", "group": "::a::b"},  # only b (not a)
        {"scenario": "api", "group": ""},  # the api scenario
        {"scenario": "api", "group": "::c"},  # api, and c under api
        {"scenario": "default", "group": "::setup"},  # left out
        {"scenario": "api", "group": "::teardown"},  # api only
    ]
    grouped.add([Sample(custom, i, 1.0, TagSet.of(t)) for i, t in enumerate(tags)])
    root = grouped.root
    assert list(root.groups) == ["a"] and list(root.groups["a"].groups) == ["b"]
    assert root.metrics == {} and root.groups["a"].metrics == {}
    assert root.groups["a"].groups["b"].metrics[custom].count == 1
    api = grouped.scenarios["api"]
    assert api.metrics[custom].count == 3
    assert api.groups["c"].metrics[custom].count == 1
    assert "default" not in grouped.scenarios


def test_checks_are_counted_per_group_in_first_seen_order():
    builtin, _ = _setup()
    grouped = GroupedSummary()
    g = {"scenario": "default", "group": "::g"}
    grouped.add(
        [
            Sample(builtin.checks, 1, 1.0, TagSet.of({**g, "check": "second"})),
            Sample(builtin.checks, 2, 0.0, TagSet.of({**g, "check": "first"})),
            Sample(builtin.checks, 3, 1.0, TagSet.of({**g, "check": "first"})),
        ]
    )
    assert grouped.root.groups["g"].checks == {"second": [1, 0], "first": [1, 1]}


def test_full_mode_text_sections():
    builtin, custom = _setup()
    store = MetricStore()
    groups = GroupTree()
    grouped = GroupedSummary()
    front = {"scenario": "default", "group": "::front"}
    batch = [
        Sample(builtin.checks, 1, 1.0, TagSet.of({**front, "check": "ok"})),
        Sample(builtin.http_req_waiting, 2, 3.0, TagSet.of(front)),
        Sample(custom, 3, 1.0, TagSet.of({"scenario": "other", "group": ""})),
    ]
    store.add(batch)  # what the pump does in full mode
    grouped.add(batch)
    groups.record_check("::front", "ok", True)
    compact = render_summary(store, None, 1.0, groups)
    full = render_summary(store, None, 1.0, groups, grouped=grouped)
    assert "http_req_waiting" not in compact and "GROUP" not in compact
    assert full.startswith(compact.rstrip("\n").split("  █ TOTAL RESULTS")[0])
    lines = full.split("\n")
    assert "  █ GROUP: front " in lines and "  █ SCENARIO: other " in lines
    at = lines.index("  █ GROUP: front ")
    assert lines[at + 2].startswith("    checks_total....")
    assert "    ✓ ok" in lines[at:]
    assert any(line.startswith("    http_req_waiting....") for line in lines[at:])
    other = lines.index("  █ SCENARIO: other ")
    assert lines[other + 2] == "    CUSTOM"
