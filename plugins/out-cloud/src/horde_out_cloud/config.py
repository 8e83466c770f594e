"""Configuration of the cloud output: defaults < JSON config < k6's ``K6_CLOUD_*`` env (host, token, name,
push ref id, stop on error) < ``HORDE_CLOUD_*`` env < ``--out cloud=HOST``."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any

from horde.output import OutputConfigError
from horde.output import parse_duration as horde_parse_duration

__all__ = ["CloudConfig", "parse_duration", "K6_ENV"]

K6_ENV = {
    "K6_CLOUD_HOST": "host",
    "K6_CLOUD_TOKEN": "token",
    "K6_CLOUD_NAME": "name",
    "K6_CLOUD_PUSH_REF_ID": "push_ref_id",
    "K6_CLOUD_STOP_ON_ERROR": "stop_on_error",
}
"""k6's variables honoured too (what k6-operator gives its runners), below the ``HORDE_CLOUD_*`` ones."""

_JSON_ALIASES = {"pushRefID": "push_ref_id"}


def parse_duration(text: str | float | int) -> float:
    """Seconds from a duration (``500ms``, ``1s``, ``1m30s``, ``2h``: :func:`horde.output.parse_duration`)
    or a bare number of seconds (``HORDE_CLOUD_PUSH_INTERVAL=3``)."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        return float(text)
    t = str(text).strip()
    if re.fullmatch(r"[0-9]+(\.[0-9]+)?", t):
        return float(t)
    return horde_parse_duration(t)


@dataclasses.dataclass
class CloudConfig:
    """Settings; env names are ``HORDE_CLOUD_`` + the field name upper-cased."""

    host: str = "http://127.0.0.1:8080"
    token: str = ""
    name: str = ""
    aggregation_period: float = 1.0
    """Seconds per time bucket (a whole number)."""
    aggregation_wait_period: float = 2.0
    """How long a bucket stays open for late samples."""
    push_interval: float = 1.0
    max_time_series_in_batch: int = 1000
    timeout: float = 10.0
    """Per HTTP request."""
    retry_max_backoff: float = 30.0
    stop_timeout: float = 60.0
    """How long ``stop`` keeps trying to deliver what is left before giving up."""
    max_memory: int = 64 << 20
    """Bytes of unsent batches kept in memory; more are spilled to disk."""
    spool_dir: str = ""
    error_log_interval: float = 10.0
    """Least seconds between two 'connection errors stacking up' warnings."""
    push_ref_id: str = ""
    """Push into this existing run (created by k6-operator or ``horde-insights run create``) instead of creating one."""
    stop_on_error: bool = True
    """Stop the whole test when the service says the run was stopped (k6's ``K6_CLOUD_STOP_ON_ERROR``)."""
    stop_poll_interval: float = 2.0
    """Seconds between two asks whether the run was stopped (``GET /v1/test-progress``); 0 turns it off."""

    _DURATIONS = (
        "aggregation_period",
        "aggregation_wait_period",
        "push_interval",
        "timeout",
        "retry_max_backoff",
        "stop_timeout",
        "error_log_interval",
        "stop_poll_interval",
    )
    _INTS = ("max_time_series_in_batch", "max_memory")
    _BOOLS = ("stop_on_error",)

    @classmethod
    def load(cls, json_config: Mapping[str, Any] | None, env: Mapping[str, str], argument: str) -> CloudConfig:
        cfg = cls()
        fields = {f.name for f in dataclasses.fields(cls)}
        sources: list[tuple[str, Mapping[str, Any]]] = []
        if json_config:
            sources.append(("the JSON config", {_JSON_ALIASES.get(k) or _snake(k): v for k, v in json_config.items()}))
        sources.append(("k6's environment", {key: env[name] for name, key in K6_ENV.items() if name in env}))
        sources.append(
            (
                "the environment",
                {k[len("HORDE_CLOUD_") :].lower(): v for k, v in env.items() if k.startswith("HORDE_CLOUD_")},
            )
        )
        for where, values in sources:
            for key, value in values.items():
                if key not in fields:
                    continue
                try:
                    if key in cls._DURATIONS:
                        value = parse_duration(value)
                    elif key in cls._INTS:
                        value = int(value)
                    elif key in cls._BOOLS:
                        value = _bool(value)
                    else:
                        value = str(value)
                except (TypeError, ValueError):
                    env_name = "HORDE_CLOUD_" + key.upper()
                    if where == "k6's environment":
                        env_name = next(name for name, k in K6_ENV.items() if k == key)
                    raise OutputConfigError(f"cloud output: invalid {key} {value!r} in {where} ({env_name})") from None
                setattr(cfg, key, value)
        if argument.strip():
            cfg.host = argument.strip()
        cfg.validate()
        return cfg

    def validate(self) -> None:
        if not self.token:
            raise OutputConfigError(
                "cloud output: no token; set HORDE_CLOUD_TOKEN (create one with "
                "`horde-insights token create --project NAME`)"
            )
        if self.aggregation_period < 1 or self.aggregation_period != int(self.aggregation_period):
            raise OutputConfigError(
                f"cloud output: HORDE_CLOUD_AGGREGATION_PERIOD must be a whole number of "
                f"seconds ≥ 1s, got {self.aggregation_period:g}s"
            )
        if self.stop_poll_interval < 0:
            raise OutputConfigError("cloud output: HORDE_CLOUD_STOP_POLL_INTERVAL must not be negative")
        for name in ("push_interval", "timeout", "stop_timeout"):
            if getattr(self, name) <= 0:
                raise OutputConfigError(f"cloud output: HORDE_CLOUD_{name.upper()} must be positive")
        if self.max_time_series_in_batch < 1:
            raise OutputConfigError("cloud output: HORDE_CLOUD_MAX_TIME_SERIES_IN_BATCH must be ≥ 1")


def _bool(value: object) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(text)


def _snake(key: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", key).lower()
