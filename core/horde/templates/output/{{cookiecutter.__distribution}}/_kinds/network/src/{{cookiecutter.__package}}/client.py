"""The HTTP side: POST one batch, and say what :class:`horde.output.Delivery` should do with the answer.

- 2xx: the batch is written;
- 429, 5xx or no answer (a connection error, a timeout): it is sent again after a backoff
  (at least the ``Retry-After`` the endpoint asked for);
- 413 (too large): it is split in two halves, sent instead, in order;
- 401, 403: the endpoint refuses all data; sending stops and what waits or comes is dropped;
- any other 4xx: it is dropped, counted under ``HTTP <status>``.
"""

from __future__ import annotations

import urllib.parse

from horde.output import (
    ConnectionFailed,
    DestinationRefused,
    KeepAliveConnection,
    PermanentError,
    RetryableError,
    SplitPayload,
)

from .batch import Batch

__all__ = ["HttpSender"]


class HttpSender:
    """Sends batches to ``url`` over one kept-alive connection (used by the delivery's sender thread).

    :meth:`interrupt` may be called from another thread: a request in flight fails at once
    (the delivery calls it at the stop deadline).
    """

    def __init__(self, url: str, timeout: float, user_agent: str) -> None:
        self.url = url
        parts = urllib.parse.urlsplit(url)
        self._path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._user_agent = user_agent
        self._conn = KeepAliveConnection(url, timeout=timeout)

    def send(self, batch: Batch) -> None:
        """POST ``batch``; return when the endpoint took it, raise what the delivery should do otherwise."""
        headers = {
            "Content-Type": "application/x-ndjson",
            "User-Agent": self._user_agent,
            "X-Horde-Batch": batch.id,
            "X-Horde-Samples": str(batch.samples),
        }
        try:
            answer = self._conn.request("POST", self._path, batch.body, headers)
        except ConnectionFailed as exc:
            raise RetryableError(exc.reason) from None
        status = answer.status
        if answer.ok:
            return
        if status == 429 or status >= 500:
            raise RetryableError(f"HTTP {status} {answer.reason}", retry_after=answer.retry_after)
        if status == 413:
            raise SplitPayload(batch.split(), "HTTP 413")
        if status in (401, 403):
            raise DestinationRefused(f"HTTP {status}")
        raise PermanentError(f"HTTP {status}")

    def interrupt(self) -> None:
        """Make a request in flight fail now (called from another thread)."""
        self._conn.interrupt()

    def close(self) -> None:
        """Close the connection (a later :meth:`send` opens a new one)."""
        self._conn.close()
