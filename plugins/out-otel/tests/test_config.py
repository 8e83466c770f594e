"""Configuration: k6's names and defaults, precedence, and one clear line for every mistake."""

from __future__ import annotations

import pytest
from horde.output import OutputConfigError, Params
from horde_out_otel import OpenTelemetryOutput, load_config


def test_k6_defaults():
    cfg = load_config(None, {})
    assert cfg.protocol == "grpc"
    assert cfg.grpc_exporter_endpoint == "localhost:4317" and not cfg.grpc_exporter_insecure
    assert cfg.http_exporter_endpoint == "localhost:4318" and cfg.http_exporter_url_path == "/v1/metrics"
    assert cfg.flush_interval == 1.0 and cfg.export_interval == 10.0
    assert cfg.service_name == "k6" and cfg.metric_prefix == ""
    assert cfg.target == "grpcs://localhost:4317"


@pytest.mark.parametrize(
    ("env", "protocol"),
    [
        ({"K6_OTEL_EXPORTER_TYPE": "http"}, "http/protobuf"),  # k6 v1.1.0's name
        ({"K6_OTEL_EXPORTER_PROTOCOL": "http/protobuf"}, "http/protobuf"),  # later k6's
        ({"K6_OTEL_EXPORTER_PROTOCOL": "grpc"}, "grpc"),
        ({"K6_OTEL_EXPORTER_TYPE": "http", "HORDE_OTEL_EXPORTER_PROTOCOL": "grpc"}, "grpc"),
    ],
)
def test_protocol_names(env, protocol):
    assert load_config(None, env).protocol == protocol


def test_temporality_preference():
    assert not load_config(None, {}).delta
    assert load_config(None, {"OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE": "Delta"}).delta
    assert load_config(None, {"HORDE_OTEL_TEMPORALITY_PREFERENCE": "lowmemory"}).delta
    env = {
        "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE": "delta",
        "HORDE_OTEL_TEMPORALITY_PREFERENCE": "cumulative",
    }
    assert not load_config(None, env).delta
    with pytest.raises(OutputConfigError, match="OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE"):
        load_config(None, {"OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE": "sometimes"})


def test_precedence_json_then_k6_env_then_horde_env():
    json_config = {"metricPrefix": "json_", "serviceName": "from-json", "exportInterval": 2000, "flushInterval": "2s"}
    env = {
        "OTEL_SERVICE_NAME": "otel",
        "K6_OTEL_METRIC_PREFIX": "k6_",
        "HORDE_OTEL_METRIC_PREFIX": "horde_",
        "K6_OTEL_EXPORT_INTERVAL": "500ms",
    }
    cfg = load_config(json_config, env)
    assert cfg.metric_prefix == "horde_"
    assert cfg.service_name == "otel"
    assert cfg.export_interval == 0.5 and cfg.flush_interval == 2.0
    assert load_config(None, {"OTEL_SERVICE_NAME": "a", "K6_OTEL_SERVICE_NAME": "b"}).service_name == "b"


def test_headers_tls_and_insecure():
    env = {
        "K6_OTEL_HEADERS": "Authorization=Bearer%20x,X-Tenant=a%3Db",
        "K6_OTEL_HTTP_EXPORTER_INSECURE": "True",
        "K6_OTEL_EXPORTER_TYPE": "http",
        "K6_OTEL_HTTP_EXPORTER_ENDPOINT": "collector:4318",
        "K6_OTEL_HTTP_EXPORTER_URL_PATH": "/otlp/v1/metrics",
    }
    cfg = load_config(None, env)
    assert cfg.headers == {"Authorization": "Bearer x", "X-Tenant": "a=b"}
    assert cfg.target == "http://collector:4318/otlp/v1/metrics"
    # the horde-only delivery options are not read from K6_OTEL_*
    assert load_config(None, {"K6_OTEL_STOP_TIMEOUT": "1s"}).stop_timeout == 30.0
    assert (
        load_config(None, {"HORDE_OTEL_STOP_TIMEOUT": "1s", "HORDE_OTEL_MEMORY_LIMIT": "1MiB"}).memory_limit == 1024**2
    )


@pytest.mark.parametrize(
    ("env", "json_config", "arg", "message"),
    [
        ({"K6_OTEL_EXPORTER_PROTOCOL": "zipkin"}, None, "", 'unsupported exporter protocol "zipkin"'),
        ({"K6_OTEL_GRPC_EXPORTER_ENDPOINT": "http://c:4317"}, None, "", "must only be host and port, no scheme"),
        ({"K6_OTEL_EXPORT_INTERVAL": "soon"}, None, "", "invalid K6_OTEL_EXPORT_INTERVAL"),
        ({"K6_OTEL_GRPC_EXPORTER_INSECURE": "yes"}, None, "", "invalid K6_OTEL_GRPC_EXPORTER_INSECURE"),
        ({"K6_OTEL_HEADERS": "novalue"}, None, "", "expected format key=value"),
        ({"K6_OTEL_SERVICE_NAME": ""}, None, "", "service name is required"),
        ({"K6_OTEL_TLS_CERTIFICATE": "/nonexistent/ca.pem"}, None, "", "no such file '/nonexistent/ca.pem'"),
        ({}, {"bogus": 1}, "", "unknown JSON config key 'bogus'"),
        ({}, None, "localhost:4317", "takes no argument"),
        ({"K6_OTEL_TLS_INSECURE_SKIP_VERIFY": "true"}, None, "", "not supported over gRPC"),
    ],
)
def test_mistakes_are_one_clear_line(env, json_config, arg, message):
    with pytest.raises(OutputConfigError) as exc:
        OpenTelemetryOutput(Params("opentelemetry", config_argument=arg, json_config=json_config, environment=env))
    text = str(exc.value)
    assert message in text and "\n" not in text
    assert text.startswith("opentelemetry:")


def test_description_names_protocol_and_endpoint():
    env = {"K6_OTEL_GRPC_EXPORTER_ENDPOINT": "otel:4317", "K6_OTEL_GRPC_EXPORTER_INSECURE": "true"}
    out = OpenTelemetryOutput(Params("experimental-opentelemetry", environment=env))
    assert out.description() == "opentelemetry (grpc, grpc://otel:4317)"
