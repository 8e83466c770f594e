"""Configuration of the ``experimental-prometheus-rw`` output: k6's options and names, plus horde's delivery options.

Layers, lowest first: defaults < JSON config (``collectors`` entry, k6's
camelCase keys: ``url``, ``pushInterval``, ``trendStats``...) < environment
(k6's ``K6_PROMETHEUS_RW_*``, then horde's ``HORDE_PROMETHEUS_RW_*``, which
wins) < the ``--out experimental-prometheus-rw=ARG`` argument: a URL, or k6's
``key=value,key=value`` form (``url=...,pushInterval=2s,headers.X-Org=1``).
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import tempfile
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from horde.output import DurationError, OutputConfigError, parse_duration

__all__ = ["Config", "TREND_STAT_RE", "load_config", "stat_suffix"]

DEFAULT_URL = "http://localhost:9090/api/v1/write"

TREND_STAT_RE = re.compile(r"^(avg|min|med|max|count|sum|p\((\d+(?:\.\d+)?)\))$")
"""The trend stats k6 accepts in ``trendStats``: avg, min, med, max, count, sum and p(N) with N in [0, 100]."""

_ENV_PREFIXES = ("K6_PROMETHEUS_RW_", "HORDE_PROMETHEUS_RW_")  # later wins


@dataclasses.dataclass
class Config:
    """Every setting of one ``experimental-prometheus-rw`` output (durations in seconds, sizes in bytes)."""

    url: str = DEFAULT_URL
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    insecure_skip_tls_verify: bool = False
    username: str | None = None
    password: str = ""
    client_certificate: str = ""
    client_certificate_key: str = ""
    bearer_token: str = ""
    push_interval: float = 5.0
    trend_as_native_histogram: bool = False
    trend_stats: list[str] = dataclasses.field(default_factory=lambda: ["p(99)"])
    stale_markers: bool = False
    # horde's own (HORDE_PROMETHEUS_RW_<NAME> or camelCase JSON keys)
    timeout: float = 5.0
    """Seconds one write request may take (k6's fixed 5 s)."""
    retry_interval: float = 0.5
    max_retry_interval: float = 10.0
    stop_timeout: float = 30.0
    """Seconds ``stop`` waits to deliver what is left before counting it as dropped."""
    memory_limit: int = 64 * 1024 * 1024
    """Bytes of encoded series kept in memory while the receiver is down; beyond, they spill to disk."""
    spool_dir: str = ""
    max_series_per_request: int = 5000

    @property
    def target(self) -> str:
        """The URL without credentials, for log lines."""
        parts = urlsplit(self.url)
        host = parts.hostname or ""
        if parts.port:
            host += f":{parts.port}"
        return f"{parts.scheme}://{host}{parts.path}"

    @property
    def spool_path(self) -> str:
        """Where payloads spill while the receiver is unreachable."""
        return self.spool_dir or os.path.join(tempfile.gettempdir(), "horde-prometheus-rw")


def stat_suffix(stat: str) -> str:
    """k6's series suffix for a trend stat: ``p(99)`` -> ``p99``, ``p(99.9)`` -> ``p999``, ``avg`` -> ``avg``."""
    if stat.startswith("p("):
        return "p" + stat[2:-1].replace(".", "")
    return stat


def _bool(value: Any, key: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    # Go's strconv.ParseBool
    if text in ("1", "t", "true"):
        return True
    if text in ("0", "f", "false"):
        return False
    raise OutputConfigError(f"experimental-prometheus-rw: {key} must be true or false, not {value!r}")


def _duration(value: Any, key: str) -> float:
    try:
        seconds = parse_duration(value)
    except (DurationError, ValueError, TypeError) as exc:
        raise OutputConfigError(f"experimental-prometheus-rw: {key}: {exc}") from None
    if not (math.isfinite(seconds) and seconds > 0):
        raise OutputConfigError(f"experimental-prometheus-rw: {key} must be a positive duration, not {value!r}")
    return seconds


def _int(value: Any, key: str) -> int:
    try:
        n = int(str(value).strip())
    except ValueError:
        raise OutputConfigError(f"experimental-prometheus-rw: {key} must be a whole number, not {value!r}") from None
    if n <= 0:
        raise OutputConfigError(f"experimental-prometheus-rw: {key} must be positive, not {value!r}")
    return n


def _stats(value: Any, key: str) -> list[str]:
    items = value if isinstance(value, list) else str(value).split(",")
    stats = [str(s).strip() for s in items if str(s).strip()]
    for s in stats:
        m = TREND_STAT_RE.match(s)
        if m is None or (m.group(2) is not None and not 0 <= float(m.group(2)) <= 100):
            raise OutputConfigError(
                f"experimental-prometheus-rw: {key}: unsupported trend stat {s!r} "
                "(use avg, min, med, max, count, sum or p(N) with N in [0, 100])"
            )
    if not stats:
        raise OutputConfigError(f"experimental-prometheus-rw: {key} names no trend stat")
    return stats


# option (camelCase, as in k6's JSON) -> (Config field, parser)
_OPTIONS: dict[str, tuple[str, Any]] = {
    "url": ("url", lambda v, k: str(v)),
    "insecureSkipTLSVerify": ("insecure_skip_tls_verify", _bool),
    "username": ("username", lambda v, k: str(v)),
    "password": ("password", lambda v, k: str(v)),
    "clientCertificate": ("client_certificate", lambda v, k: str(v)),
    "clientCertificateKey": ("client_certificate_key", lambda v, k: str(v)),
    "bearerToken": ("bearer_token", lambda v, k: str(v)),
    "pushInterval": ("push_interval", _duration),
    "trendAsNativeHistogram": ("trend_as_native_histogram", _bool),
    "trendStats": ("trend_stats", _stats),
    "staleMarkers": ("stale_markers", _bool),
    "timeout": ("timeout", _duration),
    "retryInterval": ("retry_interval", _duration),
    "maxRetryInterval": ("max_retry_interval", _duration),
    "stopTimeout": ("stop_timeout", _duration),
    "memoryLimit": ("memory_limit", _int),
    "spoolDir": ("spool_dir", lambda v, k: str(v)),
    "maxSeriesPerRequest": ("max_series_per_request", _int),
}

# k6's environment names (their suffix after the prefix) -> option
_ENV_OPTIONS = {
    "SERVER_URL": "url",
    "INSECURE_SKIP_TLS_VERIFY": "insecureSkipTLSVerify",
    "USERNAME": "username",
    "PASSWORD": "password",
    "CLIENT_CERTIFICATE": "clientCertificate",
    "CLIENT_CERTIFICATE_KEY": "clientCertificateKey",
    "BEARER_TOKEN": "bearerToken",
    "PUSH_INTERVAL": "pushInterval",
    "TREND_AS_NATIVE_HISTOGRAM": "trendAsNativeHistogram",
    "TREND_STATS": "trendStats",
    "STALE_MARKERS": "staleMarkers",
    "TIMEOUT": "timeout",
    "RETRY_INTERVAL": "retryInterval",
    "MAX_RETRY_INTERVAL": "maxRetryInterval",
    "STOP_TIMEOUT": "stopTimeout",
    "MEMORY_LIMIT": "memoryLimit",
    "SPOOL_DIR": "spoolDir",
    "MAX_SERIES_PER_REQUEST": "maxSeriesPerRequest",
}


def _apply(cfg: Config, key: str, value: Any, where: str) -> None:
    if key.startswith("headers."):
        cfg.headers[key[len("headers.") :]] = str(value)
        return
    if key == "headers":
        if not isinstance(value, Mapping):
            raise OutputConfigError(f"experimental-prometheus-rw: {where} headers must be an object of name: value")
        cfg.headers.update({str(k): str(v) for k, v in value.items()})
        return
    if key not in _OPTIONS:
        known = ", ".join(sorted(_OPTIONS))
        raise OutputConfigError(f"experimental-prometheus-rw: {where} option {key!r} is unknown (known: {known})")
    field, parse = _OPTIONS[key]
    setattr(cfg, field, parse(value, f"{where} {key}".strip()))


def _apply_env(cfg: Config, env: Mapping[str, str]) -> None:
    for prefix in _ENV_PREFIXES:
        headers = {k[len(prefix) + len("HEADERS_") :]: v for k, v in env.items() if k.startswith(prefix + "HEADERS_")}
        cfg.headers.update(headers)
        raw = env.get(prefix + "HTTP_HEADERS")
        if raw is not None:
            for pair in raw.split(","):
                name, sep, value = pair.partition(":")
                if not sep or ":" in value:
                    raise OutputConfigError(
                        f"experimental-prometheus-rw: {prefix}HTTP_HEADERS: the header {pair!r} "
                        "does not have the form <name>:<value>"
                    )
                cfg.headers[name] = value
        for suffix, key in _ENV_OPTIONS.items():
            if prefix + suffix in env:
                _apply(cfg, key, env[prefix + suffix], prefix + suffix)


def _apply_argument(cfg: Config, arg: str) -> None:
    if "://" in arg and not arg.startswith("url="):
        cfg.url = arg
        return
    for opt in arg.split(","):
        key, sep, value = opt.partition("=")
        if not sep:
            raise OutputConfigError(f"experimental-prometheus-rw: couldn't parse argument {opt!r} as option=value")
        _apply(cfg, key.strip(), value, "argument")


def load_config(json_config: Mapping[str, Any] | None, env: Mapping[str, str], arg: str | None) -> Config:
    """The output's configuration from its JSON config, the environment and the ``--out`` argument."""
    cfg = Config()
    for key, value in (json_config or {}).items():
        _apply(cfg, key, value, "JSON")
    _apply_env(cfg, env)
    if arg:
        _apply_argument(cfg, arg)
    parts = urlsplit(cfg.url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise OutputConfigError(f"experimental-prometheus-rw: url {cfg.url!r} is not an http(s) URL")
    if bool(cfg.client_certificate) != bool(cfg.client_certificate_key):
        raise OutputConfigError(
            "experimental-prometheus-rw: clientCertificate and clientCertificateKey must be given together"
        )
    cfg.max_retry_interval = max(cfg.max_retry_interval, cfg.retry_interval)
    return cfg
