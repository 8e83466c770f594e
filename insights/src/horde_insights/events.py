"""Server-sent events for the live pages: change notices and the event stream of one view.

Handlers that change a run call :meth:`Changes.touch`; each open stream
wakes, takes a new snapshot of its view (the same JSON its GET returns) at
most once per ``MIN_INTERVAL`` and sends it when it differs from the last
one. Changes made elsewhere (the no-data timeout, another process on the
same database) are seen by a fresh snapshot every ``REFRESH`` seconds; a
comment line every ``HEARTBEAT`` seconds keeps proxies from closing a quiet
stream.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable

__all__ = ["Changes", "sse_stream", "MAX_STREAMS"]

log = logging.getLogger("horde_insights")

MIN_INTERVAL = 1.0
"""Seconds between two snapshots of one stream, at least."""
REFRESH = 5.0
"""Seconds after which a stream takes a snapshot even without a change notice."""
HEARTBEAT = 15.0
"""Seconds of silence after which a stream sends a comment line."""
RETRY_MS = 2000
"""The browser's reconnection delay, sent at the start of every stream."""
MAX_STREAMS = 256
"""Open event streams at most; one more is answered 503."""


class Changes:
    """Change notices within one service process: a version per run, and one for any run.

    Used on the event loop only.
    """

    def __init__(self) -> None:
        self._any = 0
        self._runs: dict[int, int] = {}
        self._event = asyncio.Event()
        self.streams = 0
        """Event streams open now."""
        self.closing = False
        """Set (from any thread) when the service stops: every stream ends within a second."""

    def touch(self, run_id: int) -> None:
        """Run ``run_id`` changed: wake every stream."""
        self._any += 1
        self._runs[run_id] = self._any
        if len(self._runs) > 10_000:
            self._runs.clear()
        event, self._event = self._event, asyncio.Event()
        event.set()

    def version(self, run_id: int | None) -> int:
        """The change count of ``run_id`` (of any run when None)."""
        return self._any if run_id is None else self._runs.get(run_id, 0)

    async def wait(self, timeout: float) -> None:
        """Return on the next change notice, or after ``timeout`` seconds."""
        try:
            await asyncio.wait_for(self._event.wait(), timeout)
        except asyncio.TimeoutError:
            pass


async def sse_stream(
    changes: Changes, run_id: int | None, snapshot: Callable[[], Awaitable[bytes]]
) -> AsyncIterator[bytes]:
    """The ``text/event-stream`` body of one view: ``snapshot()`` (JSON bytes) as a ``data:`` line
    whenever it changed; ``run_id`` selects which change notices wake it (None: every run)."""
    changes.streams += 1
    try:
        yield f"retry: {RETRY_MS}\n\n".encode()
        last: bytes | None = None
        seen = -1
        taken = sent = 0.0
        while not changes.closing:
            version = changes.version(run_id)
            now = time.monotonic()
            if version != seen or now - taken >= REFRESH:
                seen, taken = version, now
                try:
                    data = await snapshot()
                except Exception as exc:  # the run is gone, or the database failed: end the stream
                    log.warning("event stream ended: %s", getattr(exc, "message", None) or repr(exc))
                    return
                if data != last:
                    last, sent = data, now
                    yield b"data: " + data + b"\n\n"
            if now - sent >= HEARTBEAT:
                sent = now
                yield b": keep-alive\n\n"
            await asyncio.sleep(MIN_INTERVAL)
            if changes.version(run_id) == seen:
                await changes.wait(min(1.0, max(0.0, REFRESH - (time.monotonic() - taken))))
    finally:
        changes.streams -= 1
