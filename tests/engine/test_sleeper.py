"""horde.sleep: one loop timer for all sleeps of a loop, light sleeping VUs, asyncio.sleep's semantics."""

from __future__ import annotations

import asyncio
import gc
import time
import tracemalloc

import pytest
import uvloop
from horde import sleep
from horde.sleeper import RESOLUTION, sleep_future

LOOPS = {"asyncio": asyncio.new_event_loop, "uvloop": uvloop.new_event_loop}


def _run(new_loop, coro_fn):
    loop = new_loop()
    try:
        return loop.run_until_complete(asyncio.wait_for(coro_fn(), 30))
    finally:
        loop.close()


@pytest.mark.parametrize("loop_name", sorted(LOOPS))
def test_sleeps_wake_in_time_order_and_not_early(loop_name):
    woke: list[tuple[float, float]] = []

    async def one(delay: float) -> None:
        start = time.monotonic()
        await sleep(delay)
        woke.append((delay, time.monotonic() - start))

    async def go():
        await asyncio.gather(*(one(d) for d in (0.12, 0.03, 0.09, 0.06, 0.03)))

    _run(LOOPS[loop_name], go)
    assert [d for d, _ in woke] == [0.03, 0.03, 0.06, 0.09, 0.12]
    for delay, slept in woke:
        assert slept >= delay - RESOLUTION - 1e-3  # never earlier than the loop clock's step


def test_a_thousand_sleeps_keep_one_loop_timer():
    async def go():
        loop = asyncio.get_running_loop()
        before = len(loop._scheduled)  # type: ignore[attr-defined]  # the default loop's timer heap
        futures = [sleep_future(1 + i / 1000) for i in range(1000)]
        timers = len(loop._scheduled) - before  # type: ignore[attr-defined]
        for f in futures:
            f.cancel()
        return timers

    assert _run(asyncio.new_event_loop, go) == 1  # asyncio.sleep would schedule 1000


@pytest.mark.parametrize("loop_name", sorted(LOOPS))
def test_a_cancelled_sleep_does_not_disturb_the_others(loop_name):
    async def go():
        first = asyncio.ensure_future(sleep(0.05))
        second = asyncio.ensure_future(sleep(0.1))
        await asyncio.sleep(0)
        first.cancel()
        await second
        with pytest.raises(asyncio.CancelledError):
            await first
        await sleep(0.01)  # the loop's timer is re-armed after it emptied
        return True

    assert _run(LOOPS[loop_name], go)


def test_zero_negative_and_duration_strings():
    async def go():
        start = time.monotonic()
        await sleep(0)
        await sleep(-1)
        await sleep("20ms")
        return time.monotonic() - start

    assert _run(asyncio.new_event_loop, go) >= 0.02 - RESOLUTION - 1e-3


def test_sleeps_on_two_loops_in_two_threads_wake_on_their_own_loop():
    import threading

    results: dict[str, bool] = {}

    def runner(name: str) -> None:
        async def go():
            for _ in range(20):
                await sleep(0.002)
            return True

        results[name] = _run(asyncio.new_event_loop, go)

    threads = [threading.Thread(target=runner, args=(n,)) for n in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert results == {"a": True, "b": True}


async def _held_per_sleeper(sleeper) -> float:
    """Bytes held per coroutine awaiting ``sleeper(60)``, 2,000 of them on the running loop."""

    async def vu():
        await sleeper(60)

    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    tasks = [asyncio.ensure_future(vu()) for _ in range(2000)]
    await asyncio.sleep(0)
    held = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return held / 2000


async def _coroutine_sleep(seconds: float) -> None:
    """What horde.sleep was: a coroutine awaiting asyncio.sleep."""
    await asyncio.sleep(seconds)


@pytest.mark.parametrize("loop_name", sorted(LOOPS))
def test_a_sleeping_coroutine_holds_less_than_with_asyncio_sleep(loop_name):
    """The sleep itself is a future and a heap entry; asyncio.sleep adds a frame and a loop timer per sleep."""

    async def go():
        await asyncio.sleep(0)
        sleep_future(60).cancel()  # the loop's sleeper exists before measuring
        return (
            await _held_per_sleeper(sleep),
            await _held_per_sleeper(asyncio.sleep),
            await _held_per_sleeper(_coroutine_sleep),
        )

    ours, bare, wrapped = _run(LOOPS[loop_name], go)
    assert ours < bare, (ours, bare)
    assert wrapped - ours > 300, (ours, wrapped)  # ~500 bytes on asyncio, ~800 on uvloop


def test_a_closed_loop_with_a_pending_sleep_is_let_go():
    import weakref

    closed = []
    for _ in range(3):
        loop = asyncio.new_event_loop()

        async def pending():
            sleep_future(60).cancel()  # still in the sleeper's heap when the loop closes

        loop.run_until_complete(pending())
        loop.close()
        closed.append(weakref.ref(loop))
        del loop

    async def nap():
        await sleep(0.001)

    _run(asyncio.new_event_loop, nap)  # a new loop's first sleep lets the closed ones go
    gc.collect()
    assert [ref() for ref in closed] == [None, None, None]


def test_sleep_is_awaitable_by_asyncio_helpers():
    async def go():
        await asyncio.wait_for(sleep(0.01), 5)
        await asyncio.gather(sleep(0.01), asyncio.ensure_future(sleep(0.01)))
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(sleep(10), 0.01)
        return True

    assert _run(uvloop.new_event_loop, go)
