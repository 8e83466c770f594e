"""Sleeps on one timer per event loop: a heap of wake-up times instead of a loop timer per sleep.

A VU that sleeps holds a future and a heap entry (some 150 bytes) instead of a
loop timer handle (over 600 bytes on uvloop, most of a sleeping VU's memory
after its coroutine frames). The loop's single timer is armed for the earliest
wake-up and, when it fires, wakes every sleep that is due.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools

__all__ = ["sleep_future", "RESOLUTION"]

RESOLUTION = 1e-3
"""Seconds: a sleep due within this much of the timer's firing is woken then (the loop clock's step)."""


class _Sleeper:
    """The sleeps of one event loop."""

    __slots__ = ("loop", "heap", "timer", "timer_at", "order")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.heap: list[tuple[float, int, asyncio.Future[None]]] = []
        self.timer: asyncio.TimerHandle | None = None
        self.timer_at = 0.0
        self.order = itertools.count()  # equal times wake in the order they were asked for

    def sleep(self, delay: float) -> asyncio.Future[None]:
        loop = self.loop
        when = loop.time() + delay
        fut = loop.create_future()
        heapq.heappush(self.heap, (when, next(self.order), fut))
        if self.timer is None or when < self.timer_at:
            self._arm(when)
        return fut

    def _arm(self, when: float) -> None:
        if self.timer is not None:
            self.timer.cancel()
        self.timer_at = when
        self.timer = self.loop.call_at(when, self._wake)

    def _wake(self) -> None:
        self.timer = None
        heap = self.heap
        due = self.loop.time() + RESOLUTION
        while heap and heap[0][0] <= due:
            fut = heapq.heappop(heap)[2]
            if not fut.done():  # a cancelled sleep stays in the heap until its time: nothing to wake
                fut.set_result(None)
        if heap:
            self._arm(heap[0][0])


_sleepers: dict[int, _Sleeper] = {}
"""The sleeper of each loop by ``id(loop)`` (a sleeper keeps its loop alive, so the ids are unique)."""
_last: tuple[asyncio.AbstractEventLoop | None, _Sleeper | None] = (None, None)
"""(loop, sleeper) of the last sleep, replaced as a whole (threads may run loops): most runs have one loop."""


def sleep_future(delay: float) -> asyncio.Future[None]:
    """A future of the running loop resolved (to None) ``delay`` seconds from now (``delay`` > 0)."""
    global _last
    loop = asyncio.get_running_loop()
    last = _last
    if last[0] is loop:
        return last[1].sleep(delay)  # type: ignore[union-attr]  # set with its loop
    sleeper = _sleepers.get(id(loop))
    if sleeper is None:
        for key, old in list(_sleepers.items()):  # a closed loop's sleeps never wake: let it go
            if old.loop.is_closed():
                _sleepers.pop(key, None)
        sleeper = _sleepers[id(loop)] = _Sleeper(loop)
    _last = (loop, sleeper)
    return sleeper.sleep(delay)
