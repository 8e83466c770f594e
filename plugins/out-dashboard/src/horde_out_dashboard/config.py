"""The web-dashboard output's configuration, with k6's names.

Precedence: defaults < JSON config (``collectors.web-dashboard``: ``host``,
``port``, ``period``, ``open``, ``export``) < ``K6_WEB_DASHBOARD_*`` <
``HORDE_WEB_DASHBOARD_*`` (HORDE wins) < the ``--out web-dashboard=ARG``
argument, a query string as k6's: ``port=5665&period=2s&open&export=report.html``.
A port of -1 (or below) disables the HTTP server; the report is still exported.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from horde.output import DurationError, OutputConfigError, format_duration, parse_duration_ns

__all__ = ["DashboardConfig", "consolidate", "parse_arg", "from_env", "from_json", "SETTINGS"]

SETTINGS = ("host", "port", "period", "open", "export")
"""The settings, by their k6 names (``K6_WEB_DASHBOARD_<NAME>``, ``HORDE_WEB_DASHBOARD_<NAME>``)."""

_ENV_PREFIXES = ("K6_WEB_DASHBOARD_", "HORDE_WEB_DASHBOARD_")  # later wins
_ARG_ALIASES = {"report": "export"}  # xk6-dashboard's name before k6 embedded it


@dataclasses.dataclass(frozen=True)
class DashboardConfig:
    """Resolved settings: ``period`` in nanoseconds; ``export`` "" when no report is written."""

    host: str = "127.0.0.1"
    port: int = 5665
    period: int = 10_000_000_000
    open: bool = False
    export: str = ""

    @property
    def serves(self) -> bool:
        """True when the HTTP server runs (a port of 0 or more)."""
        return self.port >= 0

    @property
    def url(self) -> str:
        """The dashboard's address as a browser opens it ("" when the server is disabled)."""
        if not self.serves:
            return ""
        host = self.host or "127.0.0.1"
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    def __str__(self) -> str:
        return (
            f"host={self.host},port={self.port},period={format_duration(ns=self.period)},"
            f"open={str(self.open).lower()},export={self.export}"
        )


def _port(value: Any, origin: str) -> int:
    if isinstance(value, bool):
        raise OutputConfigError(f"{origin} must be a port number, not {value!r}")
    try:
        port = int(value)
    except (TypeError, ValueError):
        raise OutputConfigError(f"{origin} must be a port number, not {value!r}") from None
    if port > 65535:
        raise OutputConfigError(f"{origin} {port} is not a port (0-65535, or -1 to disable)")
    return port


def _period(value: Any, origin: str) -> int:
    try:
        ns = int(value * 1_000_000) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
        if ns is None:
            ns = parse_duration_ns(str(value))
    except DurationError as exc:
        raise OutputConfigError(f"invalid {origin} {value!r}: {exc}") from None
    if ns <= 0:
        raise OutputConfigError(f"{origin} must be positive, not {value!r}")
    return ns


def _bool(value: Any, origin: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("", "1", "true", "t", "yes"):
        return True
    if text in ("0", "false", "f", "no"):
        return False
    raise OutputConfigError(f"{origin} must be true or false, not {value!r}")


def _typed(name: str, value: Any, origin: str) -> Any:
    if name == "port":
        return _port(value, origin)
    if name == "period":
        return _period(value, origin)
    if name == "open":
        return _bool(value, origin)
    if not isinstance(value, str):
        raise OutputConfigError(f"{origin} must be a string, not {value!r}")
    return value


def parse_arg(arg: str) -> dict[str, Any]:
    """The settings in ``--out web-dashboard=ARG`` (``k=v&k=v``; a bare ``open`` means open=true)."""
    found: dict[str, Any] = {}
    for key, value in parse_qsl(arg, keep_blank_values=True, separator="&"):
        name = _ARG_ALIASES.get(key, key)
        if name not in SETTINGS:
            raise OutputConfigError(
                f'web-dashboard: unknown key "{key}" in argument "{arg}" (known: {", ".join(SETTINGS)})'
            )
        if value == "" and name != "open":
            continue  # k6 ignores empty values
        found[name] = _typed(name, value, f"argument {key}")
    return found


def from_env(environment: Mapping[str, str]) -> dict[str, Any]:
    """The settings given by ``K6_WEB_DASHBOARD_*`` then ``HORDE_WEB_DASHBOARD_*`` (empty values unset)."""
    found: dict[str, Any] = {}
    for prefix in _ENV_PREFIXES:
        for name in SETTINGS:
            var = prefix + name.upper()
            value = environment.get(var)
            if value:
                found[name] = _typed(name, value, var)
    return found


def from_json(config: Mapping[str, Any] | str | bytes | None) -> dict[str, Any]:
    """The settings of the JSON config object (or its raw text); null values are ignored."""
    if config is None:
        return {}
    if isinstance(config, (str, bytes)):
        try:
            config = json.loads(config) if config.strip() else {}
        except ValueError as exc:
            raise OutputConfigError(f"invalid JSON config: {exc}") from None
    if config is None:
        return {}
    if not isinstance(config, Mapping):
        raise OutputConfigError(f"the JSON config must be an object, not {type(config).__name__}")
    return {n: _typed(n, config[n], f"JSON config {n}") for n in SETTINGS if config.get(n) is not None}


def consolidate(
    json_config: Mapping[str, Any] | str | bytes | None, environment: Mapping[str, str], arg: str
) -> DashboardConfig:
    """Defaults < JSON config < K6_ environment < HORDE_ environment < ``--out`` argument."""
    merged: dict[str, Any] = {}
    merged.update(from_json(json_config))
    merged.update(from_env(environment))
    if arg:
        merged.update(parse_arg(arg))
    return DashboardConfig(**merged)
