"""Execution segments: splitting the scenarios of a run among worker processes (as k6 splits among instances)."""

from __future__ import annotations

import dataclasses

from .scenarios import Scenario, Stage

__all__ = ["share", "split_scenario", "split_scenarios"]


def share(total: int, index: int, parts: int) -> int:
    """Worker ``index``'s whole share of ``total`` among ``parts`` (shares differ by at most one, sum to total)."""
    return total * (index + 1) // parts - total * index // parts


def split_scenario(sc: Scenario, index: int, parts: int) -> Scenario | None:
    """The part of ``sc`` that worker ``index`` of ``parts`` runs, or None when it gets nothing."""
    s = dataclasses.replace(sc, tags=dict(sc.tags), env=dict(sc.env))
    if sc.executor == "shared-iterations":
        s.vus = share(sc.vus, index, parts)
        s.iterations = share(sc.iterations, index, parts)
        if s.vus == 0 or s.iterations == 0:
            return None
        s.vus = min(s.vus, s.iterations)
    elif sc.executor in ("per-vu-iterations", "constant-vus"):
        s.vus = share(sc.vus, index, parts)
        if s.vus == 0:
            return None
    elif sc.executor == "ramping-vus":
        s.start_vus = share(sc.start_vus, index, parts)
        s.stages = [Stage(st.duration, share(int(st.target), index, parts)) for st in sc.stages]
        if s.max_vus_needed == 0:
            return None
    else:  # arrival rates: the rate splits evenly, VUs by whole shares
        s.rate = sc.rate / parts
        s.start_rate = sc.start_rate / parts
        s.stages = [Stage(st.duration, st.target / parts) for st in sc.stages]
        s.pre_allocated_vus = share(sc.pre_allocated_vus, index, parts)
        s.max_vus = max(share(sc.max_vus, index, parts), s.pre_allocated_vus)
        if s.max_vus == 0:
            return None
    return s


def split_scenarios(scenarios: list[Scenario], parts: int) -> list[list[Scenario]]:
    """For each of ``parts`` workers, the scenario parts it runs (a worker may get none)."""
    out: list[list[Scenario]] = []
    for i in range(parts):
        mine = [s for s in (split_scenario(sc, i, parts) for sc in scenarios) if s is not None]
        out.append(mine)
    return out
