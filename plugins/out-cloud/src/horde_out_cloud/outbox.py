"""The outbox: batches waiting to be sent, bounded in memory, spilled to disk beyond that.

Nothing is dropped while the service is unreachable: a batch leaves the
outbox only once the service acknowledged it. Each batch keeps its
idempotency key, so a retry of a push that did arrive is dropped by the
service rather than counted twice.
"""

from __future__ import annotations

import collections
import os
import tempfile
import threading
from pathlib import Path

from .batch import Batch

__all__ = ["Outbox"]


class Outbox:
    """FIFO of :class:`Batch` with at most ``max_memory`` bytes in memory; the rest lives in files."""

    def __init__(self, max_memory: int, spool_dir: str | None = None) -> None:
        self.max_memory = max_memory
        self._spool_parent = spool_dir
        self._dir: Path | None = None
        self._mem: collections.deque[Batch] = collections.deque()
        self._disk: collections.deque[tuple[Path, str, int]] = collections.deque()
        self._mem_bytes = 0
        self._seq = 0
        self._lock = threading.Lock()
        self.spilled_total = 0
        """Batches ever written to disk."""

    @property
    def spool_dir(self) -> Path | None:
        """Where spilled batches are kept (created on the first spill)."""
        return self._dir

    def put(self, batch: Batch) -> None:
        with self._lock:
            if self._mem_bytes + len(batch.body) <= self.max_memory or not self._mem:
                self._mem.append(batch)
                self._mem_bytes += len(batch.body)
                return
            if self._dir is None:
                if self._spool_parent:
                    os.makedirs(self._spool_parent, exist_ok=True)
                self._dir = Path(tempfile.mkdtemp(prefix="horde-cloud-spool-", dir=self._spool_parent))
            self._seq += 1
            path = self._dir / f"{self._seq:08d}-{batch.key}-{batch.samples}.snappy"
            path.write_bytes(batch.body)
            self._disk.append((path, batch.key, batch.samples))
            self.spilled_total += 1

    def peek(self) -> Batch | None:
        """The oldest waiting batch (memory first, then disk), not removed."""
        with self._lock:
            if self._mem:
                return self._mem[0]
            if self._disk:
                path, key, samples = self._disk[0]
                return Batch(path.read_bytes(), key, samples)
            return None

    def done(self, batch: Batch) -> None:
        """Remove ``batch`` (the one :meth:`peek` returned) after the service took it."""
        with self._lock:
            if self._mem and self._mem[0].key == batch.key:
                self._mem_bytes -= len(self._mem.popleft().body)
            elif self._disk and self._disk[0][1] == batch.key:
                path = self._disk.popleft()[0]
                path.unlink(missing_ok=True)
            else:  # pragma: no cover - peek/done are used in pairs from one thread
                raise RuntimeError("outbox.done() for a batch that is not the oldest")
            # refill memory from disk while there is room, to keep reads cheap
            while self._disk and not self._mem:
                path, key, samples = self._disk.popleft()
                body = path.read_bytes()
                path.unlink(missing_ok=True)
                self._mem.append(Batch(body, key, samples))
                self._mem_bytes += len(body)
            if self._dir is not None and not self._disk:
                try:
                    self._dir.rmdir()
                except OSError:
                    pass
                self._dir = None

    def stats(self) -> tuple[int, int, int]:
        """(batches waiting, samples waiting, batches on disk)."""
        with self._lock:
            samples = sum(b.samples for b in self._mem) + sum(s for _, _, s in self._disk)
            return len(self._mem) + len(self._disk), samples, len(self._disk)

    def __len__(self) -> int:
        return len(self._mem) + len(self._disk)
