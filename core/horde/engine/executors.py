"""k6's six executors, as coroutines that drive VUs through iterations of one scenario."""

from __future__ import annotations

import asyncio
import collections
import itertools
import math
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from ..errors import ScriptAbort
from ..metrics import Sample
from ..vustate import VUState
from .iteration import VUFactory, run_iteration
from .pacing import YIELD_AFTER
from .scenarios import Scenario, Stage
from .watchdog import VUInterrupted

_monotonic = time.monotonic

__all__ = ["ScenarioRunner", "arrival_times", "ramp_target"]


class ScenarioRunner:
    """Runs one scenario with its executor; ``stopping`` ends it early (no new iterations)."""

    def __init__(
        self,
        scenario: Scenario,
        factory: VUFactory,
        fn: Callable[..., Awaitable[Any]],
        data: Any,
        on_error: Callable[[BaseException], None],
        on_abort: Callable[[BaseException], None] | None = None,
    ) -> None:
        self.scenario = scenario
        self.factory = factory
        self.fn = fn
        self.data = data
        self.on_error = on_error
        self.on_abort = on_abort
        self.stopping = False
        self.completed_iterations = 0
        self.interrupted_iterations = 0
        """Iterations stopped by the clock: cancelled after gracefulStop, or interrupted by the watchdog."""
        self.hard_end = math.inf
        """``time.monotonic()`` after which iterations still running are interrupted (end plus gracefulStop)."""
        self.vus: list[VUState] = []

    # -- shared pieces ------------------------------------------------------

    def _new_vu(self) -> VUState:
        vu = self.factory.new_vu(self.scenario)
        vu.deadline = self.hard_end
        self.vus.append(vu)
        return vu

    def _set_deadline(self, vu: VUState, deadline: float) -> None:
        vu.deadline = deadline
        watchdog = self.factory.watchdog
        if watchdog is not None:
            watchdog.arm(deadline)

    async def _iterate(self, vu: VUState) -> bool:
        try:
            done = await run_iteration(vu, self.fn, self.data, self.on_error)
        except ScriptAbort as exc:
            self._aborted(exc)
            return False
        except VUInterrupted:
            self.interrupted_iterations += 1
            return False
        except asyncio.CancelledError:
            self.interrupted_iterations += 1
            raise
        if done:
            self.completed_iterations += 1
        else:
            self.interrupted_iterations += 1
        pacer = self.factory.pacer
        if _monotonic() - pacer.beat > YIELD_AFTER:
            await pacer.pause()
        return done

    def _aborted(self, exc: ScriptAbort) -> None:
        self.stopping = True
        if self.on_abort is None:
            raise exc
        self.on_abort(exc)

    def _drop(self, n: int = 1) -> None:
        if n <= 0:
            return
        b = self.factory.builtin
        tags = self.factory.base_tags
        if "scenario" in self.factory.system_tags:
            tags = tags.with_tag("scenario", self.scenario.name)
        if self.scenario.tags:
            tags = tags.with_tags(self.scenario.tags)
        self.factory.emit(Sample(b.dropped_iterations, time.time_ns(), float(n), tags, None))

    async def _finish(self, tasks: list[asyncio.Task], duration: float) -> None:
        """Wait ``duration`` for ``tasks``, then stop new iterations, allow gracefulStop, then interrupt."""
        try:
            if tasks:
                _, pending = await asyncio.wait(tasks, timeout=duration if duration > 0 else None)
                if pending:
                    self.stopping = True
                    _, pending = await asyncio.wait(pending, timeout=self.scenario.graceful_stop or None)
                    for t in pending:
                        t.cancel()
                    await asyncio.gather(*pending, return_exceptions=True)
        except asyncio.CancelledError:
            self.stopping = True
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise

    def _loop_task(self, vu: VUState, keep_going: Callable[[VUState], bool] | None) -> asyncio.Task:
        """A task running iterations on ``vu`` until the scenario stops or ``keep_going(vu)`` says no."""
        return asyncio.ensure_future(self._vu_loop(vu, keep_going))

    async def _vu_loop(self, vu: VUState, keep_going: Callable[[VUState], bool] | None) -> None:
        # a method, not a closure per VU: 10,000 VUs keep 10,000 of these frames
        fn, data, on_error, pacer = self.fn, self.data, self.on_error, self.factory.pacer
        self.factory.active += 1
        try:
            while not self.stopping and (keep_going is None or keep_going(vu)):
                try:  # run_iteration inlined from _iterate: this is the hot loop
                    done = await run_iteration(vu, fn, data, on_error)
                except ScriptAbort as exc:
                    self._aborted(exc)
                    break
                except VUInterrupted:  # stuck past its deadline: this VU is abandoned
                    self.interrupted_iterations += 1
                    break
                except asyncio.CancelledError:
                    self.interrupted_iterations += 1
                    raise
                if not done:
                    self.interrupted_iterations += 1
                    break
                self.completed_iterations += 1
                if _monotonic() - pacer.beat > YIELD_AFTER:  # the loop had no turn for a while
                    await pacer.pause()
        finally:
            self.factory.active -= 1

    # -- the executors --------------------------------------------------------

    async def run(self) -> None:
        """Run the scenario to its end (after its startTime)."""
        sc = self.scenario
        if sc.start_time > 0:
            await asyncio.sleep(sc.start_time)
        self.hard_end = _monotonic() + sc.total_duration + sc.graceful_stop
        if self.factory.watchdog is not None:
            self.factory.watchdog.arm(self.hard_end)
        try:
            await getattr(self, "_" + sc.executor.replace("-", "_"))()
        finally:
            for vu in self.vus:
                vu.close()

    async def _shared_iterations(self) -> None:
        sc = self.scenario
        remaining = [sc.iterations]

        def take(_vu: VUState) -> bool:
            if remaining[0] <= 0:
                return False
            remaining[0] -= 1
            return True

        tasks = [self._loop_task(self._new_vu(), take) for _ in range(sc.vus)]
        await self._finish(tasks, sc.max_duration)
        self._drop(remaining[0])

    async def _per_vu_iterations(self) -> None:
        sc = self.scenario
        left: dict[int, int] = {}

        def take(vu: VUState) -> bool:
            n = left.setdefault(vu.id, sc.iterations)
            if n <= 0:
                return False
            left[vu.id] = n - 1
            return True

        tasks = [self._loop_task(self._new_vu(), take) for _ in range(sc.vus)]
        await self._finish(tasks, sc.max_duration)
        self._drop(sum(left.get(v.id, sc.iterations) for v in self.vus))

    async def _constant_vus(self) -> None:
        sc = self.scenario
        tasks = [self._loop_task(self._new_vu(), None) for _ in range(sc.vus)]
        await self._finish(tasks, sc.duration)

    async def _ramping_vus(self) -> None:
        sc = self.scenario
        share = sc.share  # this process runs its share of the whole test's VU count, VU by striped VU
        vus = [self._new_vu() for _ in range(sc.max_vus_needed)]
        target = [share.scale(sc.start_vus)]
        changed = asyncio.Event()
        busy_since: dict[int, float] = {}
        ramped_down_at: dict[int, float] = {}
        tasks: dict[int, asyncio.Task] = {}

        def vu_loop(index: int, vu: VUState) -> asyncio.Task:
            async def loop() -> None:
                while not self.stopping:
                    if index >= target[0]:
                        changed.clear()
                        await changed.wait()
                        continue
                    self.factory.active += 1
                    busy_since[index] = time.monotonic()
                    try:
                        done = await self._iterate(vu)
                    finally:
                        busy_since.pop(index, None)
                        self.factory.active -= 1
                    if not done:
                        break

            return asyncio.ensure_future(loop())

        start = time.monotonic()
        downs = final_ramp_downs(sc.start_vus, sc.stages)  # by the whole test's VU index
        final_deadline = {
            i: min(self.hard_end, start + downs[share.unscaled(i)] + sc.graceful_ramp_down)
            for i in range(len(vus))
            if share.unscaled(i) in downs
        }
        for i, deadline in final_deadline.items():
            self._set_deadline(vus[i], deadline)
        for i, vu in enumerate(vus):
            tasks[i] = vu_loop(i, vu)
        total = sc.total_duration
        try:
            while True:
                elapsed = time.monotonic() - start
                if elapsed >= total:
                    break
                new_target = share.scale(ramp_target(sc.start_vus, sc.stages, elapsed))
                if new_target != target[0]:
                    now = time.monotonic()
                    for i in range(new_target, target[0]):
                        ramped_down_at[i] = now
                        self._set_deadline(vus[i], min(self.hard_end, now + sc.graceful_ramp_down))
                    for i in range(target[0], new_target):
                        ramped_down_at.pop(i, None)
                        vus[i].deadline = final_deadline.get(i, self.hard_end)
                    target[0] = new_target
                    changed.set()
                now = time.monotonic()
                for i, since in list(ramped_down_at.items()):
                    if i in busy_since and now - since > sc.graceful_ramp_down:
                        tasks[i].cancel()
                        await asyncio.gather(tasks[i], return_exceptions=True)
                        tasks[i] = vu_loop(i, vus[i])
                        del ramped_down_at[i]
                    elif i not in busy_since:
                        del ramped_down_at[i]
                await asyncio.sleep(min(0.05, max(0.001, total - elapsed)))
        except asyncio.CancelledError:
            self.stopping = True
            changed.set()
            for t in tasks.values():
                t.cancel()
            await asyncio.gather(*tasks.values(), return_exceptions=True)
            raise
        self.stopping = True
        changed.set()
        await self._finish(list(tasks.values()), 0.000001)

    async def _constant_arrival_rate(self) -> None:
        sc = self.scenario
        indexes = None if sc.share.is_full else sc.share.indexes()
        times = arrival_times([Stage(sc.duration, 0)], sc.rate / sc.time_unit, constant=True, indexes=indexes)
        await self._arrivals(times, sc.duration)

    async def _ramping_arrival_rate(self) -> None:
        sc = self.scenario
        stages = [Stage(s.duration, s.target / sc.time_unit) for s in sc.stages]
        indexes = None if sc.share.is_full else sc.share.indexes()
        times = arrival_times(stages, sc.start_rate / sc.time_unit, indexes=indexes, first=1)
        await self._arrivals(times, sc.total_duration)

    async def _arrivals(self, times: Iterator[float], duration: float) -> None:
        sc = self.scenario
        free: collections.deque[VUState] = collections.deque(self._new_vu() for _ in range(sc.pre_allocated_vus))
        allocated = [sc.pre_allocated_vus]
        running: set[asyncio.Task] = set()

        async def one(vu: VUState) -> None:
            self.factory.active += 1
            try:
                await self._iterate(vu)
            finally:
                self.factory.active -= 1
                free.append(vu)

        start = time.monotonic()
        pacer = self.factory.pacer
        try:
            for at in times:
                if at >= duration or self.stopping:
                    break
                delay = start + at - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                elif _monotonic() - pacer.beat > YIELD_AFTER:
                    await pacer.pause()
                if free:
                    vu = free.popleft()
                elif allocated[0] < sc.max_vus:
                    allocated[0] += 1
                    vu = self._new_vu()
                else:
                    self._drop(1)
                    continue
                task = asyncio.ensure_future(one(vu))
                running.add(task)
                task.add_done_callback(running.discard)
            rest = duration - (time.monotonic() - start)
            if rest > 0 and not self.stopping:
                await asyncio.sleep(rest)
        except asyncio.CancelledError:
            self.stopping = True
            for t in list(running):
                t.cancel()
            await asyncio.gather(*running, return_exceptions=True)
            raise
        self.stopping = True
        pending = list(running)
        await self._finish(pending, 0.000001)


