"""Running iterations of script code on VUs, and the metrics every iteration emits."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from ..durations import option_seconds
from ..errors import ScriptAbort
from ..metrics import BuiltinMetrics, ConnectedSamples, MetricRegistry, TagSet
from ..vustate import VUState, current_vu
from .pacing import Pacer

__all__ = ["VUFactory", "run_iteration"]

_log = logging.getLogger("horde.script")
_perf_ns = time.perf_counter_ns
_time_ns = time.time_ns
_current_vu_get = current_vu.get


class VUFactory:
    """Creates VUs (ids from 1 across all scenarios) and counts initialized and active ones."""

    def __init__(
        self,
        *,
        builtin: BuiltinMetrics,
        registry: MetricRegistry,
        emit: Callable[[Any], None],
        system_tags: frozenset[str],
        base_tags: TagSet,
        options: dict,
        run: Any = None,
        pacer: Pacer | None = None,
        watchdog: Any = None,
    ) -> None:
        self.builtin = builtin
        self.registry = registry
        self.emit = emit
        self.system_tags = system_tags
        self.base_tags = base_tags
        self.options = options
        self.run = run
        self.initialized = 0
        """vus_max: VUs created so far."""
        self.active = 0
        """vus: VUs currently running iterations."""
        self.pacer = pacer or Pacer()
        """Yielding and backpressure of the VU loops (:mod:`horde.engine.pacing`)."""
        self.watchdog = watchdog
        """The :class:`~horde.engine.watchdog.Watchdog` interrupting stuck script code, or None."""
        mid = options.get("minIterationDuration")
        self.min_iteration = option_seconds(mid, "minIterationDuration") if mid else 0.0
        """k6's ``minIterationDuration`` in seconds (0: none), given to every VU."""

    def new_vu(self, scenario: Any, *, counted: bool = True) -> VUState:
        """A fresh VU for ``scenario`` (its tags include the scenario's tags).

        ``counted=False`` makes the VU of setup/teardown: id 0, not part of vus_max (as in k6).
        """
        if counted:
            self.initialized += 1
        base = self.base_tags.with_tags(scenario.tags) if scenario.tags else self.base_tags
        vu = VUState(
            self.initialized if counted else 0,
            builtin=self.builtin,
            emit=self.emit,
            system_tags=self.system_tags,
            base_tags=base,
            scenario=scenario.name,
            options=self.options,
            registry=self.registry,
        )
        vu.run = self.run
        vu.env = scenario.env
        vu.min_iteration = self.min_iteration
        return vu


async def run_iteration(
    vu: VUState, fn: Callable[..., Any], data: Any, on_error: Callable[[BaseException], None] | None = None
) -> bool:
    """Run one iteration of ``fn(data)`` on ``vu``; return False if it was interrupted.

    A completed iteration (also one that raised, as in k6) emits data_sent,
    data_received, iteration_duration and iterations; an interrupted one only
    the two data metrics. Script exceptions are logged on one line; a
    :class:`ScriptAbort` propagates to stop the run. ``vu`` becomes the
    current VU of the calling task (and stays so for its later iterations).
    """
    vu.iteration += 1
    if vu.metadata is not None or "iter" in vu.system_tags:
        vu.retag()
    if _current_vu_get(None) is not vu:
        current_vu.set(vu)
    start = _perf_ns()
    complete = False
    try:
        await fn(data)
        complete = True
    except asyncio.CancelledError:
        raise
    except ScriptAbort:
        raise
    except Exception as exc:  # a script error ends this iteration only
        complete = True
        if on_error is not None:
            on_error(exc)
        else:
            _log.error("%s", exc)
    finally:
        duration_ms = (_perf_ns() - start) / 1e6
        if vu.group_path:
            vu.group_path = ""
            vu.retag()
        b = vu.builtin
        sent, received = vu.bytes_sent, vu.bytes_received
        vu.bytes_sent = vu.bytes_received = 0
        if complete:
            vu.emit(
                ConnectedSamples(b.iteration_end, (sent, received, duration_ms, 1.0), _time_ns(), vu.tags, vu.metadata)
            )
        else:
            vu.emit(ConnectedSamples(b.iteration_end[:2], (sent, received), _time_ns(), vu.tags, vu.metadata))
    if complete and vu.min_iteration:
        rest = vu.min_iteration - duration_ms / 1e3  # after the metrics: iteration_duration excludes it (as k6)
        if rest > 0:
            await asyncio.sleep(rest)
    return complete
