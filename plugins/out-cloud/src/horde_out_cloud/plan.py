"""The run's planned length and maximum VUs, for the create-run call (k6 sends both)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from horde.output import parse_duration

__all__ = ["planned_vus_and_duration"]


def _from_plan(plan: Sequence[Any]) -> tuple[int, float] | None:
    """horde's execution plan: one dict per scenario (start_time, duration, graceful_stop in seconds; max_vus)."""
    if not plan or not all(isinstance(s, Mapping) and "max_vus" in s and "duration" in s for s in plan):
        return None
    vus, end = 0, 0.0
    for s in plan:
        vus += int(s["max_vus"] or 0)
        end = max(end, float(s.get("start_time") or 0) + float(s["duration"] or 0) + float(s.get("graceful_stop") or 0))
    return vus, end


def _from_options(opts: Mapping[str, Any]) -> tuple[int, float]:
    """From script options, when there is no plan (durations as k6 reads them: a bare number is ms)."""
    scenarios = opts.get("scenarios")
    if isinstance(scenarios, Mapping) and scenarios:
        vus, end = 0, 0.0
        for sc in scenarios.values():
            v, d = _from_options(sc)
            v = max(v, int(sc.get("maxVUs", 0) or 0), int(sc.get("preAllocatedVUs", 0) or 0))
            start = parse_duration(sc.get("startTime", 0) or 0)
            grace = parse_duration(sc.get("gracefulStop", "30s"))
            vus += v
            end = max(end, start + d + grace)
        return vus, end
    stages = opts.get("stages") or []
    vus = int(opts.get("vus", 1) or 1)
    if stages:
        dur = sum(parse_duration(s.get("duration", 0)) for s in stages)
        vus = max([vus] + [int(s.get("target", 0)) for s in stages])
        return vus, dur
    if opts.get("duration"):
        return vus, parse_duration(opts["duration"])
    return vus, 0.0


def planned_vus_and_duration(plan: Sequence[Any], options: Mapping[str, Any]) -> tuple[int, float]:
    """(max VUs, planned seconds incl. graceful stop, as k6 sends): from the engine's execution plan,
    else from the script options."""
    try:
        got = _from_plan(plan or ())
        if got is not None:
            return got
        return _from_options(options or {})
    except (TypeError, ValueError, AttributeError):
        return 0, 0.0
