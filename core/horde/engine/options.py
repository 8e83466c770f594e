"""The run's options from every layer: defaults < config file < script < K6_*/HORDE_* env < command line."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from ..durations import parse_duration
from ..errors import ExitCode, UserError

__all__ = [
    "load_config_file",
    "env_options",
    "merge_options",
    "parse_stage",
    "parse_tag",
    "parse_stop_timeouts",
    "SHORTCUT_KEYS",
    "ENV_PREFIXES",
    "parse_bool",
    "parse_hosts",
    "with_k6_aliases",
]

SHORTCUT_KEYS = ("duration", "iterations", "stages")
"""Options that, set in a layer, replace the ``scenarios`` of lower layers (as in k6)."""


def _invalid(msg: str) -> UserError:
    return UserError(msg, ExitCode.INVALID_CONFIG)


def load_config_file(path: str | Path | None) -> dict[str, Any]:
    """The JSON config file's content (options plus ``out`` and ``collectors``), or {}."""
    if not path:
        return {}
    p = Path(path)
    try:
        data = json.loads(p.read_text())
    except FileNotFoundError:
        raise _invalid(f"config file not found: {p}") from None
    except json.JSONDecodeError as exc:
        raise _invalid(f"config file {p} is not valid JSON: {exc.msg} at line {exc.lineno}") from None
    if not isinstance(data, dict):
        raise _invalid(f"config file {p} must hold a JSON object")
    return data


def parse_stage(text: str) -> dict[str, Any]:
    """``"30s:10"`` → ``{"duration": "30s", "target": 10}`` (``--stage``, ``HORDE_STAGES``)."""
    duration, sep, target = text.strip().partition(":")
    if not sep:
        raise _invalid(f"invalid stage '{text}': expected DURATION:TARGET, e.g. 30s:10")
    try:
        return {"duration": duration, "target": int(target)}
    except ValueError:
        raise _invalid(f"invalid stage '{text}': target '{target}' is not a whole number") from None


