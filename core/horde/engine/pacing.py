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
  pipeline has caught up (backpressure), so memory stays flat.

The watchdog (:mod:`horde.engine.watchdog`) reads the same heartbeat to tell
a loop stuck in script code.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Callable

__all__ = ["BACKLOG_LIMIT", "BEAT_PERIOD", "YIELD_AFTER", "Pacer", "pump_backlog"]

BEAT_PERIOD = 0.005
"""Seconds between two heartbeats of a responsive loop."""

YIELD_AFTER = 0.02
"""A VU that finds the heartbeat older than this yields to the loop before its next iteration."""

BACKLOG_WAIT = 0.01
"""Seconds a VU sleeps between two looks at a pipeline that is behind."""

BATCH_WEIGHT = 20_000
"""A queued batch counts as this many containers in :func:`pump_backlog`."""

BACKLOG_LIMIT = 100_000
"""Containers (or batches times :data:`BATCH_WEIGHT`) the pipeline may hold before VUs wait."""

_monotonic = time.monotonic


class Pacer:
    """The heartbeat of one event loop and the backpressure of its metric pipeline.

    ``backlog()`` returns how far the pipeline is behind (any unit) and
    ``limit`` is the most it may be; with no ``backlog`` there is no
    backpressure, only yielding.
    """

    def __init__(self, backlog: Callable[[], int] | None = None, limit: int = 0) -> None:
        self.beat = _monotonic()
        """When the loop last ran its heartbeat callback (``time.monotonic()``); 0.0 forces VUs to pause."""
        self.alive = self.beat
        """When the loop last ran its heartbeat callback, whatever the pipeline does (for the watchdog)."""
        self.backlog = backlog
        self.limit = limit
        self.paused = 0
        """How many times a VU waited for the pipeline (for tests and debugging)."""
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
        self.beat = 0.0 if self.behind() else now
        self._handle = loop.call_later(BEAT_PERIOD, self._tick)

    def behind(self) -> bool:
        """True if the metric pipeline holds more than its limit."""
        backlog = self.backlog
        return backlog is not None and backlog() > self.limit

    def stale(self, now: float) -> float:
        """Seconds since the last heartbeat (large when the pipeline is behind)."""
        return now - self.beat

    async def pause(self) -> None:
        """Give the loop a turn; then wait while the pipeline is behind (the VU's slow path)."""
        await asyncio.sleep(0)
        if self.behind():
            self.paused += 1
            while self.behind():
                await asyncio.sleep(BACKLOG_WAIT)
        self.beat = _monotonic()


def pump_backlog(pump: Any) -> Callable[[], int]:
    """How many containers and batches ``pump`` holds undelivered, as a function.

    Uses ``pump.backlog()`` when the pump has one; otherwise the length of
    its pending list plus its queued batches weighted as :data:`BATCH_WEIGHT` containers each.
    """
    fn = getattr(pump, "backlog", None)
    if callable(fn):
        return fn  # type: ignore[no-any-return]
    pending = getattr(pump, "_pending", None)
    queue = getattr(pump, "_queue", None)
    qsize = getattr(queue, "qsize", None)

    def backlog() -> int:
        n = len(pending) if pending is not None else 0
        if qsize is not None:
            n += BATCH_WEIGHT * qsize()
        return n

    return backlog
