"""The coordinator's side of ``--workers N``: start worker processes, merge their samples into one run."""

from __future__ import annotations

import asyncio
import logging
import pickle
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from ..metrics.wire import Decoder
from .pump import Pump
from .worker import WorkerSpec

__all__ = ["VUS_PER_WORKER", "WorkerPool", "auto_workers"]

VUS_PER_WORKER = 50
"""VUs that keep one worker's event loop busy: with fewer, a loop waits on the target between responses
and handles fewer per wake-up (a loop of 10 VUs does ~0.8x the requests per CPU-second of one of 40),
so splitting fewer VUs costs more than it gains."""


def auto_workers(vus: int, cpus: int) -> int:
    """The default worker count: one process per :data:`VUS_PER_WORKER` VUs, at most one per CPU
    (1: the run stays in this process)."""
    return max(1, min(cpus, vus // VUS_PER_WORKER))


_log = logging.getLogger("horde.run")

STOP_GRACE = 3.0
"""Seconds a stopped worker gets to interrupt its VUs and send its last samples before it is terminated."""

TERMINATE_GRACE = 1.0
"""Seconds a terminated (SIGTERM) worker gets before it is killed."""

_CHILD = (
    "import signal; signal.signal(signal.SIGINT, signal.SIG_IGN); "
    "from horde.engine.worker import child_main; child_main({fd})"
)
"""A worker's ``python -c`` program: Ctrl-C is the coordinator's to handle from the very first instruction.

A plain interpreter, not multiprocessing's ``spawn``: that would re-import the
coordinator's ``__main__`` (the whole CLI) in every worker and start a resource
tracker process, some 0.3 CPU-s per worker that a short test pays in full.
"""

BACKLOG_WAIT = 0.01
"""Seconds a reader waits between two looks at a pipeline that is behind (backpressure on the workers)."""


class _Worker:
    def __init__(self, spec: WorkerSpec, decoder: Decoder) -> None:
        self.spec = spec
        self.decoder = decoder
        self.stats: dict[str, Any] = {"active": 0, "initialized": 0, "completed": 0}
        self.ready: asyncio.Future | None = None
        self.done: asyncio.Future | None = None
        self.process: subprocess.Popen | None = None
        self.conn: Any = None
        self.paced = False
        """Whether this worker was last told that the outputs are behind (``("pace", flag)``)."""
        self._send_lock = threading.Lock()
        self.ending = False
        """True once the coordinator ends this worker on purpose (its exit then aborts nothing)."""

    def send(self, msg: tuple) -> None:
        try:
            with self._send_lock:  # the loop and this worker's reader thread both send
                self.conn.send_bytes(pickle.dumps(msg))
        except (OSError, ValueError):
            pass  # the worker is gone; its reader reports it


class WorkerPool:
    """Runs one :class:`WorkerSpec` per process; every batch goes straight to the pump's delivery thread.

    ``on_abort(message)`` is called when a worker's script called ``abort()``
    or a worker died; ``on_stats(stats)`` with each batch's check results.
    """

    def __init__(
        self,
        specs: list[WorkerSpec],
        registry: Any,
        pump: Pump,
        on_abort: Callable[[str, bool], None],
        on_stats: Callable[[dict], None],
        backlog: Callable[[], bool] | None = None,
        outputs_behind: Callable[[], bool] | None = None,
    ) -> None:
        self.workers = [_Worker(s, Decoder(registry)) for s in specs]
        self.pump = pump
        self.on_abort = on_abort
        self.on_stats = on_stats
        self.behind = backlog
        """True while the metric pipeline is behind: readers then stop reading, and workers wait in send."""
        self.outputs_behind = outputs_behind
        """True while the outputs' queues are past their limit: workers then pace VUs that do not await."""
        self.interrupted = 0
        """Iterations interrupted in the workers, plus the active VUs of workers ended by force."""
        self.ended: list[int] = []
        """Indexes of the workers that had to be terminated or killed."""

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
        flags = subprocess._args_from_interpreter_flags()  # type: ignore[attr-defined]  # -B, -X ...: as multiprocessing
        for w in self.workers:
            w.ready, w.done = loop.create_future(), loop.create_future()
            parent, child = socket.socketpair()
            w.conn = Connection(parent.detach())
            fd = child.fileno()
            w.process = subprocess.Popen(
                [sys.executable, *flags, "-c", _CHILD.format(fd=fd)], stdin=subprocess.DEVNULL, pass_fds=(fd,)
            )
            child.close()
            spec = pickle.dumps(w.spec, protocol=pickle.HIGHEST_PROTOCOL)
            w.conn.send_bytes(pickle.dumps((sys.path, spec), protocol=pickle.HIGHEST_PROTOCOL))
            threading.Thread(
                target=self._read, args=(w, loop), name=f"horde-reader-{w.spec.index}", daemon=True
            ).start()

    def _read(self, w: _Worker, loop: asyncio.AbstractEventLoop) -> None:
        deliver, behind, outputs_behind = self.pump.deliver, self.behind, self.outputs_behind
        finished = False
        try:
            while True:
                if behind is not None:
                    while behind():
                        time.sleep(BACKLOG_WAIT)
                msg = pickle.loads(w.conn.recv_bytes())
                kind = msg[0]
                if kind == "c":
                    deliver(w.decoder.decode_columns(msg[1], msg[2], msg[3], msg[5]))
                    self._stats(w, msg[4])
                    if outputs_behind is not None and outputs_behind() != w.paced:
                        w.paced = not w.paced
                        w.send(("pace", w.paced))
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
        if not finished and not w.ending:
            loop.call_soon_threadsafe(self.on_abort, f"worker {w.spec.index} exited unexpectedly", False)
        loop.call_soon_threadsafe(_resolve, w.ready)
        loop.call_soon_threadsafe(_resolve, w.done)

    def _stats(self, w: _Worker, stats: dict | None) -> None:
        if stats:
            w.stats = stats
            self.interrupted += stats.get("interrupted", 0)
            self.on_stats(stats)

    async def wait_ready(self) -> None:
        """Return once every worker has loaded the script and built its VUs."""
        await asyncio.gather(*(w.ready for w in self.workers))

    def go(self, *data: Any) -> None:
        """Start the scenarios in every worker at once; ``go(data)`` gives them the setup data first."""
        for w in self.workers:
            w.send(("go", *data))

    async def wait_done(self, deadline: float | None = None) -> None:
        """Wait for every worker to finish, at most until ``deadline`` (``time.monotonic()``), then stop the rest.

        If cancelled, stop them first and still wait for their samples.
        """
        futures = [w.done for w in self.workers]
        try:
            timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
            _, pending = await asyncio.wait([asyncio.shield(f) for f in futures], timeout=timeout)
        except asyncio.CancelledError:
            await self.stop()
            raise
        if pending:
            late = [w.spec.index for w in self.workers if not w.done.done()]
            _log.warning(
                "worker(s) %s still running past the scenarios' end and gracefulStop: stopping them",
                ", ".join(map(str, late)),
            )
            await self.stop()

    async def stop(self) -> None:
        """Ask every worker to stop now; end those still running after :data:`STOP_GRACE` (terminate, then kill).

        The VUs still active in a worker ended so are counted as interrupted.
        """
        for w in self.workers:
            w.send(("stop",))
        _, pending = await asyncio.wait([w.done for w in self.workers], timeout=STOP_GRACE)
        if not pending:
            return
        late = [w for w in self.workers if w.done in pending]
        for w in late:
            w.ending = True
            if _alive(w.process):
                w.process.terminate()  # type: ignore[union-attr]
        await asyncio.wait(pending, timeout=TERMINATE_GRACE)
        for w in late:
            if _alive(w.process):
                w.process.kill()  # type: ignore[union-attr]
            active = max(1, int(w.stats.get("active", 0)))  # a worker stuck before it reported still had one
            self.interrupted += active
            self.ended.append(w.spec.index)
            _log.warning(
                "worker %d did not stop in time and was ended; its %d active VU(s) count as interrupted",
                w.spec.index,
                active,
            )
        await asyncio.wait(pending, timeout=TERMINATE_GRACE)

    def kill(self) -> None:
        """Kill every worker process now (a second Ctrl-C)."""
        for w in self.workers:
            w.ending = True
            if w.process is not None and _alive(w.process):
                w.process.kill()

    def close(self) -> None:
        """Reap the processes."""
        for w in self.workers:
            if w.process is not None:
                try:
                    w.process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    w.process.kill()
                    w.process.wait(timeout=5)
            if w.conn is not None:
                w.conn.close()


def _alive(process: subprocess.Popen | None) -> bool:
    return process is not None and process.poll() is None


def _resolve(fut: asyncio.Future | None) -> None:
    if fut is not None and not fut.done():
        fut.set_result(None)
