"""Connection deadlines for uvicorn: idle, slow-header and slow-body clients are cut off.

uvicorn closes a keep-alive connection that stays silent between requests,
but not a connection that never sends a byte, nor one that drips its headers
or body. :class:`GuardedHttpToolsProtocol` is uvicorn's httptools protocol
with one timer per connection that closes it when

- it is silent for ``idle`` seconds while the service waits for a request
  or for more of one (new connections included),
- a request's headers have not all arrived ``header_timeout`` seconds after
  its first byte, or they exceed ``max_header_bytes`` (431),
- a request's body has not all arrived ``body_timeout`` seconds after its
  headers.

A closed request is never answered (its handler sees a disconnect). While a
handler works on a complete request, or streams a reply (server-sent
events), no read deadline applies. The cost on the data path is one
assignment per ``data_received``.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

__all__ = ["ConnectionLimits", "GuardedHttpToolsProtocol"]

log = logging.getLogger("horde_insights")

_WAITING, _HEADERS, _BODY, _HANDLING = range(4)


class ConnectionLimits:
    """Per-connection deadlines (seconds) and the largest request head (bytes)."""

    def __init__(
        self,
        idle: float = 30.0,
        header_timeout: float = 10.0,
        body_timeout: float = 60.0,
        max_header_bytes: int = 64 << 10,
    ) -> None:
        self.idle = idle
        self.header_timeout = min(header_timeout, idle)
        self.body_timeout = body_timeout
        self.max_header_bytes = max_header_bytes


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with the deadlines of :class:`ConnectionLimits`.

    The limits come from ``config.connection_limits`` (set by the service on
    its uvicorn ``Config``).
    """

    def __init__(self, config: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(config, *args, **kwargs)
        self._limits: ConnectionLimits = getattr(config, "connection_limits", None) or ConnectionLimits()
        self._phase = _WAITING
        self._last_read = time.monotonic()
        self._phase_deadline: float | None = None
        self._head_bytes = 0
        self._timer: asyncio.TimerHandle | None = None

    # -- asyncio.Protocol -------------------------------------------------------------------
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            try:  # a reply's headers and body go out in separate writes: no delayed-ACK stall
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass
        self._schedule(self._limits.idle)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        self._last_read = time.monotonic()
        if self._phase <= _HEADERS:
            self._head_bytes += len(data)
            if self._head_bytes > self._limits.max_header_bytes and self._phase == _HEADERS:
                self._refuse_head()
                return
        super().data_received(data)

    # -- httptools parser callbacks -----------------------------------------------------------
    def on_message_begin(self) -> None:
        self._phase = _HEADERS
        self._phase_deadline = time.monotonic() + self._limits.header_timeout
        super().on_message_begin()

    def on_headers_complete(self) -> None:
        self._phase = _BODY
        self._phase_deadline = time.monotonic() + self._limits.body_timeout
        self._head_bytes = 0
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        done = self.cycle is None or self.cycle.response_complete
        self._phase = _WAITING if done else _HANDLING
        self._phase_deadline = None
        super().on_message_complete()

    def on_response_complete(self) -> None:
        if self._phase == _HANDLING:
            self._phase = _WAITING
            self._last_read = time.monotonic()
        super().on_response_complete()

    # -- deadlines --------------------------------------------------------------------------
    def _refuse_head(self) -> None:
        log.debug("%s: request head larger than %d bytes", self.client, self._limits.max_header_bytes)
        self.transport.write(
            b"HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )
        self.transport.close()

    def _schedule(self, delay: float) -> None:
        self._timer = self.loop.call_later(max(delay, 0.05), self._check)

    def _check(self) -> None:
        self._timer = None
        if self.transport.is_closing():
            return
        now = time.monotonic()
        if self._phase == _HANDLING:  # a handler is working or streaming: no read deadline
            self._schedule(self._limits.idle)
            return
        due = self._last_read + self._limits.idle
        if self._phase_deadline is not None:
            due = min(due, self._phase_deadline)
        if now >= due:
            log.debug("%s: connection closed (too slow or idle)", self.client)
            self.transport.close()
            return
        self._schedule(due - now)
