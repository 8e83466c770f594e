"""Connection plumbing for the threaded HTTP server: idle sockets wait without a thread, reads have deadlines.

A new connection is parked in a :class:`ParkingLot` (one selector, one
thread for all of them) until its first byte arrives; only then does it get
a handler thread. So hundreds of idle sockets cost a file descriptor each,
not a thread, and cannot keep a new client out; a parked socket silent for
the idle timeout is closed. Once handled, :class:`DeadlineReader` bounds each
read by the idle timeout and a request's headers and body by deadlines, so a
slow-loris client holds its thread for a bounded time only.
"""

from __future__ import annotations

import io
import logging
import queue
import selectors
import socket
import threading
import time
from collections.abc import Callable

__all__ = ["DeadlineReader", "ParkingLot"]

log = logging.getLogger("horde_insights")


class DeadlineReader(io.RawIOBase):
    """A socket's reads for the request parser, each bounded by the idle timeout and all of them
    by the current deadline (armed by the first byte of a request, or set for a body)."""

    def __init__(self, sock: socket.socket, idle: float) -> None:
        super().__init__()
        self.sock = sock
        self.idle = idle
        self.deadline: float | None = None
        self.arm_after: float | None = None

    def readable(self) -> bool:
        return True

    def expect_request(self, header_timeout: float) -> None:
        """Wait for the next request: idle timeout only, until its first byte arms the header deadline."""
        self.deadline, self.arm_after = None, header_timeout

    def within(self, seconds: float) -> None:
        """All further reads must end within ``seconds`` from now."""
        self.deadline, self.arm_after = time.monotonic() + seconds, None

    def readinto(self, buf: bytearray | memoryview) -> int:  # type: ignore[override]
        timeout = self.idle
        if self.deadline is not None:
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("the client did not send the request in time")
            timeout = min(timeout, left)
        self.sock.settimeout(timeout)
        n = self.sock.recv_into(buf)
        if n and self.arm_after is not None:
            self.within(self.arm_after)
        return n


class ParkingLot:
    """Holds accepted sockets until they are readable, then hands each to ``handle(sock, address)``;
    closes (through ``close(sock)``) the ones silent for ``idle`` seconds."""

    def __init__(
        self, handle: Callable[[socket.socket, object], None], close: Callable[[socket.socket], None], idle: float
    ) -> None:
        self._handle = handle
        self._close = close
        self.idle = idle
        self._arrivals: queue.SimpleQueue[tuple[socket.socket, object]] = queue.SimpleQueue()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="insights-parking", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def park(self, sock: socket.socket, address: object) -> None:
        """Park a newly accepted connection (called by the accept loop; never blocks)."""
        self._arrivals.put((sock, address))
        try:
            self._wake_w.send(b"\0")
        except BlockingIOError:
            pass  # a wake-up is already pending

    def stop(self) -> None:
        """Stop watching and close every socket still parked (within 5 s)."""
        self._stop.set()
        try:
            self._wake_w.send(b"\0")
        except OSError:
            pass
        if self._thread.is_alive():
            self._thread.join(5)
        while True:  # arrivals after the loop ended
            try:
                sock, _ = self._arrivals.get_nowait()
            except queue.Empty:
                break
            self._close(sock)
        self._wake_r.close()
        self._wake_w.close()

    def _run(self) -> None:
        sel = selectors.DefaultSelector()
        sel.register(self._wake_r, selectors.EVENT_READ, None)
        parked: dict[socket.socket, tuple[object, float]] = {}
        next_sweep = time.monotonic() + min(1.0, self.idle / 2)
        try:
            while not self._stop.is_set():
                for key, _ in sel.select(timeout=0.5):
                    if key.data is None:
                        self._admit(sel, parked)
                        continue
                    sock = key.fileobj
                    sel.unregister(sock)
                    address, _ = parked.pop(sock)  # type: ignore[call-overload]
                    try:
                        self._handle(sock, address)  # type: ignore[arg-type]
                    except Exception:
                        log.exception("cannot start a handler for %s", address)
                        self._close(sock)  # type: ignore[arg-type]
                now = time.monotonic()
                if now >= next_sweep:
                    next_sweep = now + min(1.0, self.idle / 2)
                    for sock, (_address, since) in list(parked.items()):
                        if now - since >= self.idle:
                            sel.unregister(sock)
                            del parked[sock]
                            self._close(sock)
        finally:
            for sock in parked:
                self._close(sock)
            sel.close()

    def _admit(self, sel: selectors.BaseSelector, parked: dict[socket.socket, tuple[object, float]]) -> None:
        try:
            while self._wake_r.recv(4096):
                pass
        except BlockingIOError:
            pass
        now = time.monotonic()
        while True:
            try:
                sock, address = self._arrivals.get_nowait()
            except queue.Empty:
                return
            try:
                sel.register(sock, selectors.EVENT_READ, address)
            except (ValueError, OSError):  # already closed by the peer and the kernel
                self._close(sock)
                continue
            parked[sock] = (address, now)
