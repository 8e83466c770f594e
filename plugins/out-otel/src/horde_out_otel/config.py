"""Configuration of the ``opentelemetry`` output: k6's options and names, plus horde's delivery options.

Layers, lowest first: defaults < JSON config (``collectors.opentelemetry``,
k6's camelCase keys) < ``OTEL_SERVICE_NAME`` and
``OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE`` < ``K6_OTEL_*`` <
``HORDE_OTEL_*``.
k6 v1.1.0 names the protocol ``K6_OTEL_EXPORTER_TYPE`` (``grpc`` or ``http``);
later k6 versions ``K6_OTEL_EXPORTER_PROTOCOL`` (``grpc`` or ``http/protobuf``):
both are read. Endpoints are ``host:port`` without a scheme, as in k6; TLS is
on unless the protocol's ``…_INSECURE`` is true.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import unquote

from horde.output import OutputConfigError, parse_duration

__all__ = ["Config", "load_config", "parse_headers"]

GRPC = "grpc"
HTTP = "http/protobuf"
_PROTOCOLS = {"grpc": GRPC, "http": HTTP, "http/protobuf": HTTP}


@dataclasses.dataclass
class Config:
    """Every setting of one ``opentelemetry`` output (durations in seconds, sizes in bytes)."""

    service_name: str = "k6"
    service_version: str = ""
    """Empty: horde's version (k6 puts its own)."""
    metric_prefix: str = ""
    flush_interval: float = 1.0
    export_interval: float = 10.0
    protocol: str = GRPC
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    tls_insecure_skip_verify: bool = False
    tls_certificate: str = ""
    tls_client_certificate: str = ""
    tls_client_key: str = ""
    http_exporter_insecure: bool = False
    http_exporter_endpoint: str = "localhost:4318"
    http_exporter_url_path: str = "/v1/metrics"
    username: str = ""
    password: str = ""
    grpc_exporter_insecure: bool = False
    grpc_exporter_endpoint: str = "localhost:4317"
    temporality: str = "cumulative"
    """``cumulative``, ``delta`` or ``lowmemory`` (for k6's instruments the same as ``delta``)."""
    # horde's delivery options
    timeout: float = 10.0
    max_export_bytes: int = 4_000_000
    """Exports larger are split before sending (gRPC receivers refuse messages over 4 MiB by default)."""
    memory_limit: int = 64 * 1024 * 1024
    spool_dir: str = ""
    stop_timeout: float = 30.0
    retry_interval: float = 0.5
    max_retry_interval: float = 10.0

    @property
    def is_grpc(self) -> bool:
        """True when exporting over gRPC (else HTTP/protobuf)."""
        return self.protocol == GRPC

    @property
    def delta(self) -> bool:
        """True when sums and histograms are exported with delta temporality."""
        return self.temporality != "cumulative"

    @property
    def target(self) -> str:
        """Where exports go, for log lines: ``grpc://host:port`` or the HTTP URL."""
        if self.is_grpc:
            scheme = "grpc" if self.grpc_exporter_insecure else "grpcs"
            return f"{scheme}://{self.grpc_exporter_endpoint}"
        scheme = "http" if self.http_exporter_insecure else "https"
        return f"{scheme}://{self.http_exporter_endpoint}{self.http_exporter_url_path}"

    @property
    def spool_path(self) -> str:
        """Directory for spill files."""
        return self.spool_dir or tempfile.gettempdir()


def parse_bool(v: Any) -> bool:
    """Go's ``strconv.ParseBool`` (k6's env rule), also JSON booleans."""
    if isinstance(v, bool):
        return v
    text = str(v).strip()
    if text in ("1", "t", "T", "TRUE", "true", "True"):
        return True
    if text in ("0", "f", "F", "FALSE", "false", "False"):
        return False
    raise ValueError(f"invalid boolean {v!r}")


def parse_size(v: Any) -> int:
    """Bytes from ``67108864``, ``64MiB``, ``5MB``, ``512KiB``."""
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return int(v)
    text = str(v).strip()
    units = {"kib": 1024, "mib": 1024**2, "gib": 1024**3, "kb": 1000, "mb": 1000**2, "gb": 1000**3, "b": 1}
    low = text.lower()
    for suffix, mult in units.items():
        if low.endswith(suffix) and low[: -len(suffix)].strip():
            return int(float(low[: -len(suffix)]) * mult)
    return int(text)


