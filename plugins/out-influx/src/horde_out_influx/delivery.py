"""Delivery that loses nothing: writer threads, retries with backoff, 413 splitting, accounting.

``concurrent_writes`` threads take batches from :class:`Pending` and POST
them. The outcome of each request decides what happens to its batch:

- 2xx: written.
- 413 (too large), 400 or 422 (a line the server refused): the batch is split in
  two and both halves go back to the head of the queue; a single line the
  server refuses is *rejected* and kept for the undelivered file. Writes are
  idempotent in InfluxDB (same series and time overwrite), so re-sending the
  good half of a batch stores nothing twice.
- anything else (network errors, 5xx, 401/403/404, 429): the batch goes back
  to the head of the queue and writing pauses with exponential backoff and
  jitter; while failing only one thread probes the server. Warnings repeat
  as errors stack up (1, 2, 4, 8… in a row, or every 30 s).

:meth:`Delivery.close` waits up to ``stop_timeout`` for the queue to drain,
then aborts what is in flight and hands back everything not confirmed.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from typing import Callable

from .client import Client, Response
from .lineproto import Batch, split_body
from .pending import Pending

__all__ = ["Delivery", "human_bytes"]


SPLIT_STATUSES = frozenset({400, 413, 422})
"""Answers that refuse the content of a batch: split it to isolate what the server will not take."""


class _Aborted(Exception):
    pass


def human_bytes(n: float) -> str:
    """``1536`` → ``1.5 KB``."""
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"  # pragma: no cover


class Delivery:
    """Sends the batches of a :class:`Pending` queue with ``threads`` writer threads."""

    WARN_EVERY = 30.0

    def __init__(self, pending: Pending, new_client: Callable[[], Client], *, threads: int, target: str,
                 logger: logging.Logger, retry_interval: float = 0.5, max_retry_interval: float = 10.0) -> None:
        self.pending = pending
        self.target = target
        self.log = logger
        self.retry_interval = retry_interval
        self.max_retry_interval = max_retry_interval
        self._clients = [new_client() for _ in range(threads)]
        self._threads = [threading.Thread(target=self._run, args=(c,), name=f"horde-influxdb-writer-{i}", daemon=True)
                         for i, c in enumerate(self._clients)]
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._abort = threading.Event()
        self._in_flight: dict[int, Batch] = {}
        # failure state, shared by every thread
        self._failures = 0
        self._next_attempt = 0.0
        self._probing = False
        self._last_warning = 0.0
        self.last_error = ""
        # accounting (points)
        self.written = 0
        self.retried = 0
        """Points whose first write failed and that were sent again (each counted once)."""
        self.requests = 0
        self.failed_requests = 0
        self.splits = 0
        self.rejected = Pending(1 << 20, pending.spool_file + ".rejected")
        """Lines the server refused (400/413/422 for a single line): kept for the undelivered file."""
        self.rejected_points = 0

    def start(self) -> None:
        for t in self._threads:
            t.start()

    @property
    def failing(self) -> bool:
        """True while the last request failed."""
        return self._failures > 0

    # ---- writer thread ------------------------------------------------------------------------------------

    def _run(self, client: Client) -> None:
        me = threading.get_ident()
        try:
            while not self._abort.is_set():
                batch = self.pending.get(0.1)
                if batch is None:
                    if self._closing.is_set() and self.pending.idle():
                        return
                    continue
                with self._lock:
                    self._in_flight[me] = batch
                try:
                    try:
                        probe = self._await_turn()
                    except _Aborted:
                        self._requeue(me, batch)
                        return
                    try:
                        resp = client.write(batch.body)
                    finally:
                        if probe:
                            with self._lock:
                                self._probing = False
                    self._handle(me, batch, resp)
                finally:
                    self.pending.done()
        finally:
            client.close()

    def _await_turn(self) -> bool:
        """Wait while the server is in backoff; True when this thread is the one probing it."""
        while True:
            with self._lock:
                if self._failures == 0:
                    return False
                now = time.monotonic()
                if not self._probing and now >= self._next_attempt:
                    self._probing = True
                    return True
                wait = max(self._next_attempt - now, 0.05)
            if self._abort.wait(wait):
                raise _Aborted()

    def _requeue(self, me: int, batch: Batch) -> None:
        self.pending.put(batch, front=True)
        with self._lock:
            self._in_flight.pop(me, None)

    def _handle(self, me: int, batch: Batch, resp: Response) -> None:
        if self._abort.is_set() and resp.status is None:  # cut off at stop: not a server failure
            self._requeue(me, batch)
            return
        with self._lock:
            self.requests += 1
            if not resp.ok and batch.attempts == 0:
                self.retried += batch.points  # each point counts once, however often it is re-sent
            if resp.ok:
                self._in_flight.pop(me, None)
                self.written += batch.points
                recovered, self._failures = self._failures, 0
            else:
                self.failed_requests += 1
                self.last_error = resp.error
        if resp.ok:
            if recovered:
                self.log.warning("influxdb: writing to %s again after %d failed attempt%s; %d points still waiting",
                                 self.target, recovered, "s" if recovered != 1 else "", self.pending.points)
            return
        if resp.status in SPLIT_STATUSES:
            self._split_or_reject(me, batch, resp)
            return
        batch.attempts += 1
        with self._lock:
            self._failures += 1
            n = self._failures
            delay = min(self.max_retry_interval, self.retry_interval * (2 ** min(n - 1, 30)))
            delay = delay / 2 + random.uniform(0, delay / 2)
            if resp.retry_after is not None:
                delay = max(delay, min(resp.retry_after, self.max_retry_interval))
            self._next_attempt = time.monotonic() + delay
            warn = n & (n - 1) == 0 or time.monotonic() - self._last_warning >= self.WARN_EVERY
            if warn:
                self._last_warning = time.monotonic()
        self._requeue(me, batch)
        if warn:
            self.log.warning("influxdb: cannot write to %s: %s (%d error%s in a row; %s); retrying in %.1fs",
                             self.target, resp.error, n, "s" if n != 1 else "", self.waiting_text(), delay)

    def _split_or_reject(self, me: int, batch: Batch, resp: Response) -> None:
        if batch.points > 1:
            first, second = split_body(batch)
            first.attempts = second.attempts = batch.attempts + 1
            self.pending.put(second, front=True)
            self.pending.put(first, front=True)
            with self._lock:
                self._in_flight.pop(me, None)
                self.splits += 1
                n = self.splits
            if n & (n - 1) == 0:
                self.log.info("influxdb: %s refused a batch of %d points (%s); splitting it (%d split%s so far)",
                              self.target, batch.points, resp.error, n, "s" if n != 1 else "")
            return
        self.rejected.put(batch)
        with self._lock:
            self._in_flight.pop(me, None)
            self.rejected_points += batch.points
            n = self.rejected_points
        if n <= 3 or n & (n - 1) == 0:
            self.log.error("influxdb: %s rejected a point (%s; %d rejected so far, kept for the undelivered file): %s",
                           self.target, resp.error, n, batch.body[:200].decode("utf-8", "replace").strip())

    def waiting_text(self) -> str:
        """``12345 points waiting (3.2 MB in memory, 10.0 MB spilled to /tmp/…)``."""
        p = self.pending
        with self._lock:
            in_flight = sum(b.points for b in self._in_flight.values())
        text = f"{p.points + in_flight} points waiting ({human_bytes(p.memory_bytes)} in memory"
        if p.disk_bytes:
            text += f", {human_bytes(p.disk_bytes)} spilled to {p.spool_file}"
        if p.spill_error:
            text += f"; spilling failed: {p.spill_error}"
        return text + ")"

    # ---- stop ---------------------------------------------------------------------------------------------

    def close(self, timeout: float) -> list[Batch]:
        """Wait up to ``timeout`` s for every batch to be sent, then stop; return the batches in flight at the end.

        Batches still queued stay in :attr:`pending`.
        """
        self._closing.set()
        self.pending.wait_idle(timeout)
        self._abort.set()
        for c in self._clients:
            c.abort()
        for t in self._threads:
            t.join(timeout=5.0)
        with self._lock:
            stuck = list(self._in_flight.values())
            self._in_flight.clear()
        return stuck
