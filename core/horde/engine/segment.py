"""Scenarios cut to one share of the test: an instance's execution segment, a worker within it.

Each executor takes its share as k6's executor configs do (lib/executor/*.go):

- shared-iterations: VUs scaled; iterations scaled by the share re-cut by the
  VUs (``GetNewExecutionTupleFromValue(vus)``);
- per-vu-iterations, constant-vus: VUs scaled, iterations per VU unchanged;
- ramping-vus: the stages stay whole; at any time the executor runs its share
  of the whole test's VU count (:attr:`Scenario.share`), so VUs come and go
  exactly when k6 would start or stop them in this segment;
- arrival rates: preAllocatedVUs and maxVUs scaled; the executor starts only
  its striped share of the whole rate's iterations, from the share re-cut by
  maxVUs, at the times the whole test would start them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from ..errors import ExitCode, UserError
from ..segments import Segment, SegmentError, SegmentSequence, Share, execution_tuple, worker_share
from .scenarios import Scenario

__all__ = ["share_from_options", "segment_scenario", "segment_scenarios", "split_scenarios"]

_T = TypeVar("_T")


def _parse_option(options: Mapping[str, Any], key: str, parse: Callable[[str], _T]) -> _T | None:
    value = options.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise UserError(f"invalid {key} {value!r}: expected a string such as '1/3:2/3'", ExitCode.INVALID_CONFIG)
    try:
        return parse(value)
    except SegmentError as exc:
        raise UserError(f"invalid {key} '{value}': {exc}", ExitCode.INVALID_CONFIG) from None


def share_from_options(options: Mapping[str, Any]) -> Share:
    """This instance's share of the test from ``executionSegment`` and ``executionSegmentSequence``.

    As k6, the segment must be one of the sequence's segments when a sequence is given (exit 104).
    """
    segment = _parse_option(options, "executionSegment", Segment.parse)
    sequence = _parse_option(options, "executionSegmentSequence", SegmentSequence.parse)
    if sequence and (segment or Segment.full()) not in sequence:
        raise UserError(
            f"provided segment {segment or Segment.full()} can't be found in sequence {sequence}",
            ExitCode.INVALID_CONFIG,
        )
    if segment is None or segment.length == 1:
        return Share()
    return Share((execution_tuple(segment, sequence),))


def segment_scenario(sc: Scenario, share: Share) -> Scenario | None:
    """The part of the whole-test scenario ``sc`` that ``share`` runs, or None when it gets nothing."""
    if share.is_full:
        return sc
    s = dataclasses.replace(sc, tags=dict(sc.tags), env=dict(sc.env), share=Share())
    if sc.executor == "shared-iterations":
        s.vus = share.scale(sc.vus)
        cut = share.from_value(sc.vus)
        s.iterations = cut.scale(sc.iterations) if cut is not None else 0
        if s.vus == 0 or s.iterations == 0:
            return None
    elif sc.executor in ("per-vu-iterations", "constant-vus"):
        s.vus = share.scale(sc.vus)
        if s.vus == 0:
            return None
    elif sc.executor == "ramping-vus":
        s.share = share
        if s.max_vus_needed == 0:
            return None
    else:
        s.pre_allocated_vus = share.scale(sc.pre_allocated_vus)
        s.max_vus = share.scale(sc.max_vus)
        cut = share.from_value(sc.max_vus)
        if s.max_vus == 0 or cut is None:
            return None
        s.share = cut
    return s


def segment_scenarios(scenarios: list[Scenario], share: Share) -> list[Scenario]:
    """The scenarios ``share`` runs (those it gets nothing of are left out)."""
    return [s for s in (segment_scenario(sc, share) for sc in scenarios) if s is not None]


def split_scenarios(scenarios: list[Scenario], share: Share, workers: int) -> list[list[Scenario]]:
    """For each of ``workers`` processes, the scenario parts it runs of the instance's ``share`` (maybe none)."""
    return [segment_scenarios(scenarios, worker_share(share, w, workers)) for w in range(workers)]