def parse_headers(raw: str) -> dict[str, str]:
    """k6's ``K6_OTEL_HEADERS``: ``k1=v1,k2=v2``, keys and values percent-decoded."""
    headers: dict[str, str] = {}
    for item in raw.split(","):
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"invalid header {item!r}, expected format key=value")
        headers[unquote(key).strip()] = unquote(value).strip()
    return headers


def _str(v: Any) -> str:
    if isinstance(v, (dict, list)):
        raise ValueError("expected a string")
    return str(v)


def _duration(v: Any) -> float:
    return parse_duration(v)


def _protocol(v: Any) -> str:
    text = str(v).strip().lower()
    if text not in _PROTOCOLS:
        raise ValueError(f'unsupported exporter protocol "{v}", only "grpc" and "http/protobuf" are supported')
    return _PROTOCOLS[text]


def _temporality(v: Any) -> str:
    text = str(v).strip().lower()
    if text not in ("cumulative", "delta", "lowmemory"):
        raise ValueError('expected "cumulative", "delta" or "lowmemory"')
    return text


def _headers(v: Any) -> dict[str, str]:
    if isinstance(v, Mapping):
        return {str(k): str(x) for k, x in v.items()}
    return parse_headers(str(v)) if str(v) else {}


# JSON key (k6's) -> (Config field, parser)
_KEYS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "serviceName": ("service_name", _str),
    "serviceVersion": ("service_version", _str),
    "metricPrefix": ("metric_prefix", _str),
    "flushInterval": ("flush_interval", _duration),
    "exportInterval": ("export_interval", _duration),
    "exporterType": ("protocol", _protocol),
    "exporterProtocol": ("protocol", _protocol),
    "headers": ("headers", _headers),
    "tlsInsecureSkipVerify": ("tls_insecure_skip_verify", parse_bool),
    "tlsCertificate": ("tls_certificate", _str),
    "tlsClientCertificate": ("tls_client_certificate", _str),
    "tlsClientKey": ("tls_client_key", _str),
    "httpExporterInsecure": ("http_exporter_insecure", parse_bool),
    "httpExporterEndpoint": ("http_exporter_endpoint", _str),
    "httpExporterURLPath": ("http_exporter_url_path", _str),
    "username": ("username", _str),
    "password": ("password", _str),
    "grpcExporterInsecure": ("grpc_exporter_insecure", parse_bool),
    "grpcExporterEndpoint": ("grpc_exporter_endpoint", _str),
    "temporalityPreference": ("temporality", _temporality),
    "timeout": ("timeout", _duration),
    "maxExportBytes": ("max_export_bytes", parse_size),
    "memoryLimit": ("memory_limit", parse_size),
    "spoolDir": ("spool_dir", _str),
    "stopTimeout": ("stop_timeout", _duration),
    "retryInterval": ("retry_interval", _duration),
    "maxRetryInterval": ("max_retry_interval", _duration),
}

# environment suffix (after K6_OTEL_ / HORDE_OTEL_) -> JSON key
_ENV: dict[str, str] = {
    "SERVICE_NAME": "serviceName",
    "SERVICE_VERSION": "serviceVersion",
    "METRIC_PREFIX": "metricPrefix",
    "FLUSH_INTERVAL": "flushInterval",
    "EXPORT_INTERVAL": "exportInterval",
    "EXPORTER_TYPE": "exporterType",
    "EXPORTER_PROTOCOL": "exporterProtocol",
    "HEADERS": "headers",
    "TLS_INSECURE_SKIP_VERIFY": "tlsInsecureSkipVerify",
    "TLS_CERTIFICATE": "tlsCertificate",
    "TLS_CLIENT_CERTIFICATE": "tlsClientCertificate",
    "TLS_CLIENT_KEY": "tlsClientKey",
    "HTTP_EXPORTER_INSECURE": "httpExporterInsecure",
    "HTTP_EXPORTER_ENDPOINT": "httpExporterEndpoint",
    "HTTP_EXPORTER_URL_PATH": "httpExporterURLPath",
    "HTTP_EXPORTER_USERNAME": "username",
    "HTTP_EXPORTER_PASSWORD": "password",
    "GRPC_EXPORTER_INSECURE": "grpcExporterInsecure",
    "GRPC_EXPORTER_ENDPOINT": "grpcExporterEndpoint",
    "TEMPORALITY_PREFERENCE": "temporalityPreference",
    "TIMEOUT": "timeout",
    "MAX_EXPORT_BYTES": "maxExportBytes",
    "MEMORY_LIMIT": "memoryLimit",
    "SPOOL_DIR": "spoolDir",
    "STOP_TIMEOUT": "stopTimeout",
    "RETRY_INTERVAL": "retryInterval",
    "MAX_RETRY_INTERVAL": "maxRetryInterval",
}
_HORDE_ONLY = {
    "TIMEOUT",
    "MAX_EXPORT_BYTES",
    "MEMORY_LIMIT",
    "SPOOL_DIR",
    "STOP_TIMEOUT",
    "RETRY_INTERVAL",
    "MAX_RETRY_INTERVAL",
}