def parse_tag(text: str) -> tuple[str, str]:
    """``"k=v"`` → ``("k", "v")`` (``--tag``)."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise _invalid(f"invalid tag '{text}': expected NAME=VALUE")
    return key, value


def parse_stop_timeouts(values: Iterable[str]) -> dict[str, float]:
    """``["10s", "influxdb=2m"]`` → ``{"": 10.0, "influxdb": 120.0}`` (``--output-stop-timeout``).

    Each value is ``DURATION`` (every output) or ``OUTPUT=DURATION`` (an output
    name, or a label such as ``csv#2``); comma lists are split.
    """
    result: dict[str, float] = {}
    for value in values:
        for part in value.split(","):
            if not part.strip():
                continue
            name, sep, duration = part.strip().rpartition("=")
            try:
                seconds = parse_duration(duration)
            except ValueError as exc:
                raise _invalid(f"invalid output stop timeout '{part.strip()}': {exc}") from None
            if seconds < 0:
                raise _invalid(f"invalid output stop timeout '{part.strip()}': must not be negative")
            result[name.strip() if sep else ""] = seconds
    return result


def _int(name: str) -> Callable[[str], int]:
    def conv(v: str) -> int:
        try:
            return int(v)
        except ValueError:
            raise _invalid(f"{name}={v!r} is not a whole number") from None

    return conv


_TRUE = ("1", "t", "true", "yes", "on")
_FALSE = ("0", "f", "false", "no", "off")


def parse_bool(name: str, v: str) -> bool:
    """A boolean as Go's strconv.ParseBool reads it (plus yes/no/on/off); anything else is exit 104."""
    text = v.strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise _invalid(f"{name}={v!r} is not a boolean (true or false)")


def _bool(name: str) -> Callable[[str], bool]:
    return lambda v: parse_bool(name, v)


def _list(v: str) -> list[str]:
    return [s.strip() for s in v.split(",") if s.strip()]


def parse_hosts(text: str) -> dict[str, str]:
    """``hosts`` from the environment: a JSON object, or ``name=address,name2=address2``."""
    text = text.strip()
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise _invalid(f"hosts {text!r} is not a JSON object: {exc.msg}") from None
        return {str(k): str(v) for k, v in data.items()}
    out: dict[str, str] = {}
    for part in _list(text):
        name, sep, addr = part.partition("=")
        if not sep or not name or not addr:
            raise _invalid(f"invalid hosts entry {part!r}: expected NAME=ADDRESS")
        out[name.strip()] = addr.strip()
    return out


def _json_or_text(v: str) -> Any:
    text = v.strip()
    if text[:1] in ("{", "[", '"'):
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            pass
    return v


def _http_debug(v: str) -> str:
    text = v.strip().lower()
    if text in ("", "0", "false", "f"):
        return ""
    return "headers" if text in ("1", "true", "t") else v.strip()


_ENV_SPEC: list[tuple[str, str, Callable[[str], Any]]] = [
    # (suffix after K6_ / HORDE_, option key, converter): k6 v1.1.0's envconfig names
    ("PAUSED", "paused", _bool("PAUSED")),
    ("VUS", "vus", _int("VUS")),
    ("DURATION", "duration", str),
    ("ITERATIONS", "iterations", _int("ITERATIONS")),
    ("STAGES", "stages", lambda v: [parse_stage(s) for s in v.split(",") if s.strip()]),
    ("EXECUTION_SEGMENT", "executionSegment", str),
    ("EXECUTION_SEGMENT_SEQUENCE", "executionSegmentSequence", str),
    ("NO_SETUP", "noSetup", _bool("NO_SETUP")),
    ("SETUP_TIMEOUT", "setupTimeout", str),
    ("NO_TEARDOWN", "noTeardown", _bool("NO_TEARDOWN")),
    ("TEARDOWN_TIMEOUT", "teardownTimeout", str),
    ("RPS", "rps", _int("RPS")),
    ("DNS", "dns", str),
    ("MAX_REDIRECTS", "maxRedirects", _int("MAX_REDIRECTS")),
    ("USER_AGENT", "userAgent", str),
    ("BATCH", "batch", _int("BATCH")),
    ("BATCH_PER_HOST", "batchPerHost", _int("BATCH_PER_HOST")),
    ("HTTP_DEBUG", "httpDebug", _http_debug),
    ("INSECURE_SKIP_TLS_VERIFY", "insecureSkipTLSVerify", _bool("INSECURE_SKIP_TLS_VERIFY")),
    ("TLS_CIPHER_SUITES", "tlsCipherSuites", _list),
    ("TLS_VERSION", "tlsVersion", _json_or_text),
    ("THROW", "throw", _bool("THROW")),
    ("BLACKLIST_IPS", "blacklistIPs", _list),
    ("BLOCK_HOSTNAMES", "blockHostnames", _list),
    ("HOSTS", "hosts", parse_hosts),
    ("NO_CONNECTION_REUSE", "noConnectionReuse", _bool("NO_CONNECTION_REUSE")),
    ("NO_VU_CONNECTION_REUSE", "noVUConnectionReuse", _bool("NO_VU_CONNECTION_REUSE")),
    ("MIN_ITERATION_DURATION", "minIterationDuration", str),
    ("SUMMARY_TREND_STATS", "summaryTrendStats", _list),
    ("SUMMARY_TIME_UNIT", "summaryTimeUnit", str),
    ("SYSTEM_TAGS", "systemTags", _list),
    ("METRIC_SAMPLES_BUFFER_SIZE", "metricSamplesBufferSize", _int("METRIC_SAMPLES_BUFFER_SIZE")),
    ("NO_COOKIES_RESET", "noCookiesReset", _bool("NO_COOKIES_RESET")),
    ("DISCARD_RESPONSE_BODIES", "discardResponseBodies", _bool("DISCARD_RESPONSE_BODIES")),
    ("CONSOLE_OUTPUT", "consoleOutput", str),
    ("LOCAL_IPS", "localIPs", str),
    ("NO_THRESHOLDS", "noThresholds", _bool("NO_THRESHOLDS")),
    ("NO_USAGE_REPORT", "noUsageReport", _bool("NO_USAGE_REPORT")),
    ("NO_SUMMARY", "noSummary", _bool("NO_SUMMARY")),
    ("SUMMARY_EXPORT", "summaryExport", str),
    ("SUMMARY_MODE", "summaryMode", str),
    ("TRACES_OUTPUT", "tracesOutput", str),
    ("COMPATIBILITY_MODE", "compatibilityMode", str),
    ("INCLUDE_SYSTEM_ENV_VARS", "includeSystemEnvVars", _bool("INCLUDE_SYSTEM_ENV_VARS")),
]

ENV_PREFIXES = ("K6_", "HORDE_")
"""Both are read; ``HORDE_X`` wins over ``K6_X`` when both are set."""


def env_options(environ: Mapping[str, str]) -> dict[str, Any]:
    """Options set by ``K6_*`` environment variables as k6 reads them, and their ``HORDE_*`` twins (which win)."""
    out: dict[str, Any] = {}
    for prefix in ENV_PREFIXES:
        for suffix, key, conv in _ENV_SPEC:
            var = prefix + suffix
            value = environ.get(var)
            if value is not None and value != "":
                try:
                    out[key] = conv(value)
                except UserError as exc:
                    raise _invalid(f"environment variable {var}: {exc}") from None
    return out


def with_k6_aliases(environ: Mapping[str, str]) -> dict[str, str]:
    """``environ`` plus ``HORDE_X`` for every ``K6_X`` not already set as ``HORDE_X``.

    Outputs read their settings from ``HORDE_<OUTPUT>_*`` (``HORDE_INFLUXDB_ADDR``); this lets k6's
    names (``K6_INFLUXDB_ADDR``) configure them too, the HORDE_ name winning when both are set.
    """
    out = dict(environ)
    for key, value in environ.items():
        if key.startswith("K6_"):
            out.setdefault("HORDE_" + key[3:], value)
    return out


def merge_options(*layers: Mapping[str, Any]) -> dict[str, Any]:
    """Merge option layers, lowest first. ``tags`` merge; a layer setting duration, iterations or
    stages replaces the scenarios and shortcuts of lower layers."""
    merged: dict[str, Any] = {}
    for layer in layers:
        if not layer:
            continue
        if any(k in layer for k in SHORTCUT_KEYS):
            # A layer that sets a shortcut replaces the execution of lower layers.
            for key in ("scenarios", *SHORTCUT_KEYS):
                if key not in layer:
                    merged.pop(key, None)
        for key, value in layer.items():
            if key == "tags" and isinstance(value, Mapping):
                merged["tags"] = {**merged.get("tags", {}), **value}
            else:
                merged[key] = value
    return merged
