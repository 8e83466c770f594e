"""The HTTP side: POST one batch, and say what :class:`horde.output.Delivery` should do with the answer.

- 2xx: the batch is written;
- 429, 5xx or no answer (a connection error, a timeout): it is sent again after a backoff
  (at least the ``Retry-After`` the endpoint asked for);
- 413 (too large): it is split in two halves, sent instead, in order;
- 401, 403: the endpoint refuses all data; sending stops and what waits or comes is dropped;
- any other 4xx: it is dropped, counted under ``HTTP <status>``.
"""

from __future__ import annotations

import http.client
import socket
import threading
import urllib.parse

from horde.output import (
    DestinationRefused,
    PermanentError,
    RetryableError,
    SplitPayload,
)

from .batch import Batch

__all__ = ["HttpSender"]


def _retry_after(value: str | None) -> float | None:
    """``Retry-After`` in seconds (the delay form only; an HTTP date is ignored)."""
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


class HttpSender:
    """Sends batches to ``url`` over one kept-alive connection (used by the delivery's sender thread).

    :meth:`interrupt` may be called from another thread: it closes the connection, so a request in
    flight fails at once (the delivery calls it at the stop deadline).
    """

    def __init__(self, url: str, timeout: float, user_agent: str) -> None:
        self.url = url
        parts = urllib.parse.urlsplit(url)
        self._https = parts.scheme == "https"
        self._host = parts.hostname or ""
        self._port = parts.port
        self._path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._timeout = timeout
        self._user_agent = user_agent
        self._lock = threading.Lock()
        self._conn: http.client.HTTPConnection | None = None

    def _connection(self) -> http.client.HTTPConnection:
        with self._lock:
            if self._conn is None:
                cls = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
                self._conn = cls(self._host, self._port, timeout=self._timeout)
            return self._conn

    def send(self, batch: Batch) -> None:
        """POST ``batch``; return when the endpoint took it, raise what the delivery should do otherwise."""
        conn = self._connection()
        headers = {
            "Content-Type": "application/x-ndjson",
            "User-Agent": self._user_agent,
            "X-Horde-Batch": batch.id,
            "X-Horde-Samples": str(batch.samples),
        }
        try:
            conn.request("POST", self._path, body=batch.body, headers=headers)
            response = conn.getresponse()
            response.read()
        except (OSError, http.client.HTTPException):
            self.close()  # a new connection for the next attempt
            raise
        status = response.status
        if response.will_close:
            self.close()
        if 200 <= status < 300:
            return
        if status == 429 or status >= 500:
            raise RetryableError(f"HTTP {status} {response.reason}", retry_after=_retry_after(response.getheader("Retry-After")))
        if status == 413:
            raise SplitPayload(batch.split(), "HTTP 413")
        if status in (401, 403):
            raise DestinationRefused(f"HTTP {status}")
        raise PermanentError(f"HTTP {status}")

    def interrupt(self) -> None:
        """Make a request in flight fail now (called from another thread)."""
        with self._lock:
            conn = self._conn
        sock = conn.sock if conn is not None else None
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self) -> None:
        """Close the connection (a later :meth:`send` opens a new one)."""
        with self._lock:
            conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()