def _apply(values: dict[str, Any], key: str, raw: Any, where: str) -> None:
    field, parse = _KEYS[key]
    try:
        values[field] = parse(raw)
    except (ValueError, TypeError) as exc:
        raise OutputConfigError(f"opentelemetry: invalid {where}: {raw!r} ({exc})") from None


def load_config(
    json_config: Mapping[str, Any] | None, environment: Mapping[str, str], config_argument: str = ""
) -> Config:
    """The output's :class:`Config` from its layers; raises :class:`OutputConfigError` naming the culprit."""
    if config_argument:
        raise OutputConfigError(
            f"opentelemetry: takes no argument (got {config_argument!r}); configure it with "
            "K6_OTEL_* or HORDE_OTEL_* environment variables (e.g. K6_OTEL_GRPC_EXPORTER_ENDPOINT=host:4317)"
        )
    values: dict[str, Any] = {}
    for key, raw in (json_config or {}).items():
        if key not in _KEYS:
            raise OutputConfigError(f"opentelemetry: unknown JSON config key {key!r}")
        _apply(values, key, raw, f"JSON config key {key!r}")
    if "OTEL_SERVICE_NAME" in environment:
        values["service_name"] = environment["OTEL_SERVICE_NAME"]
    # the OpenTelemetry SDK's own variable, which k6's exporters read
    preference = "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE"
    if preference in environment:
        _apply(values, "temporalityPreference", environment[preference], preference)
    for prefix in ("K6_OTEL_", "HORDE_OTEL_"):
        for suffix, key in _ENV.items():
            name = prefix + suffix
            if name in environment and (prefix == "HORDE_OTEL_" or suffix not in _HORDE_ONLY):
                _apply(values, key, environment[name], name)
    cfg = Config(**values)
    _validate(cfg)
    return cfg


def _validate(cfg: Config) -> None:
    if not cfg.service_name:
        raise OutputConfigError("opentelemetry: providing service name is required (K6_OTEL_SERVICE_NAME)")
    endpoint = cfg.grpc_exporter_endpoint if cfg.is_grpc else cfg.http_exporter_endpoint
    which = "K6_OTEL_GRPC_EXPORTER_ENDPOINT" if cfg.is_grpc else "K6_OTEL_HTTP_EXPORTER_ENDPOINT"
    if not endpoint:
        raise OutputConfigError(f"opentelemetry: an exporter endpoint is required ({which})")
    if "://" in endpoint:
        raise OutputConfigError(
            f"opentelemetry: {which} must only be host and port, no scheme (got {endpoint!r}); "
            f"TLS is off with {which.replace('ENDPOINT', 'INSECURE')}=true"
        )
    if cfg.flush_interval <= 0 or cfg.export_interval <= 0:
        raise OutputConfigError("opentelemetry: flushInterval and exportInterval must be positive")
    for what, path in (
        ("K6_OTEL_TLS_CERTIFICATE", cfg.tls_certificate),
        ("K6_OTEL_TLS_CLIENT_CERTIFICATE", cfg.tls_client_certificate),
        ("K6_OTEL_TLS_CLIENT_KEY", cfg.tls_client_key),
    ):
        if path and not os.path.isfile(path):
            raise OutputConfigError(f"opentelemetry: {what}: no such file {path!r}")
    if bool(cfg.tls_client_certificate) != bool(cfg.tls_client_key):
        raise OutputConfigError(
            "opentelemetry: a client certificate needs both K6_OTEL_TLS_CLIENT_CERTIFICATE and K6_OTEL_TLS_CLIENT_KEY"
        )
    if cfg.is_grpc and cfg.tls_insecure_skip_verify and not cfg.grpc_exporter_insecure:
        raise OutputConfigError(
            "opentelemetry: K6_OTEL_TLS_INSECURE_SKIP_VERIFY is not supported over gRPC by horde; give the "
            "server's CA with K6_OTEL_TLS_CERTIFICATE, or use K6_OTEL_GRPC_EXPORTER_INSECURE=true for plaintext"
        )
