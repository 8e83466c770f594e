"""The memory budget that holds back VUs falls again once an output releases what it buffered."""

from __future__ import annotations

import gc

from horde.engine.pacing import MEMORY_BUDGET, memory_growth


def test_growth_counts_held_memory_and_falls_when_it_is_released_though_fragmented() -> None:
    growth = memory_growth(period=0)
    held = [(float(i), i) for i in range(1_200_000)]  # ~120 MB of small objects, as a buffering output holds
    assert growth() > MEMORY_BUDGET
    survivors = held[::50]  # one object in fifty stays: the freed memory is fragmented, RSS barely shrinks
    del held
    gc.collect()
    assert growth() < MEMORY_BUDGET // 4
    assert len(survivors) == 24_000


def test_growth_is_measured_at_most_once_per_period() -> None:
    growth = memory_growth(period=3600)
    first = growth()
    held = [(float(i), i) for i in range(1_200_000)]
    assert growth() == first  # the last measure, not a new one
    assert len(held) == 1_200_000
