"""The run's planned length and maximum VUs, for the create-run call (k6 sends both)."""

from __future__ import annotations

import datetime
from typing import Any, Mapping, Sequence

from .config import parse_duration

__all__ = ["planned_vus_and_duration"]


def _seconds(v: Any) -> float:
    if isinstance(v, datetime.timedelta):
        return v.total_seconds()
    if isinstance(v, int) and v > 10**9:  # nanoseconds
        return v / 1e9
    if isinstance(v, (int, float)):
        return float(v)
    return parse_duration(v)


def _from_scenarios(plan: Sequence[Any]) -> tuple[int, float] | None:
    """horde's plan: one dict per scenario (start_time, duration, graceful_stop, max_vus)."""
    if not plan or not all(isinstance(s, Mapping) and "max_vus" in s and "duration" in s for s in plan):
        return None
    vus, end = 0, 0.0
    for s in plan:
        vus += int(s["max_vus"] or 0)
        end = max(end, _seconds(s.get("start_time") or 0) + _seconds(s["duration"] or 0)
                  + _seconds(s.get("graceful_stop") or 0))
    return vus, end


def _from_plan(plan: Sequence[Any]) -> tuple[int, float] | None:
    """k6-style execution steps (time_offset, planned_vus, max_unplanned_vus)."""
    vus, end = 0, 0.0
    found = False
    for step in plan:
        get = step.get if isinstance(step, Mapping) else (lambda k, d=None, s=step: getattr(s, k, d))
        offset = get("time_offset", None)
        if offset is None:
            offset = get("offset", None)
        planned = get("planned_vus", None)
        if offset is None or planned is None:
            return None
        found = True
        vus = max(vus, int(planned) + int(get("max_unplanned_vus", 0) or 0))
        end = max(end, _seconds(offset))
    return (vus, end) if found else None


def _from_options(opts: Mapping[str, Any]) -> tuple[int, float]:
    scenarios = opts.get("scenarios")
    if isinstance(scenarios, Mapping) and scenarios:
        vus, end = 0, 0.0
        for sc in scenarios.values():
            v, d = _from_options(sc)
            v = max(v, int(sc.get("maxVUs", 0) or 0), int(sc.get("preAllocatedVUs", 0) or 0))
            start = _seconds(sc.get("startTime", 0) or 0)
            grace = _seconds(sc.get("gracefulStop", "30s"))
            vus += v
            end = max(end, start + d + grace)
        return vus, end
    stages = opts.get("stages") or []
    vus = int(opts.get("vus", 1) or 1)
    if stages:
        dur = sum(_seconds(s.get("duration", 0)) for s in stages)
        vus = max([vus] + [int(s.get("target", 0)) for s in stages])
        return vus, dur
    if opts.get("duration"):
        return vus, _seconds(opts["duration"])
    return vus, 0.0


def planned_vus_and_duration(plan: Sequence[Any], options: Mapping[str, Any]) -> tuple[int, float]:
    """(max VUs, planned seconds incl. graceful stop, as k6 sends): from the engine's execution plan,
    else from the script options."""
    try:
        got = _from_scenarios(plan or ()) or _from_plan(plan or ())
        if got is not None:
            return got
        return _from_options(options or {})
    except (TypeError, ValueError, AttributeError):
        return 0, 0.0
