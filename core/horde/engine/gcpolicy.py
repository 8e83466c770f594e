"""Garbage collection while VUs run: the objects made before the run are not scanned again.

A request makes a few short-lived objects and no reference cycles, yet
CPython's default policy scans the young generation every 700 allocations and
the older ones, which hold every module, the script and the metric registry,
every ten young scans. While VUs run, :func:`run_gc_policy` freezes what exists
(the permanent generation is never scanned) and scans the young generation
every :data:`YOUNG_THRESHOLD` allocations; cycles are still collected.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

__all__ = ["run_gc_policy", "YOUNG_THRESHOLD"]

YOUNG_THRESHOLD = 50_000
"""Allocations (minus deallocations) of tracked objects between two scans of the young generation."""


@contextlib.contextmanager
def run_gc_policy() -> Iterator[None]:
    """Freeze the objects that exist now and scan the young generation less often, until the block ends."""
    before = gc.get_threshold()
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, before[1], before[2])
    try:
        yield
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()
