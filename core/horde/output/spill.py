"""SpillQueue: a thread-safe FIFO bounded in memory that spills to disk past its bound.

Items live in a deque while they fit in ``memory_limit`` (in the caller's size
units); past it they are encoded to bytes and appended to spill files. Order
is FIFO across memory and disk: once anything is on disk, new items go to disk
too until the disk part is drained, so every item in memory is older than every
item on disk. Nothing is encoded while nothing spills.

Spill files are segments of at most a few MiB to 64 MiB; a segment is deleted as
soon as it is read through, so the bytes on disk follow what is waiting, not
what ever spilled. Each record is a 12-byte header (payload length, size
units) followed by the encoded payload.
"""

from __future__ import annotations

import collections
import os
import shutil
import struct
import tempfile
import threading
import time
import weakref
from collections.abc import Callable
from typing import Generic, TypeVar

__all__ = ["SpillQueue"]

T = TypeVar("T")

_HEADER = struct.Struct("<Iq")  # payload length, size units
_READ_CHUNK = 1 << 16
_MAX_SEGMENT = 64 << 20
_MIN_SEGMENT = 64 << 10


class _Segment:
    """One spill file: records appended at ``end``, read from ``pos``."""

    __slots__ = ("path", "fd", "end", "pos", "items", "size", "buf", "buf_off")

    def __init__(self, path: str, fd: int) -> None:
        self.path = path
        self.fd = fd
        self.end = 0
        """Bytes written (the file's length)."""
        self.pos = 0
        """Offset of the next record to read."""
        self.items = 0
        self.size = 0
        self.buf = b""
        self.buf_off = 0

    def read_record(self) -> tuple[bytes, int]:
        """The record at ``pos`` as (payload, size units); advance past it. Raises OSError if unreadable."""
        start = self._fill(_HEADER.size)
        length, size = _HEADER.unpack_from(self.buf, start)
        start = self._fill(_HEADER.size + length) + _HEADER.size
        self.pos += _HEADER.size + length
        return self.buf[start : start + length], size

    def _fill(self, need: int) -> int:
        """Make ``need`` bytes from ``pos`` available in ``buf``; return where they start in it."""
        start = self.pos - self.buf_off
        if start + need > len(self.buf):
            self.buf = os.pread(self.fd, max(_READ_CHUNK, need), self.pos)
            self.buf_off = self.pos
            start = 0
            if len(self.buf) < need:
                raise OSError(f"spill file {self.path} is truncated")
        return start

    def reset(self) -> None:
        """Empty the file so that it can be written again from the start."""
        os.ftruncate(self.fd, 0)
        self.end = self.pos = self.items = self.size = 0
        self.buf = b""
        self.buf_off = 0


class _Files:
    """The spill files of one queue and its private directory; released at close or garbage collection."""

    __slots__ = ("segments", "private_dir")

    def __init__(self) -> None:
        self.segments: collections.deque[_Segment] = collections.deque()
        self.private_dir: str | None = None

    def unlink(self) -> None:
        """Remove every file name (open files stay readable) and the private directory."""
        for seg in self.segments:
            _unlink(seg.path)
        if self.private_dir is not None:
            shutil.rmtree(self.private_dir, ignore_errors=True)
            self.private_dir = None

    def release(self) -> None:
        """Remove the files and close them."""
        self.unlink()
        for seg in self.segments:
            try:
                os.close(seg.fd)
            except OSError:
                pass
        self.segments.clear()


