"""The coordinator's side of ``--workers N``: start worker processes, merge their samples into one run."""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import pickle
import threading
from typing import Any, Callable

from .pump import Pump
from ..metrics.wire import Decoder
from .worker import WorkerSpec, worker_main

__all__ = ["WorkerPool"]

_log = logging.getLogger("horde.run")

STOP_GRACE = 60.0
"""Seconds a stopped worker gets to interrupt its VUs and send its last samples before it is killed."""


class _Worker:
    def __init__(self, spec: WorkerSpec, decoder: Decoder) -> None:
        self.spec = spec
        self.decoder = decoder
        self.stats: dict[str, Any] = {"active": 0, "initialized": 0, "completed": 0}
        self.ready: asyncio.Future | None = None
        self.done: asyncio.Future | None = None
        self.process: Any = None
        self.conn: Any = None

    def send(self, msg: tuple) -> None:
        try:
            self.conn.send_bytes(pickle.dumps(msg))
        except (OSError, ValueError):
            pass  # the worker is gone; its reader reports it


class WorkerPool:
    """Runs one :class:`WorkerSpec` per process; every batch goes straight to the pump's delivery thread.

    ``on_abort(message)`` is called when a worker's script called ``abort()``
    or a worker died; ``on_stats(stats)`` with each batch's check results.
    """

    def __init__(self, specs: list[WorkerSpec], registry: Any, pump: Pump,
                 on_abort: Callable[[str, bool], None], on_stats: Callable[[dict], None]) -> None:
        self.workers = [_Worker(s, Decoder(registry)) for s in specs]
        self.pump = pump
        self.on_abort = on_abort
        self.on_stats = on_stats

    @property
    def active(self) -> int:
        return sum(w.stats["active"] for w in self.workers)

    @property
    def initialized(self) -> int:
        return sum(w.stats["initialized"] for w in self.workers)

    @property
    def completed(self) -> int:
        return sum(w.stats["completed"] for w in self.workers)

    def start(self) -> None:
        """Start every worker process (they load the script and wait for ``go``)."""
        loop = asyncio.get_running_loop()
        ctx = multiprocessing.get_context("spawn")
        for w in self.workers:
            w.ready, w.done = loop.create_future(), loop.create_future()
            parent, child = ctx.Pipe()
            w.conn = parent
            w.process = ctx.Process(target=worker_main, args=(child, w.spec), name=f"horde-worker-{w.spec.index}",
                                    daemon=True)
            w.process.start()
            child.close()
            threading.Thread(target=self._read, args=(w, loop), name=f"horde-reader-{w.spec.index}", daemon=True).start()

    def _read(self, w: _Worker, loop: asyncio.AbstractEventLoop) -> None:
        deliver = self.pump.deliver
        finished = False
        try:
            while True:
                msg = pickle.loads(w.conn.recv_bytes())
                kind = msg[0]
                if kind == "b":
                    deliver(w.decoder.decode(msg[1], msg[2]))
                    self._stats(w, msg[3])
                elif kind == "ready":
                    loop.call_soon_threadsafe(_resolve, w.ready)
                elif kind == "abort":
                    loop.call_soon_threadsafe(self.on_abort, msg[1], True)
                elif kind == "done":
                    self._stats(w, msg[1])
                    finished = True
                    break
        except (EOFError, OSError):
            pass
        except Exception:  # a bug in decoding must not hang the run
            _log.exception("reading from worker %d failed", w.spec.index)
        if not finished:
            loop.call_soon_threadsafe(self.on_abort, f"worker {w.spec.index} exited unexpectedly", False)
        loop.call_soon_threadsafe(_resolve, w.ready)
        loop.call_soon_threadsafe(_resolve, w.done)

    def _stats(self, w: _Worker, stats: dict | None) -> None:
        if stats:
            w.stats = stats
            self.on_stats(stats)

    async def wait_ready(self) -> None:
        """Return once every worker has loaded the script and built its VUs."""
        await asyncio.gather(*(w.ready for w in self.workers))

    def go(self) -> None:
        """Start the scenarios in every worker at once."""
        for w in self.workers:
            w.send(("go",))

    async def wait_done(self) -> None:
        """Wait for every worker to finish; if cancelled, stop them first and still wait for their samples."""
        try:
            await asyncio.gather(*(asyncio.shield(w.done) for w in self.workers))
        except asyncio.CancelledError:
            await self.stop()
            raise

    async def stop(self) -> None:
        """Ask every worker to stop now; kill those that have not finished within :data:`STOP_GRACE`."""
        for w in self.workers:
            w.send(("stop",))
        _, pending = await asyncio.wait([w.done for w in self.workers], timeout=STOP_GRACE)
        for w in self.workers:
            if w.done in pending and w.process.is_alive():
                w.process.kill()
        if pending:
            await asyncio.wait(pending, timeout=5)

    def kill(self) -> None:
        """Kill every worker process now (a second Ctrl-C)."""
        for w in self.workers:
            if w.process is not None and w.process.is_alive():
                w.process.kill()

    def close(self) -> None:
        """Reap the processes."""
        for w in self.workers:
            if w.process is not None:
                w.process.join(timeout=5)
                if w.process.is_alive():
                    w.process.kill()
            if w.conn is not None:
                w.conn.close()


def _resolve(fut: asyncio.Future | None) -> None:
    if fut is not None and not fut.done():
        fut.set_result(None)
