"""The run's options from every layer: defaults < config file < script < HORDE_* env < command line."""

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


def _bool(v: str) -> bool:
    return v.strip().lower() in ("1", "true", "yes", "on")


_ENV: dict[str, tuple[str, Callable[[str], Any]]] = {
    # k6's names first: the HORDE_ name of the same option, read later, wins
    "K6_EXECUTION_SEGMENT": ("executionSegment", str),
    "K6_EXECUTION_SEGMENT_SEQUENCE": ("executionSegmentSequence", str),
    "HORDE_EXECUTION_SEGMENT": ("executionSegment", str),
    "HORDE_EXECUTION_SEGMENT_SEQUENCE": ("executionSegmentSequence", str),
    "HORDE_VUS": ("vus", _int("HORDE_VUS")),
    "HORDE_DURATION": ("duration", str),
    "HORDE_ITERATIONS": ("iterations", _int("HORDE_ITERATIONS")),
    "HORDE_STAGES": ("stages", lambda v: [parse_stage(s) for s in v.split(",") if s.strip()]),
    "HORDE_SYSTEM_TAGS": ("systemTags", lambda v: [s.strip() for s in v.split(",") if s.strip()]),
    "HORDE_NO_THRESHOLDS": ("noThresholds", _bool),
    "HORDE_SUMMARY_EXPORT": ("summaryExport", str),
    "HORDE_SUMMARY_TREND_STATS": ("summaryTrendStats", lambda v: [s.strip() for s in v.split(",") if s.strip()]),
    "HORDE_NO_SUMMARY": ("noSummary", _bool),
    "HORDE_PAUSED": ("paused", _bool),
    "HORDE_NO_SETUP": ("noSetup", _bool),
    "HORDE_NO_TEARDOWN": ("noTeardown", _bool),
    "HORDE_INSECURE_SKIP_TLS_VERIFY": ("insecureSkipTLSVerify", _bool),
}


def env_options(environ: Mapping[str, str]) -> dict[str, Any]:
    """Options set by ``HORDE_*`` environment variables (and ``K6_EXECUTION_SEGMENT[_SEQUENCE]``)."""
    out: dict[str, Any] = {}
    for var, (key, conv) in _ENV.items():
        value = environ.get(var)
        if value is not None and value != "":
            out[key] = conv(value)
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