class SpillQueue(Generic[T]):
    """A thread-safe FIFO of ``T`` kept in memory up to ``memory_limit`` and on disk beyond it.

    ``memory_limit`` is in the size units the caller passes to :meth:`put`
    (items, bytes, points...). ``directory`` is where spill files go; when
    None a private temporary directory is made on the first spill and removed
    by :meth:`close`. ``disk_limit`` bounds the bytes on disk (None: no bound).
    ``encode``/``decode`` turn an item into bytes and back; they are called
    only for items that spill. ``name`` prefixes the spill file names.

    :meth:`put` never blocks; :meth:`get` waits at most its timeout. After
    :meth:`close`, items already queued can still be taken (spill files are
    unlinked at close but stay readable until drained); :meth:`get` returns
    None once the queue is closed and empty.
    """

    def __init__(
        self,
        *,
        encode: Callable[[T], bytes],
        decode: Callable[[bytes], T],
        memory_limit: int,
        directory: str | os.PathLike[str] | None = None,
        disk_limit: int | None = None,
        name: str = "",
    ) -> None:
        if memory_limit < 0:
            raise ValueError(f"memory_limit should be >= 0 but was {memory_limit}")
        if disk_limit is not None and disk_limit < 0:
            raise ValueError(f"disk_limit should be >= 0 or None but was {disk_limit}")
        self._encode = encode
        self._decode = decode
        self.memory_limit = memory_limit
        self.disk_limit = disk_limit
        self.name = name
        self._directory = os.fspath(directory) if directory is not None else None
        self._segment_bytes = (
            _MAX_SEGMENT if disk_limit is None else max(_MIN_SEGMENT, min(_MAX_SEGMENT, disk_limit // 8))
        )
        self._cond = threading.Condition(threading.Lock())
        self._memory: collections.deque[tuple[T, int]] = collections.deque()
        self._memory_size = 0
        self._files = _Files()
        self._segments = self._files.segments
        self._disk_items = 0
        self._disk_size = 0
        self._disk_bytes = 0
        self._closed = False
        self._finalizer = weakref.finalize(self, self._files.release)
        self.size = 0
        """Size units waiting (memory and disk)."""
        self.spilled = 0
        """Items ever written to disk."""
        self.dropped = 0
        """Items that could be kept nowhere (put returned False), or lost to a disk read error."""
        self.disk_error: str | None = None
        """The last disk error, one line, or None."""

    # -- producer ---------------------------------------------------------

    def put(self, item: T, size: int = 1) -> bool:
        """Queue ``item`` counting ``size`` units; False (and counted in ``dropped``) if it could be kept nowhere."""
        with self._cond:
            if self._closed:
                self.dropped += 1
                return False
            if not self._disk_items and self._memory_size + size <= self.memory_limit:
                self._memory.append((item, size))
                self._memory_size += size
            elif not self._spill(item, size):
                self.dropped += 1
                return False
            self.size += size
            self._cond.notify()
            return True

    def _spill(self, item: T, size: int) -> bool:
        payload = self._encode(item)
        record = _HEADER.pack(len(payload), size) + payload
        if self.disk_limit is not None and self._disk_bytes + len(record) > self.disk_limit:
            return False
        try:
            seg = self._writable_segment()
            written = os.pwrite(seg.fd, record, seg.end)
            if written != len(record):
                raise OSError(f"short write to {seg.path} (disk full?)")
        except OSError as exc:
            where = self._directory or self._files.private_dir or "spill directory"
            self.disk_error = f"{where}: {exc.strerror or exc}"  # the same text for the same cause
            return False
        seg.end += len(record)
        seg.items += 1
        seg.size += size
        self._disk_items += 1
        self._disk_size += size
        self._disk_bytes += len(record)
        self.spilled += 1
        return True

    def _writable_segment(self) -> _Segment:
        if self._segments and self._segments[-1].end < self._segment_bytes:
            return self._segments[-1]
        directory = self._directory
        if directory is None:
            if self._files.private_dir is None:
                self._files.private_dir = tempfile.mkdtemp(prefix="horde-spill-")
            directory = self._files.private_dir
        prefix = f"{self.name or 'spill'}-"
        fd, path = tempfile.mkstemp(prefix=prefix, suffix=".spill", dir=directory)
        seg = _Segment(path, fd)
        self._segments.append(seg)
        return seg

    # -- consumer ---------------------------------------------------------

    def get(self, timeout: float | None = None) -> T | None:
        """The oldest item, waiting at most ``timeout`` seconds (None: until one comes or close); None if none."""
        with self._cond:
            if not (self._memory or self._disk_items):
                if timeout is None:
                    while not (self._memory or self._disk_items or self._closed):
                        self._cond.wait()
                else:
                    deadline = time.monotonic() + timeout
                    while not (self._memory or self._disk_items or self._closed):
                        left = deadline - time.monotonic()
                        if left <= 0:
                            return None
                        self._cond.wait(left)
            return self._take()

    def get_nowait(self) -> T | None:
        """The oldest item, or None if nothing is waiting."""
        with self._cond:
            return self._take()

    def _take(self) -> T | None:
        if self._memory:
            item, size = self._memory.popleft()
            self._memory_size -= size
            self.size -= size
            return item
        while self._disk_items:
            seg = self._segments[0]
            try:
                payload, size = seg.read_record()
            except OSError as exc:
                self._lose_segment(seg, exc)
                continue
            seg.items -= 1
            seg.size -= size
            self._disk_items -= 1
            self._disk_size -= size
            self.size -= size
            if seg.items == 0:
                self._retire(seg)
            return self._decode(payload)
        return None

    def _retire(self, seg: _Segment) -> None:
        """``seg`` is read through: delete it, or keep the last one, emptied, for new spills."""
        self._disk_bytes -= seg.end
        if seg is self._segments[-1] and not self._closed:
            try:
                seg.reset()
                return
            except OSError:
                pass
        self._segments.popleft()
        os.close(seg.fd)
        if not self._closed:
            _unlink(seg.path)

    def _lose_segment(self, seg: _Segment, exc: OSError) -> None:
        """A segment that cannot be read: its remaining items are counted as dropped."""
        self.disk_error = str(exc)
        self.dropped += seg.items
        self._disk_items -= seg.items
        self._disk_size -= seg.size
        self.size -= seg.size
        seg.items = seg.size = 0
        self._retire(seg)

    # -- state --------------------------------------------------------------

    def __len__(self) -> int:
        """Items waiting, in memory and on disk."""
        return len(self._memory) + self._disk_items

    @property
    def memory_size(self) -> int:
        """Size units of the items in memory."""
        return self._memory_size

    @property
    def disk_bytes(self) -> int:
        """Bytes in the spill files now."""
        return self._disk_bytes

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called."""
        return self._closed

    def close(self) -> None:
        """Refuse new items, wake every waiter, remove the spill files (what is queued can still be taken)."""
        with self._cond:
            if self._closed:
                return
            self._closed = True
            if self._disk_items:
                self._files.unlink()
            else:
                self._files.release()
                self._disk_bytes = 0
            self._cond.notify_all()

    def __repr__(self) -> str:
        return (
            f"<SpillQueue {self.name!r} items={len(self)} size={self.size} on_disk={self._disk_items}"
            f" spilled={self.spilled} dropped={self.dropped}{' closed' if self._closed else ''}>"
        )


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
