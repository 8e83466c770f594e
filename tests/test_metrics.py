"""Metric names and types, the registry, k6's builtin metrics, samples and containers, system tags."""

from __future__ import annotations

import pytest
from horde.metrics import (
    BUILTIN_METRICS,
    DEFAULT_SYSTEM_TAGS,
    EMPTY_TAGS,
    BuiltinMetrics,
    ConnectedSamples,
    Metric,
    MetricError,
    MetricRegistry,
    MetricType,
    Sample,
    SampleContainer,
    TagSet,
    ValueType,
    check_metric_name,
    parse_system_tags,
)

K6_ERROR = (
    "Invalid metric name: '{}'. Metric names must only include up to 128 ASCII letters, numbers, "
    "or underscores and start with a letter or an underscore."
)


@pytest.mark.parametrize("name", ["ab", "_x", "http_req_duration", "A1", "a" * 129, "_" * 2, "my_trend2"])
def test_valid_metric_names(name):
    assert check_metric_name(name) == name
    assert Metric(name, MetricType.TREND).name == name


@pytest.mark.parametrize("name", ["a", "", "1abc", "a" * 130, "my-metric", "my metric", "métrique", "a.b", "ab\n"])
def test_invalid_metric_names_give_k6_message(name):
    with pytest.raises(MetricError) as info:
        Metric(name, MetricType.COUNTER)
    assert str(info.value) == K6_ERROR.format(name)


def test_metric_and_value_types_have_k6_numbers_and_names():
    assert [(int(t), str(t)) for t in MetricType] == [(0, "counter"), (1, "gauge"), (2, "trend"), (3, "rate")]
    assert [(int(t), str(t)) for t in ValueType] == [(0, "default"), (1, "time"), (2, "data")]
    assert MetricType.parse("trend") is MetricType.TREND
    assert ValueType.parse("data") is ValueType.DATA
    with pytest.raises(ValueError, match="^invalid metric type$"):
        MetricType.parse("histogram")
    with pytest.raises(ValueError):
        ValueType.parse("bytes")


def test_metric_defaults_and_repr():
    m = Metric("my_counter", MetricType.COUNTER)
    assert m.contains is ValueType.DEFAULT and m.submetrics == []
    assert repr(m) == "Metric('my_counter', counter, default)"


def test_registry_returns_the_first_metric_and_rejects_other_types():
    reg = MetricRegistry()
    m = reg.get_or_new("my_trend", MetricType.TREND, ValueType.TIME)
    assert reg.get_or_new("my_trend", MetricType.TREND) is m
    assert reg.get_or_new("my_trend", MetricType.TREND, ValueType.TIME) is m
    with pytest.raises(MetricError, match="^metric 'my_trend' already exists but with type trend, instead of counter$"):
        reg.get_or_new("my_trend", MetricType.COUNTER)
    with pytest.raises(MetricError, match="already exists but with a value type time, instead of data"):
        reg.get_or_new("my_trend", MetricType.TREND, ValueType.DATA)
    assert reg.get("my_trend") is m and reg.get("nope") is None and "my_trend" in reg
    assert reg.all() == [m]
    with pytest.raises(MetricError):
        reg.get_or_new("x", MetricType.COUNTER)


def test_submetrics_are_created_once_and_named_as_k6():
    m = Metric("http_req_duration", MetricType.TREND, ValueType.TIME)
    sub = m.add_submetric("status:200", {"status": "200"})
    assert m.add_submetric("status:200", {"status": "200"}) is sub
    assert sub.name == "http_req_duration{status:200}" and sub.parent is m
    assert sub.tags is TagSet.of(status="200")
    assert sub.to_json() == {"name": "http_req_duration{status:200}", "suffix": "status:200", "tags": {"status": "200"}}
    m.add_submetric("expected_response:true", {"expected_response": "true"})
    assert [s.suffix for s in m.submetrics] == ["status:200", "expected_response:true"]


