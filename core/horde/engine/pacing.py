"""Keeping the event loop responsive and the metric pipeline bounded, whatever iterations do.

A VU whose iterations never await (``async def default(data): x = 1``, or one
that raises before its first ``await``) would keep the event loop to itself:
no timer fires, so neither ``duration`` nor a signal could stop it, and its
samples would pile up faster than they are delivered. The :class:`Pacer`
prevents both at almost no cost on the hot loop:

- a heartbeat callback on the loop stamps :attr:`Pacer.beat` every
  :data:`BEAT_PERIOD`; a VU loop compares it with the clock after each
  iteration (one ``monotonic()`` call) and, when the loop has not run its
  callbacks for :data:`YIELD_AFTER`, awaits :meth:`Pacer.pause`;
- when the metric pipeline falls behind (``backlog()`` above its limit) the
  heartbeat makes every VU take that slow path, where it waits until the
  pipeline has caught up (backpressure), so memory stays flat;
- VUs that kept the loop to themselves (their iterations do not await) are
  paced further: the loop rests :data:`REST_FACTOR` times as long as they
  held it (at most :data:`MAX_GIVE_BACK` at a time), and they wait while the
  outputs' queues (``output_backlog()``) are past their limit. VUs that await (real load)
  are never slowed by an output: a slow output falls behind alone.

The watchdog (:mod:`horde.engine.watchdog`) reads the same heartbeat to tell
a loop stuck in script code.
"""

from __future__ import annotations

import asyncio
import math
import os
import sys
import time
from collections.abc import Callable

PUMP_PERIOD = 0.05
"""Seconds between metric batches (k6's ``sendBatchToOutputsRate``); here so a worker needs no pump."""

__all__ = [
    "BACKLOG_LIMIT",
    "BEAT_PERIOD",
    "IDLE_BEAT_PERIOD",
    "MEMORY_BUDGET",
    "OUTPUT_BACKLOG_LIMIT",
    "YIELD_AFTER",
    "Pacer",
    "memory_growth",
    "over",
]

BEAT_PERIOD = 0.005
"""Seconds between two heartbeats of a responsive loop."""

IDLE_BEAT_PERIOD = 0.05
"""Seconds between two heartbeats of a loop that runs no VUs (the coordinator of ``--workers``): only
the watchdog reads them (stale after 0.2 s), so a slower beat spares that loop 180 wake-ups a second."""

YIELD_AFTER = 0.02
"""A VU that finds the heartbeat older than this yields to the loop before its next iteration."""

MAX_GIVE_BACK = 0.05
"""Seconds a VU that held the loop sleeps at most before its next iteration."""

REST_FACTOR = 3.0
"""The loop rests this many times as long as VUs held it."""

BACKLOG_WAIT = 0.01
"""Seconds a VU sleeps between two looks at a pipeline that is behind."""

BACKLOG_LIMIT = 50_000
"""Containers (a queued batch weighs :data:`horde.engine.pump.BATCH_WEIGHT`) the pipeline may hold before VUs wait."""

OUTPUT_BACKLOG_LIMIT = 50_000
"""Samples an output's queue may hold before VUs that do not await wait for it."""

MEMORY_BUDGET = 80 << 20
"""Bytes the process may grow by before VUs that do not await wait (for what is out of the queues' sight)."""

BLOCK_BYTES = 64
"""What one allocated interpreter object block counts for in :func:`memory_growth` (a sample's float,
tuple or container is one of 24 to 100 bytes)."""

MEMORY_CHECK_PERIOD = 0.1
"""Seconds between two measures of :func:`memory_growth` (reading ``/proc`` and counting blocks costs)."""

_monotonic = time.monotonic


