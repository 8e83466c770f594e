"""``k6 inspect``'s documents for a horde test: the options, and with ``--execution-requirements`` also
``totalDuration`` and ``maxVUs`` (what k6-operator's initializer reads).

Field names, order and JSON types are k6 v1.1.0's: every k6 option key,
``null`` where unset; durations as Go duration text (``1m30s``); scenarios by
name with the keys of their executor; ``<``, ``>`` and ``&`` escaped as Go's
encoder does. Options that horde has and k6 does not are left out, as k6
leaves out what it does not know.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ..durations import format_duration
from ..metrics.systemtags import DEFAULT_SYSTEM_TAGS
from ..summary import DEFAULT_TREND_STATS
from ..thresholds import Threshold, ThresholdError
from .catalogue import LIB_OPTION_KEYS
from .scenarios import Scenario, scenarios_from_options, seconds

__all__ = ["options_document", "requirements_document", "total_duration", "max_vus", "dump_document"]

_OMIT_EMPTY = frozenset({"cloud"})
"""Keys k6 leaves out when unset (``omitempty``)."""

_SORTED_MAPS = frozenset({"thresholds", "tags", "ext", "hosts"})

_DURATION_KEYS = frozenset({"duration", "setupTimeout", "teardownTimeout", "minIterationDuration"})

_COMMON_SCENARIO_KEYS = ("executor", "startTime", "gracefulStop", "env", "exec", "tags")
_EXECUTOR_KEYS = {
    "shared-iterations": ("vus", "iterations", "maxDuration"),
    "per-vu-iterations": ("vus", "iterations", "maxDuration"),
    "constant-vus": ("vus", "duration"),
    "ramping-vus": ("startVUs", "stages", "gracefulRampDown"),
    "constant-arrival-rate": ("rate", "timeUnit", "duration", "preAllocatedVUs", "maxVUs"),
    "ramping-arrival-rate": ("startRate", "timeUnit", "stages", "preAllocatedVUs", "maxVUs"),
}
_SCENARIO_DURATIONS = frozenset(
    {"startTime", "gracefulStop", "maxDuration", "duration", "gracefulRampDown", "timeUnit"}
)


def _duration(value: Any) -> Any:
    if value is None:
        return None
    try:
        return format_duration(seconds(value))
    except Exception:  # shown as given; the run reports invalid values
        return value


def _stages(stages: Any) -> Any:
    if not isinstance(stages, list):
        return stages
    return [
        {"duration": _duration(s.get("duration")), "target": s.get("target")} if isinstance(s, Mapping) else s
        for s in stages
    ]


def _scenario(cfg: Mapping[str, Any]) -> dict[str, Any]:
    keys = _COMMON_SCENARIO_KEYS + _EXECUTOR_KEYS.get(str(cfg.get("executor")), ())
    out: dict[str, Any] = {}
    for key in keys:
        value = cfg.get(key)
        if key in _SCENARIO_DURATIONS:
            value = _duration(value)
        elif key == "stages":
            value = _stages(value)
        elif key in ("env", "tags"):
            value = _sorted_map(value)
        out[key] = value
    return out


def _thresholds(raw: Any) -> Any:
    if not isinstance(raw, Mapping):
        return raw
    out: dict[str, Any] = {}
    for key, items in raw.items():
        entries = items if isinstance(items, list) else [items]
        converted = []
        for item in entries:
            try:
                converted.append(Threshold.from_config(item, key).to_json())
            except ThresholdError:
                converted.append(item)
        out[key] = converted
    return out


def _sorted_map(value: Any) -> Any:
    """Go's encoder writes a map's keys sorted."""
    return {k: value[k] for k in sorted(value)} if isinstance(value, Mapping) else value


def _value(key: str, value: Any) -> Any:
    if key in _SORTED_MAPS:
        value = _sorted_map(value)
    if key in _DURATION_KEYS:
        return _duration(value)
    if key == "stages":
        return _stages(value)
    if key == "scenarios" and isinstance(value, Mapping):
        return {name: _scenario(value[name]) for name in sorted(value)}
    if key == "thresholds":
        return _thresholds(value)
    if key == "dns":
        dns = value if isinstance(value, Mapping) else {}
        return {"ttl": dns.get("ttl"), "select": dns.get("select"), "policy": dns.get("policy")}
    return value


def options_document(options: Mapping[str, Any]) -> dict[str, Any]:
    """``k6 inspect``'s document: every k6 option key in k6's order, null where unset (``cloud`` left out)."""
    return {
        key: _value(key, options.get(key))
        for key in LIB_OPTION_KEYS
        if key not in _OMIT_EMPTY or options.get(key) is not None
    }


def _derived_scenarios(options: Mapping[str, Any]) -> dict[str, Any]:
    """The scenarios as k6 consolidates them: ``options.scenarios``, or the one its shortcuts describe."""
    if options.get("scenarios"):
        return dict(options["scenarios"])
    vus, duration, iterations, stages = (options.get(k) for k in ("vus", "duration", "iterations", "stages"))
    if stages:
        cfg: dict[str, Any] = {"executor": "ramping-vus", "startVUs": vus, "stages": stages}
    elif iterations is not None:
        cfg = {"executor": "shared-iterations", "vus": vus, "iterations": iterations, "maxDuration": duration}
    elif duration is not None and seconds(duration) > 0:
        cfg = {"executor": "constant-vus", "vus": vus, "duration": duration}
    else:
        cfg = {"executor": "per-vu-iterations"}
    return {"default": cfg}


def _end_offset(sc: Scenario) -> float:
    """Seconds from the test's start until k6's execution plan of ``sc`` has no VU left (graceful stops included)."""
    end = sc.start_time + sc.total_duration + sc.graceful_stop
    if sc.executor != "ramping-vus" or not sc.stages or sc.stages[-1].target != 0:
        return end
    values = [sc.start_vus, *(stage.target for stage in sc.stages)]
    times = [0.0]
    for stage in sc.stages:
        times.append(times[-1] + stage.duration)
    nonzero = [i for i, v in enumerate(values) if v != 0]
    if not nonzero:
        return sc.start_time  # never a VU
    zero_at = times[nonzero[-1] + 1]  # the VUs reach 0 for good here; graceful ramp-down follows
    return min(end, sc.start_time + zero_at + sc.graceful_ramp_down)


def total_duration(scenarios: list[Scenario]) -> float:
    """k6's ``totalDuration``: the end of the last scenario's execution plan, graceful stops included."""
    return max((_end_offset(sc) for sc in scenarios), default=0.0)


def max_vus(scenarios: list[Scenario]) -> int:
    """k6's ``maxVUs``: the most VUs scenarios running at the same time may need.

    Each scenario counts its own maximum over the span from its start time
    to its end offset; scenarios that do not overlap in time do not add up.
    """
    spans = [(sc.start_time, _end_offset(sc), sc.max_vus_needed) for sc in scenarios]
    best = 0
    for start, _end, _n in spans:
        best = max(best, sum(n for s, e, n in spans if s <= start < e or s == start))
    return best


def requirements_document(options: Mapping[str, Any]) -> dict[str, Any]:
    """``k6 inspect --execution-requirements``'s document: the consolidated options plus ``totalDuration``
    (Go duration text) and ``maxVUs``."""
    consolidated = dict(options)
    consolidated["scenarios"] = _derived_scenarios(options)
    if consolidated.get("summaryTrendStats") is None:
        consolidated["summaryTrendStats"] = list(DEFAULT_TREND_STATS)
    if consolidated.get("systemTags") is None:
        consolidated["systemTags"] = sorted(DEFAULT_SYSTEM_TAGS)
    doc = options_document(consolidated)
    scenarios = scenarios_from_options({"scenarios": _runnable(consolidated["scenarios"])})
    doc["totalDuration"] = format_duration(total_duration(scenarios))
    doc["maxVUs"] = max_vus(scenarios)
    return doc


def _runnable(scenarios: Mapping[str, Any]) -> dict[str, Any]:
    """The scenarios with k6's defaults where the consolidated form leaves nulls."""
    return {name: {k: v for k, v in cfg.items() if v is not None} for name, cfg in scenarios.items()}


def dump_document(doc: Mapping[str, Any]) -> str:
    """The JSON text as k6 prints it: two-space indent, ``<>&`` escaped as Go's encoder does."""
    text = json.dumps(doc, indent=2, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
