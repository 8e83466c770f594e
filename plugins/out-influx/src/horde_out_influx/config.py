"""Configuration of the ``influxdb`` output: k6's options, defaults and precedence, plus horde's delivery options.

Layers, lowest first: defaults < JSON config (``collectors.influxdb``,
camelCase keys) < environment (``HORDE_INFLUXDB_<UPPER_SNAKE>``) < the
``--out influxdb=URL`` argument (``http://user:pass@host:8086/db?option=value``).
The InfluxDB 2.x API is used when ``apiVersion`` is 2, or, when it is unset,
when a token, organization or bucket is configured; then the URL path names
the bucket instead of the database.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tempfile
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from horde.output import (
    OutputConfigError,
    parse_duration,  # k6's durations: 500ms, 1m30s, or a bare number of milliseconds
)

__all__ = ["Config", "FieldType", "load_config", "parse_duration", "parse_size", "parse_tags_as_fields"]

FIELD_TYPES = ("string", "int", "float", "bool")
"""Types a ``tagsAsFields`` entry may declare (``name:type``)."""

FieldType = str

_PRECISION_DIVISOR = {
    "ns": 1,
    "us": 1_000,
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
}
_PRECISION_ALIASES = {
    "": "ns",
    "n": "ns",
    "ns": "ns",
    "1ns": "ns",
    "u": "us",
    "us": "us",
    "µs": "us",
    "1us": "us",
    "1µs": "us",
    "ms": "ms",
    "1ms": "ms",
    "s": "s",
    "1s": "s",
    "m": "m",
    "1m": "m",
    "h": "h",
    "1h": "h",
}
_V1_WIRE_PRECISION = {"ns": "ns", "us": "u", "ms": "ms", "s": "s", "m": "m", "h": "h"}
"""InfluxDB 1.x reads ``us`` as nanoseconds (k6's quirk); ``u`` is its word for microseconds."""


@dataclasses.dataclass
class Config:
    """Every setting of one ``influxdb`` output (durations in seconds, sizes in bytes)."""

    addr: str = "http://localhost:8086"
    db: str = "k6"
    username: str = ""
    password: str = ""
    insecure: bool = False
    payload_size: int = 0
    """k6's UDP datagram size; accepted for compatibility, unused (horde speaks HTTP only)."""
    push_interval: float = 1.0
    concurrent_writes: int = 4
    tags_as_fields: dict[str, FieldType] = dataclasses.field(
        default_factory=lambda: {"vu": "string", "iter": "string", "url": "string"}
    )
    consistency: str = ""
    retention: str = ""
    precision: str = ""
    # InfluxDB 2.x
    api_version: int = 0
    """1 or 2; 0 chooses 2 when a token, organization or bucket is set."""
    token: str = ""
    organization: str = ""
    bucket: str = ""
    # delivery (horde only)
    max_batch_bytes: int = 5_000_000
    max_batch_points: int = 10_000
    memory_limit: int = 64 * 1024 * 1024
    """Bytes of unsent line protocol kept in memory before spilling to a file."""
    spool_dir: str = ""
    """Where spilled and undelivered points go; empty means the system temp dir."""
    stop_timeout: float = 30.0
    """How long ``stop`` waits for unsent points before writing them to a file."""
    timeout: float = 10.0
    """Seconds one HTTP request may take."""
    retry_interval: float = 0.5
    max_retry_interval: float = 10.0

    @property
    def v2(self) -> bool:
        """True when the InfluxDB 2.x write API is used."""
        return self.api_version == 2

    @property
    def unit(self) -> str:
        """The canonical precision: ns, us, ms, s, m or h."""
        return _PRECISION_ALIASES[self.precision]

    @property
    def divisor(self) -> int:
        """Nanoseconds per timestamp unit."""
        return _PRECISION_DIVISOR[self.unit]

    @property
    def wire_precision(self) -> str:
        """The ``precision`` query value the server understands for :attr:`unit`."""
        return self.unit if self.v2 else _V1_WIRE_PRECISION[self.unit]

    @property
    def target(self) -> str:
        """Where points go, for messages: ``addr/db`` or ``addr/bucket``."""
        return f"{self.addr}/{self.bucket if self.v2 else self.db}"

    @property
    def spool_path(self) -> str:
        """The directory for spilled and undelivered points."""
        return self.spool_dir or tempfile.gettempdir()


# (attribute, JSON/URL key, parser)
def _str(v: Any) -> str:
    if not isinstance(v, str):
        raise ValueError(f"expected a string, not {v!r}")
    return v


_GO_TRUE = {"1", "t", "T", "TRUE", "true", "True"}
_GO_FALSE = {"0", "f", "F", "FALSE", "false", "False"}


def parse_bool(v: Any) -> bool:
    """Go's ``strconv.ParseBool`` (JSON booleans too)."""
    if isinstance(v, bool):
        return v
    if isinstance(v, str) and v.strip() in _GO_TRUE:
        return True
    if isinstance(v, str) and v.strip() in _GO_FALSE:
        return False
    raise ValueError(f"must be true or false, not {v}")


def _int(v: Any) -> int:
    if isinstance(v, bool):
        raise ValueError(f"expected an integer, not {v!r}")
    if isinstance(v, int):
        return v
    if isinstance(v, float) and v.is_integer():
        return int(v)
    if isinstance(v, str) and re.fullmatch(r"\s*[+-]?\d+\s*", v):
        return int(v)
    raise ValueError(f"expected an integer, not {v!r}")


_SIZE_UNIT = {"": 1, "b": 1, "kb": 1000, "mb": 1000**2, "gb": 1000**3, "kib": 1024, "mib": 1024**2, "gib": 1024**3}


def parse_size(v: Any) -> int:
    """Bytes from an integer or ``512kB``, ``5MB``, ``64MiB``."""
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return _int(v)
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*", str(v))
    if not m or m.group(2).lower() not in _SIZE_UNIT:
        raise ValueError(f"invalid size {v!r} (use e.g. 5000000, 512kB, 5MB, 64MiB)")
    return int(float(m.group(1)) * _SIZE_UNIT[m.group(2).lower()])


def parse_tags_as_fields(entries: Any) -> dict[str, FieldType]:
    """``["vu:int", "url"]`` (or a comma list) → ``{"vu": "int", "url": "string"}`` with k6's errors."""
    if isinstance(entries, str):
        entries = entries.split(",")
    if not isinstance(entries, (list, tuple)):
        raise ValueError(f"expected a list of tag names, not {entries!r}")
    out: dict[str, FieldType] = {}
    for raw in entries:
        for entry in str(raw).split(","):
            entry = entry.strip()
            if not entry:
                continue
            name, _, ftype = entry.partition(":")
            name, ftype = name.strip(), (ftype.strip() or "string")
            if ftype not in FIELD_TYPES:
                raise ValueError(f"an invalid type ({ftype}) is specified for an InfluxDB field ({name})")
            if name in out:
                raise ValueError(f"a tag name ({name}) shows up more than once in InfluxDB field type configurations")
            out[name] = ftype
    return out


def _precision(v: Any) -> str:
    text = _str(v).strip()
    if text not in _PRECISION_ALIASES:
        raise ValueError(f"invalid precision {text!r} (use ns, us, ms, s, m or h)")
    return text


def _api_version(v: Any) -> int:
    text = str(v).strip().lower().lstrip("v")
    if text in ("", "0", "auto"):
        return 0
    if text in ("1", "2"):
        return int(text)
    raise ValueError(f"invalid API version {v!r} (use 1 or 2)")


_OPTIONS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    # JSON / URL key: (attribute, parser)
    "addr": ("addr", _str),
    "db": ("db", _str),
    "username": ("username", _str),
    "password": ("password", _str),
    "insecure": ("insecure", parse_bool),
    "payloadSize": ("payload_size", _int),
    "pushInterval": ("push_interval", parse_duration),
    "concurrentWrites": ("concurrent_writes", _int),
    "tagsAsFields": ("tags_as_fields", parse_tags_as_fields),
    "consistency": ("consistency", _str),
    "retention": ("retention", _str),
    "precision": ("precision", _precision),
    "apiVersion": ("api_version", _api_version),
    "token": ("token", _str),
    "organization": ("organization", _str),
    "bucket": ("bucket", _str),
    "maxBatchBytes": ("max_batch_bytes", parse_size),
    "maxBatchPoints": ("max_batch_points", _int),
    "memoryLimit": ("memory_limit", parse_size),
    "spoolDir": ("spool_dir", _str),
    "stopTimeout": ("stop_timeout", parse_duration),
    "timeout": ("timeout", parse_duration),
    "retryInterval": ("retry_interval", parse_duration),
    "maxRetryInterval": ("max_retry_interval", parse_duration),
}
_URL_ALIASES = {"payload_size": "payloadSize", "insecureSkipTLSVerify": "insecure", "org": "organization"}
_JSON_ALIASES = {"insecureSkipTLSVerify": "insecure"}
ENV_PREFIX = "HORDE_INFLUXDB_"