class Pacer:
    """The heartbeat of one event loop and the backpressure of its metric pipeline.

    ``backlog()`` returns how far the pipeline is behind (any unit) and
    ``limit`` is the most it may be; with no ``backlog`` there is no
    backpressure, only yielding.
    """

    def __init__(
        self,
        backlog: Callable[[], int] | None = None,
        limit: int = 0,
        output_backlog: Callable[[], int] | None = None,
        output_limit: int = 0,
        period: float = BEAT_PERIOD,
    ) -> None:
        self.beat = _monotonic()
        """When the loop last ran its heartbeat callback (``time.monotonic()``); 0.0 forces VUs to pause."""
        self.alive = self.beat
        """When the loop last ran its heartbeat callback, whatever the pipeline does (for the watchdog)."""
        self.backlog = backlog
        self.limit = limit
        self.output_backlog = output_backlog
        self.output_limit = output_limit
        self.rest_until = 0.0
        """VUs sent to :meth:`pause` sleep until then (``time.monotonic()``)."""
        self.paused = 0
        """How many times a VU waited for the pipeline (for tests and debugging)."""
        self.period = period
        """Seconds between two heartbeats."""
        self._handle: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Start the heartbeat on ``loop`` (call from the loop's thread)."""
        self._loop = loop
        self._tick()

    def stop(self) -> None:
        """Stop the heartbeat."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        self._loop = None

    def _tick(self) -> None:
        loop = self._loop
        if loop is None:
            return
        now = self.alive = _monotonic()
        self.beat = 0.0 if now < self.rest_until or self.behind() else now
        self._handle = loop.call_later(self.period, self._tick)

    def behind(self) -> bool:
        """True if the metric pipeline holds more than its limit."""
        backlog = self.backlog
        return backlog is not None and backlog() > self.limit

    def outputs_behind(self) -> bool:
        """True if the outputs' queues hold more than their limit."""
        backlog = self.output_backlog
        return backlog is not None and backlog() > self.output_limit

    async def pause(self) -> None:
        """The VU's slow path: give the loop a turn, and wait while the pipeline is behind.

        When VUs held the loop (its heartbeat is older than :data:`YIELD_AFTER`),
        the whole loop rests twice as long (at most :data:`MAX_GIVE_BACK`): the
        heartbeat sends every VU here until then, so VUs that do not await run
        at most a third of the time, leaving the rest to the pump and outputs.
        """
        now = _monotonic()
        held = now - self.alive  # how long the loop went without its heartbeat
        if held > YIELD_AFTER:
            self.rest_until = max(self.rest_until, now + min(REST_FACTOR * held, MAX_GIVE_BACK))
        if now < self.rest_until:
            await asyncio.sleep(self.rest_until - now)
            while self.outputs_behind():
                self.paused += 1
                await asyncio.sleep(BACKLOG_WAIT)
        else:
            await asyncio.sleep(0)
        if self.behind():
            self.paused += 1
            while self.behind():
                await asyncio.sleep(BACKLOG_WAIT)
        now = _monotonic()
        if now >= self.rest_until:
            self.beat = now


def memory_growth(period: float = MEMORY_CHECK_PERIOD) -> Callable[[], int]:
    """Bytes this process's memory grew since this call, as a function (0 where unknown).

    The function measures at most once per ``period`` seconds and gives the last
    measure in between: the coordinator asks on every batch from every worker.

    The smaller of two growths: of resident memory (``/proc/self/statm``, Linux),
    which sees what outputs buffer internally, out of the queues' sight, but
    seldom shrinks once freed memory is fragmented; and of the interpreter's
    allocated object blocks (``sys.getallocatedblocks``, :data:`BLOCK_BYTES`
    each), which falls as soon as a buffer is released. So the budget holds VUs
    back only while the memory is really held, never for good.
    """
    try:
        page = os.sysconf("SC_PAGE_SIZE")
        with open("/proc/self/statm", "rb") as f:
            f.read()
    except (OSError, ValueError, AttributeError):
        return lambda: 0

    def resident() -> int:
        try:
            with open("/proc/self/statm", "rb") as f:
                return int(f.read().split()[1]) * page
        except (OSError, ValueError, IndexError):
            return 0

    start = resident()
    blocks = sys.getallocatedblocks()
    measured_at, grown = -math.inf, 0

    def growth() -> int:
        nonlocal measured_at, grown
        now = _monotonic()
        if now - measured_at >= period:
            measured_at = now
            grown = min(resident() - start, (sys.getallocatedblocks() - blocks) * BLOCK_BYTES)
        return grown

    return growth


def over(*limits: tuple[Callable[[], int], int]) -> Callable[[], int]:
    """A backlog that is 1 when any ``(measure, limit)`` is past its limit, else 0."""

    def backlog() -> int:
        return int(any(measure() > limit for measure, limit in limits))

    return backlog