K6_BUILTINS = {
    "vus": ("gauge", "default"),
    "vus_max": ("gauge", "default"),
    "iterations": ("counter", "default"),
    "iteration_duration": ("trend", "time"),
    "dropped_iterations": ("counter", "default"),
    "checks": ("rate", "default"),
    "group_duration": ("trend", "time"),
    "http_reqs": ("counter", "default"),
    "http_req_failed": ("rate", "default"),
    "http_req_duration": ("trend", "time"),
    "http_req_blocked": ("trend", "time"),
    "http_req_connecting": ("trend", "time"),
    "http_req_tls_handshaking": ("trend", "time"),
    "http_req_sending": ("trend", "time"),
    "http_req_waiting": ("trend", "time"),
    "http_req_receiving": ("trend", "time"),
    "ws_sessions": ("counter", "default"),
    "ws_msgs_sent": ("counter", "default"),
    "ws_msgs_received": ("counter", "default"),
    "ws_ping": ("trend", "time"),
    "ws_session_duration": ("trend", "time"),
    "ws_connecting": ("trend", "time"),
    "grpc_req_duration": ("trend", "time"),
    "data_sent": ("counter", "data"),
    "data_received": ("counter", "data"),
}


def test_the_25_builtin_metrics_have_k6_types():
    assert len(BUILTIN_METRICS) == 25
    reg = MetricRegistry()
    builtin = BuiltinMetrics(reg)
    got = {m.name: (str(m.type), str(m.contains)) for m in reg.all()}
    assert got == K6_BUILTINS
    for name in K6_BUILTINS:
        assert getattr(builtin, name) is reg.get(name)


def test_http_request_metrics_in_k6_order():
    b = BuiltinMetrics(MetricRegistry())
    assert [m.name for m in b.http_request] == [
        "http_reqs",
        "http_req_duration",
        "http_req_blocked",
        "http_req_connecting",
        "http_req_tls_handshaking",
        "http_req_sending",
        "http_req_waiting",
        "http_req_receiving",
        "http_req_failed",
    ]
    assert b.http_request_no_failed == b.http_request[:-1]
    assert [m.name for m in b.iteration_end] == ["data_sent", "data_received", "iteration_duration", "iterations"]


def test_builtin_metrics_share_a_registry_with_custom_ones():
    reg = MetricRegistry()
    custom = reg.get_or_new("http_reqs", MetricType.COUNTER)
    assert BuiltinMetrics(reg).http_reqs is custom
    reg2 = MetricRegistry()
    reg2.get_or_new("vus", MetricType.COUNTER)
    with pytest.raises(MetricError):
        BuiltinMetrics(reg2)


def test_lone_sample_is_a_container_of_itself():
    m = Metric("my_gauge", MetricType.GAUGE)
    tags = TagSet.of(a="1")
    s = Sample(m, 1_700_000_000_123_456_789, 42.0, tags, {"trace_id": "t"})
    assert isinstance(s, SampleContainer)
    assert s.metrics == (m,) and s.values == (42.0,) and len(s) == 1
    assert list(s) == [s] and list(s)[0] is s
    assert s.time == 1_700_000_000_123_456_789 and s.tags is tags and s.metadata == {"trace_id": "t"}
    assert s == Sample(m, s.time, 42.0, TagSet.of(a="1"), {"trace_id": "t"})
    assert s != Sample(m, s.time, 43.0, tags, {"trace_id": "t"})
    with pytest.raises(TypeError):
        hash(s)


def test_connected_samples_share_time_tags_and_metadata():
    b = BuiltinMetrics(MetricRegistry())
    tags = TagSet.of(method="GET", status="200")
    values = (1.0, 12.5, 0.1, 0.05, 0.0, 0.02, 12.0, 0.48, 0.0)
    c = ConnectedSamples(b.http_request, values, 5, tags, {"vu": "1"})
    assert isinstance(c, SampleContainer) and len(c) == 9
    samples = list(c)
    assert [s.metric for s in samples] == list(b.http_request)
    assert [s.value for s in samples] == list(values)
    assert all(s.time == 5 and s.tags is tags and s.metadata == {"vu": "1"} for s in samples)
    assert [(m.name, v) for m, v in zip(c.metrics, c.values)][1] == ("http_req_duration", 12.5)
    assert "http_reqs" in repr(c)


def test_system_tags():
    assert DEFAULT_SYSTEM_TAGS == {
        "proto",
        "subproto",
        "status",
        "method",
        "url",
        "name",
        "group",
        "check",
        "error",
        "error_code",
        "tls_version",
        "scenario",
        "service",
        "expected_response",
    }
    assert parse_system_tags(None) is DEFAULT_SYSTEM_TAGS
    assert parse_system_tags("status, method,bogus,vu") == {"status", "method", "vu"}
    assert parse_system_tags(["url"]) == {"url"}
    assert parse_system_tags("") == frozenset()
    assert EMPTY_TAGS.items() == ()
