"""The queue of batches waiting to be sent: bounded in memory, spilled to a file beyond that.

Nothing is ever dropped. A batch that does not fit in ``memory_limit`` is
appended to a spool file of plain line protocol and read back when its turn
comes; the file is truncated whenever no spilled batch is left. At the end,
:meth:`Pending.dump` writes everything still waiting into one file that can
be replayed with ``curl --data-binary @file``.
"""

from __future__ import annotations

import collections
import os
import threading
import time
from typing import Iterable

from .lineproto import Batch

__all__ = ["Pending"]


class _Spilled:
    """A batch whose body lives in the spool file."""

    __slots__ = ("offset", "length", "points", "attempts")

    def __init__(self, offset: int, length: int, points: int, attempts: int) -> None:
        self.offset = offset
        self.length = length
        self.points = points
        self.attempts = attempts


class Pending:
    """A thread-safe FIFO of :class:`Batch` with a memory bound and a disk overflow."""

    def __init__(self, memory_limit: int, spool_file: str) -> None:
        self.memory_limit = memory_limit
        self.spool_file = spool_file
        """Path of the overflow file (created on first spill)."""
        self._queue: collections.deque[Batch | _Spilled] = collections.deque()
        self._cond = threading.Condition()
        self._fd: int | None = None
        self._end = 0
        self._spilled = 0
        self.points = 0
        """Points waiting (memory and disk)."""
        self.memory_bytes = 0
        self.disk_bytes = 0
        self.spilled_total = 0
        """Points ever written to the spool file."""
        self.spill_error: str | None = None
        self.outstanding = 0
        """Batches handed out by :meth:`get` and not yet marked :meth:`done`."""

    def put(self, batch: Batch, front: bool = False) -> None:
        """Queue ``batch`` (at the head when ``front``: a retry goes before newer data)."""
        with self._cond:
            item: Batch | _Spilled = batch
            if not front and self.memory_bytes + len(batch.body) > self.memory_limit:
                item = self._spill(batch)
            if isinstance(item, Batch):
                self.memory_bytes += len(batch.body)
            if front:
                self._queue.appendleft(item)
            else:
                self._queue.append(item)
            self.points += batch.points
            self._cond.notify()

    def _spill(self, batch: Batch) -> Batch | _Spilled:
        try:
            if self._fd is None:
                self._fd = os.open(self.spool_file, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
            os.pwrite(self._fd, batch.body, self._end)
        except OSError as exc:  # keep it in memory rather than lose it
            self.spill_error = f"{self.spool_file}: {exc.strerror or exc}"
            return batch
        item = _Spilled(self._end, len(batch.body), batch.points, batch.attempts)
        self._end += len(batch.body)
        self._spilled += 1
        self.disk_bytes += item.length
        self.spilled_total += batch.points
        return item

    def _load(self, item: _Spilled) -> Batch:
        assert self._fd is not None
        body = os.pread(self._fd, item.length, item.offset)
        self._spilled -= 1
        self.disk_bytes -= item.length
        if self._spilled == 0:
            os.ftruncate(self._fd, 0)
            self._end = 0
        return Batch(body, item.points, item.attempts)

    def get(self, timeout: float) -> Batch | None:
        """The next batch, waiting up to ``timeout`` seconds; None if there is none."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not self._queue:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._cond.wait(left)
            item = self._queue.popleft()
            batch = self._load(item) if isinstance(item, _Spilled) else item
            if isinstance(item, Batch):
                self.memory_bytes -= len(batch.body)
            self.points -= batch.points
            self.outstanding += 1
            return batch

    def done(self) -> None:
        """Mark a batch from :meth:`get` as handled (sent, rejected, or put back first)."""
        with self._cond:
            self.outstanding -= 1
            self._cond.notify_all()

    def idle(self) -> bool:
        """True when nothing is queued and nothing handed out is still being handled."""
        with self._cond:
            return not self._queue and self.outstanding == 0

    def wait_idle(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for :meth:`idle`; return whether it is."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._queue or self.outstanding:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.1))
            return True

    def __len__(self) -> int:
        return len(self._queue)

    def dump(self, path: str, extra: Iterable[Batch] = ()) -> tuple[int, int]:
        """Write every waiting batch, then ``extra``, to ``path``; empty the queue; return (points, bytes)."""
        points = size = 0
        with self._cond, open(path, "wb") as out:
            while self._queue:
                item = self._queue.popleft()
                batch = self._load(item) if isinstance(item, _Spilled) else item
                out.write(batch.body)
                points += batch.points
                size += len(batch.body)
            for batch in extra:
                out.write(batch.body)
                points += batch.points
                size += len(batch.body)
            self.points = self.memory_bytes = 0
        return points, size

    def close(self) -> None:
        """Remove the spool file (call once nothing spilled is left)."""
        with self._cond:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
                try:
                    os.unlink(self.spool_file)
                except OSError:
                    pass