def final_ramp_downs(start: int, stages: list[Stage]) -> dict[int, float]:
    """For each VU index ramped down for good, when (seconds from the scenario start) that happens.

    Lets the watchdog apply gracefulRampDown even when a stuck VU keeps the
    executor from running: VU ``i`` is active while ``ramp_target() > i``.
    """
    downs: dict[int, float] = {}
    current, offset = start, 0.0
    for st in stages:
        a, b = current, st.target
        if b > a:
            for i in range(a, b):
                downs.pop(i, None)
        elif b < a:
            for i in range(b, a):
                downs[i] = offset + (st.duration * (a - i) / (a - b) if st.duration > 0 else 0.0)
        offset += st.duration
        current = b
    return downs


def ramp_target(start: int, stages: list[Stage], elapsed: float) -> int:
    """Active VUs at ``elapsed`` seconds: k6's steps, moving one VU at a time from each stage's start value."""
    current = start
    for st in stages:
        if elapsed < st.duration:
            frac = elapsed / st.duration if st.duration > 0 else 1.0
            return int(current + int((st.target - current) * frac))
        elapsed -= st.duration
        current = st.target
    return int(current)


def arrival_times(
    stages: list[Stage],
    start_rate: float,
    constant: bool = False,
    indexes: Iterator[int] | None = None,
    first: int = 0,
) -> Iterator[float]:
    """Start times (seconds from the scenario start) of iterations at a rate (per second) that
    moves linearly from ``start_rate`` to each stage's target; with ``constant`` the rate stays.

    The whole test's iteration ``k`` (0-based) starts when ``k + first`` iterations are due (the
    area under the rate): k6 starts constant-arrival-rate's first at 0 and ramping-arrival-rate's
    once one is due (``first=1``). ``indexes`` (increasing) picks the iterations of one
    execution segment; None runs them all.
    """
    ks = itertools.count() if indexes is None else indexes
    k = next(ks)
    offset = 0.0
    count_before = 0.0  # iterations due before the current stage's start (fractional)
    rate0 = start_rate
    for st in stages:
        rate1 = rate0 if constant else float(st.target)
        d = st.duration
        total = (rate0 + rate1) / 2.0 * d
        while True:
            need = k + first - count_before  # the area into this stage at which iteration k starts
            if need > total + 1e-9:
                break
            if rate1 == rate0:
                if rate0 <= 0:
                    break
                t = need / rate0
            else:
                slope = (rate1 - rate0) / d
                disc = rate0 * rate0 + 2 * slope * need
                if disc < 0:
                    break
                t = (-rate0 + math.sqrt(disc)) / slope
            if t > d:
                break
            yield offset + t
            k = next(ks)
        count_before += total
        offset += d
        rate0 = rate1
