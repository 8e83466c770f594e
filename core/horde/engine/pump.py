"""The metric pump: every 50 ms, hand what VUs emitted to the metric store and every output."""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable
from typing import Any

from ..metrics import MetricStore
from ..metrics.wire import Columns
from ..output.manager import Manager
from .pacing import PUMP_PERIOD

__all__ = ["Pump", "PUMP_PERIOD", "CLOSE_TIMEOUT"]

BATCH_WEIGHT = 10_000
"""A queued batch counts as this many containers in :meth:`Pump.backlog`."""

CLOSE_TIMEOUT = 30.0
"""Seconds the end of a run waits for the pump to hand its backlog to the store and the outputs' queues."""


class Pump:
    """Collects containers on the event loop, delivers them in batches on its own thread.

    ``emit`` is a bound ``list.append``: the hot path costs one C call. The
    loop's tick task moves the list to a queue; the pump thread feeds the
    store (thresholds, summary) and then queues the batch for every output
    (each output takes it on its own thread), so no output can slow the
    VUs or another output. ``grouped`` (the full summary's ``add``) takes
    every batch's containers too.
    """

    def __init__(
        self, manager: Manager, store: MetricStore, grouped: Callable[[list[Any]], None] | None = None
    ) -> None:
        self.manager = manager
        self.store = store
        self.grouped = grouped
        self._pending: list[Any] = []
        self.emit = self._pending.append
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._deliver, name="horde-pump", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def flush(self) -> None:
        """Queue what was emitted since the last flush (an empty batch too, as k6 does)."""
        pending = self._pending
        batch = pending[:]
        pending.clear()
        self._queue.put(batch)

    def backlog(self) -> int:
        """How far the pump is behind: containers not yet queued plus queued batches (:data:`BATCH_WEIGHT` each)."""
        return len(self._pending) + BATCH_WEIGHT * self._queue.qsize()

    def deliver(self, batch: list[Any] | Columns) -> None:
        """Queue a batch made elsewhere (a worker process's: containers or :class:`Columns`), from any thread."""
        self._queue.put(batch)

    async def tick(self) -> None:
        """Flush every :data:`PUMP_PERIOD` until cancelled."""
        while True:
            await asyncio.sleep(PUMP_PERIOD)
            self.flush()

    def _deliver(self) -> None:
        store, manager, grouped, get = self.store, self.manager, self.grouped, self._queue.get
        while True:
            batch = get()
            if batch is None:
                return
            if type(batch) is Columns:  # a worker's: its aggregates are merged, containers only if wanted
                batch.add_to(store)
                if grouped is None and not manager.wants_samples:
                    continue
                batch = batch.containers()
            elif batch:
                store.add(batch)
            if grouped is not None and batch:
                grouped(batch)
            manager.add_samples(batch)

    def close(self, timeout: float = CLOSE_TIMEOUT) -> bool:
        """Deliver the last batch and wait at most ``timeout`` s for the pump thread; False if it is still busy."""
        self.flush()
        self._queue.put(None)
        if self._thread.is_alive():
            self._thread.join(timeout)
        return not self._thread.is_alive()