def env_name(key: str) -> str:
    """``pushInterval`` → ``HORDE_INFLUXDB_PUSH_INTERVAL``."""
    return ENV_PREFIX + re.sub(r"(?<!^)([A-Z])", r"_\1", key).upper()


def _parse(key: str, value: Any, where: str) -> tuple[str, Any]:
    attr, parser = _OPTIONS[key]
    try:
        return attr, parser(value)
    except ValueError as exc:
        msg = str(exc)
        if key == "insecure":
            msg = f"insecure must be true or false, not {value}"
        elif key == "tagsAsFields":
            pass
        else:
            msg = f"invalid {key} {value!r} in {where}: {msg}"
        raise OutputConfigError(msg) from None


def _from_json(data: Mapping[str, Any] | None) -> dict[str, Any]:
    if not data:
        return {}
    if not isinstance(data, Mapping):
        raise OutputConfigError(f"the influxdb JSON config must be an object, not {type(data).__name__}")
    out: dict[str, Any] = {}
    for key, value in data.items():
        key = _JSON_ALIASES.get(key, key)
        if key not in _OPTIONS:
            raise OutputConfigError(f"unknown key in the influxdb JSON config: {key} (known: {', '.join(_OPTIONS)})")
        if value is None:
            continue
        attr, parsed = _parse(key, value, "the JSON config")
        out[attr] = parsed
    return out


