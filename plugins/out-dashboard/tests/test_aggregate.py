"""The aggregation: per period and per run, overall and per scenario, checks and thresholds."""

from __future__ import annotations

import pytest
from horde.metrics import BuiltinMetrics, ConnectedSamples, MetricRegistry, MetricType, Sample, TagSet
from horde.output import Threshold
from horde_out_dashboard.aggregate import Aggregator, parse_threshold_key


@pytest.fixture
def builtin() -> BuiltinMetrics:
    return BuiltinMetrics(MetricRegistry())


def request(builtin: BuiltinMetrics, duration: float, failed: float, **tags: str) -> ConnectedSamples:
    """One HTTP request's 9 samples (http_reqs, http_req_duration, …, http_req_failed)."""
    names = [m.name for m in builtin.http_request]
    values = [0.0] * len(names)
    values[names.index("http_reqs")] = 1.0
    values[names.index("http_req_duration")] = duration
    values[names.index("http_req_failed")] = failed
    return ConnectedSamples(builtin.http_request, tuple(values), 1, TagSet.of(tags))


def test_periods_and_run_aggregates(builtin):
    agg = Aggregator()
    agg.add([request(builtin, d, 0.0, scenario="a", status="200") for d in (10.0, 20.0, 30.0, 40.0)])
    agg.add([request(builtin, 100.0, 1.0, scenario="b", status="500")])
    first = agg.close_period(1000, 2.0)
    m = first["metrics"]
    assert m["http_reqs"] == {"count": 5.0, "rate": 2.5}
    assert m["http_req_duration"]["count"] == 5 and m["http_req_duration"]["max"] == 100.0
    assert m["http_req_duration"]["med"] == 30.0
    assert m["http_req_failed"]["passes"] == 1 and m["http_req_failed"]["fails"] == 4
    assert first["scenarios"]["a"]["http_reqs"]["count"] == 4.0
    assert first["scenarios"]["b"]["http_req_duration"]["p(99)"] == 100.0
    assert first["period"] == 2.0

    agg.add([request(builtin, 50.0, 0.0, scenario="a")])
    second = agg.close_period(2000, 1.0)
    assert second["metrics"]["http_reqs"] == {"count": 1.0, "rate": 1.0}  # the period alone
    assert "b" not in second["scenarios"]
    run = agg.cumulative(2000, 3.0)
    assert run["metrics"]["http_reqs"] == {"count": 6.0, "rate": 2.0}  # the whole run
    assert run["metrics"]["http_req_duration"]["count"] == 6
    assert run["scenarios"]["a"]["http_reqs"]["count"] == 5.0
    assert run["types"]["http_req_duration"] == {"type": "trend", "contains": "time"}
    assert run["totals"]["http_req_duration"] == {"count": 6, "sum": 250.0}


def test_an_empty_period_is_empty():
    agg = Aggregator()
    snap = agg.close_period(1, 1.0)
    assert snap["metrics"] == {} and snap["scenarios"] == {}
    assert agg.cumulative(1, 1.0)["metrics"] == {}


def test_checks_by_name():
    registry = MetricRegistry()
    checks = registry.get_or_new("checks", MetricType.RATE)
    ok, bad = TagSet.of({"check": "ok", "scenario": "s"}), TagSet.of({"check": "bad"})
    agg = Aggregator()
    agg.add([Sample(checks, 1, 1.0, ok), Sample(checks, 1, 1.0, ok), Sample(checks, 1, 0.0, bad)])
    agg.close_period(1, 1.0)
    agg.add([Sample(checks, 2, 0.0, ok)])
    agg.close_period(2, 1.0)
    run = agg.cumulative(2, 2.0)
    assert run["checks"] == {"bad": {"passes": 0, "fails": 1}, "ok": {"passes": 2, "fails": 1}}
    assert run["metrics"]["checks"]["rate"] == 0.5


def test_thresholds_show_their_value_and_the_engines_verdict(builtin):
    p95, sub = Threshold("p(95)<25"), Threshold("max<1000")
    agg = Aggregator({"http_req_duration": [p95], "http_req_duration{status:500}": [sub]})
    agg.add([request(builtin, d, 0.0, status="200") for d in (10.0, 20.0)])
    agg.add([request(builtin, 2000.0, 1.0, status="500")])
    agg.close_period(1, 1.0)
    p95.last_failed = True  # what the engine's evaluation decided
    states = {s["source"]: s for s in agg.cumulative(1, 1.0)["thresholds"]}
    assert states["p(95)<25"]["ok"] is False and states["p(95)<25"]["value"] == pytest.approx(1802, rel=0.01)
    assert states["max<1000"]["key"] == "http_req_duration{status:500}"
    assert states["max<1000"]["value"] == 2000.0  # only the sub-metric's samples
    assert states["max<1000"]["ok"] is True


def test_threshold_on_a_metric_never_seen_has_no_value():
    agg = Aggregator({"my_trend": [Threshold("avg<1")]})
    assert agg.cumulative(1, 1.0)["thresholds"] == [{"key": "my_trend", "source": "avg<1", "ok": True, "value": None}]


def test_parse_threshold_key():
    assert parse_threshold_key("http_req_duration") == ("http_req_duration", {})
    assert parse_threshold_key("http_req_duration{status:200, method:'GET'}") == (
        "http_req_duration",
        {"status": "200", "method": "GET"},
    )