def _from_env(env: Mapping[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in _OPTIONS:
        name = env_name(key)
        if name in env:
            attr, parsed = _parse(key, env[name], name)
            out[attr] = parsed
    return out


def _split_addr(text: str, where: str) -> tuple[str, str, str, str, str]:
    """(addr, path, username, password, query) of an InfluxDB URL, with one-line errors."""
    raw = text.strip()
    try:
        parts = urlsplit(raw)
        port = parts.port
    except ValueError as exc:
        raise OutputConfigError(f"invalid InfluxDB URL {raw!r} in {where}: {exc}") from None
    if parts.scheme == "udp":
        raise OutputConfigError(
            f"invalid InfluxDB URL {raw!r} in {where}: UDP cannot confirm delivery, so horde's influxdb output "
            "speaks HTTP only; use http:// or https://"
        )
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise OutputConfigError(
            f"invalid InfluxDB URL {raw!r} in {where}: expected http(s)://host[:port][/db], e.g. http://localhost:8086/k6"
        )
    host = parts.hostname
    if ":" in host:
        host = f"[{host}]"
    addr = f"{parts.scheme}://{host}" + (f":{port}" if port is not None else "")
    return addr, parts.path, unquote(parts.username or ""), unquote(parts.password or ""), parts.query


def _from_url(arg: str) -> tuple[dict[str, Any], str | None]:
    """Settings from the ``--out`` argument and the path's last segment (db or bucket), if any."""
    if not arg.strip():
        return {}, None
    addr, path, user, password, query = _split_addr(arg, "--out influxdb=…")
    out: dict[str, Any] = {}
    prefix, _, last = path.strip("/").rpartition("/")
    out["addr"] = addr + (f"/{prefix}" if prefix else "")
    if user:
        out["username"] = user
    if password:
        out["password"] = password
    tags: list[str] = []
    for key, value in parse_qsl(query, keep_blank_values=True):
        key = _URL_ALIASES.get(key, key)
        if key not in _OPTIONS or key in ("addr", "username", "password", "db", "bucket"):
            raise OutputConfigError(f"unknown query parameter: {key}")
        if key == "tagsAsFields":
            tags.append(value)
            continue
        attr, parsed = _parse(key, value, "the URL")
        out[attr] = parsed
    if tags:
        out["tags_as_fields"] = _parse("tagsAsFields", tags, "the URL")[1]
    return out, (unquote(last) or None)


def load_config(
    json_config: Mapping[str, Any] | None, environment: Mapping[str, str] | None, argument: str = ""
) -> Config:
    """Merge the layers (defaults < JSON < env < URL) into a validated :class:`Config`."""
    values: dict[str, Any] = {}
    values.update(_from_json(json_config))
    values.update(_from_env(environment if environment is not None else os.environ))
    url_values, last_segment = _from_url(argument)
    values.update(url_values)
    if values.get("payload_size", 0) <= 0:
        values.pop("payload_size", None)  # k6: values <= 0 are ignored when merged
    cfg = Config(**values)
    cfg.addr = cfg.addr.rstrip("/")
    _split_addr(cfg.addr, "the addr option")
    if cfg.api_version == 0:
        cfg.api_version = 2 if (cfg.token or cfg.organization or cfg.bucket) else 1
    if last_segment is not None:
        if cfg.v2:
            cfg.bucket = last_segment
        else:
            cfg.db = last_segment
    if not cfg.db:
        cfg.db = "k6"
    _validate(cfg)
    return cfg


def _validate(cfg: Config) -> None:
    if cfg.concurrent_writes <= 0:
        raise OutputConfigError("influxdb's ConcurrentWrites must be a positive number")
    if cfg.push_interval <= 0:
        raise OutputConfigError(f"influxdb's pushInterval must be positive, not {cfg.push_interval}s")
    if cfg.v2 and not cfg.bucket:
        raise OutputConfigError(
            "the Bucket option is required (InfluxDB 2.x API: give it as the URL path, "
            f"{env_name('bucket')} or bucket in the JSON config)"
        )
    if cfg.v2 and cfg.unit in ("m", "h"):
        raise OutputConfigError(
            f"precision {cfg.precision!r} is not supported by the InfluxDB 2.x API (use ns, us, ms or s)"
        )
    for key in ("max_batch_bytes", "max_batch_points", "memory_limit"):
        if getattr(cfg, key) <= 0:
            raise OutputConfigError(f"influxdb's {key} must be positive, not {getattr(cfg, key)}")
    for key in ("stop_timeout", "timeout", "retry_interval", "max_retry_interval"):
        if getattr(cfg, key) < 0 or (key == "timeout" and cfg.timeout == 0):
            raise OutputConfigError(f"influxdb's {key} must be positive, not {getattr(cfg, key)}s")
