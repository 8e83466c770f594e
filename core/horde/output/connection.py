"""One keep-alive HTTP(S) connection another thread can cut: the network side of a network output's sender.

A sender thread (the one :class:`~horde.output.Delivery` runs) sends its requests over one
:class:`KeepAliveConnection`; at the stop deadline the delivery's ``interrupt`` callable
(:meth:`KeepAliveConnection.abort`) shuts the socket down, so a request in flight fails at once
instead of waiting for its timeout. What an answer means (written, retried, split, dropped) stays
the output's: the connection only says what came back (:class:`HttpAnswer`, ``Retry-After``
parsed) or why nothing did (:class:`ConnectionFailed`, one short reason).
"""

from __future__ import annotations

import http.client
import socket
import ssl
import threading
from collections.abc import Mapping
from typing import NamedTuple
from urllib.parse import urlsplit

__all__ = ["ConnectionFailed", "HttpAnswer", "KeepAliveConnection", "describe_network_error", "parse_retry_after"]

_STALE = (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError)
"""What a keep-alive connection the server had closed while idle fails with (worth one fresh try)."""


def parse_retry_after(value: str | None) -> float | None:
    """``Retry-After`` in seconds: the delay form (``"120"``, ``"1.5"``); None when absent, negative or an HTTP date."""
    if not value:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if seconds >= 0 and seconds == seconds and seconds != float("inf") else None


class HttpAnswer(NamedTuple):
    """What the server answered: status, reason phrase, headers and the whole body."""

    status: int
    reason: str
    headers: http.client.HTTPMessage
    body: bytes

    @property
    def ok(self) -> bool:
        """True for a 2xx status."""
        return 200 <= self.status < 300

    @property
    def retry_after(self) -> float | None:
        """The ``Retry-After`` delay the server asked for, in seconds (None when it did not)."""
        return parse_retry_after(self.headers.get("Retry-After"))

    def header(self, name: str, default: str = "") -> str:
        """The value of header ``name`` (``default`` when absent)."""
        value = self.headers.get(name)
        return default if value is None else str(value)


class ConnectionFailed(Exception):
    """No HTTP answer: refused, reset, timed out, a TLS failure, or the connection was aborted.

    ``str()`` is one short reason (``connection refused``); ``__cause__`` is the original error.
    """

    def __init__(self, reason: str, *, aborted: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.aborted = aborted
        """True when :meth:`KeepAliveConnection.abort` caused it."""


def describe_network_error(exc: BaseException, tls_hint: str = "") -> str:
    """A short, lower-case reason for a network error (``connection refused``, ``timed out``, ``TLS error: ...``);
    ``tls_hint`` is appended to a certificate verification failure (the option that skips verification)."""
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return "timed out"
    if isinstance(exc, socket.gaierror):
        return f"cannot resolve host ({exc.strerror})"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS error: CERTIFICATE_VERIFY_FAILED ({exc.verify_message})" + (f"; {tls_hint}" if tls_hint else "")
    if isinstance(exc, ssl.SSLError):
        return f"TLS error: {exc.reason or exc}"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return " ".join(str(exc).split()) or type(exc).__name__


class KeepAliveConnection:
    """One keep-alive connection to ``url``'s host (``http://`` or ``https://``), opened on first use.

    Used by one thread; :meth:`interrupt` and :meth:`abort` may be called from any other. ``context``
    is the TLS context of an ``https`` URL (default: system CAs, hostname checked); ``timeout``
    bounds connecting and each read; ``tls_hint`` is added to a certificate verification failure.
    """

    def __init__(self, url: str, *, timeout: float, context: ssl.SSLContext | None = None, tls_hint: str = "") -> None:
        parts = urlsplit(url if "://" in url else "http://" + url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"invalid URL {url!r} (expected http(s)://HOST[:PORT][/PATH])")
        self.https = parts.scheme == "https"
        self.host = parts.hostname
        self.port = parts.port or (443 if self.https else 80)
        self.timeout = timeout
        self._context = (context or ssl.create_default_context()) if self.https else None
        self._tls_hint = tls_hint
        self._lock = threading.Lock()
        self._conn: http.client.HTTPConnection | None = None
        self._aborted = False

    @property
    def aborted(self) -> bool:
        """True once :meth:`abort` was called: every later request fails."""
        return self._aborted

    def _connection(self) -> tuple[http.client.HTTPConnection, bool]:
        """The connection and whether it served a request before."""
        with self._lock:
            if self._aborted:
                raise ConnectionFailed("aborted at stop", aborted=True)
            if self._conn is not None:
                return self._conn, True
            if self._context is not None:
                self._conn = http.client.HTTPSConnection(
                    self.host, self.port, timeout=self.timeout, context=self._context
                )
            else:
                self._conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            return self._conn, False

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: Mapping[str, str] | None = None
    ) -> HttpAnswer:
        """Send one request and read the whole answer; raise :class:`ConnectionFailed` when none came.

        A reused connection the server had closed while idle gets one fresh try; a server that
        answers ``Connection: close`` gets a new connection next time.
        """
        for attempt in (1, 2):
            conn, reused = self._connection()
            try:
                conn.request(method, path, body=body, headers=dict(headers or {}))
                resp = conn.getresponse()
                data = resp.read()
            except (OSError, http.client.HTTPException) as exc:
                self.close()
                if attempt == 1 and reused and isinstance(exc, _STALE) and not self._aborted:
                    continue
                if self._aborted:
                    raise ConnectionFailed("aborted at stop", aborted=True) from exc
                raise ConnectionFailed(describe_network_error(exc, self._tls_hint)) from exc
            if resp.will_close:
                self.close()
            return HttpAnswer(resp.status, resp.reason, resp.msg, data)
        raise AssertionError("unreachable")

    def interrupt(self) -> None:
        """From any thread: make the request in flight fail now (a later request opens a new connection)."""
        with self._lock:
            conn = self._conn
        sock = getattr(conn, "sock", None) if conn is not None else None
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def abort(self) -> None:
        """From any thread: make the request in flight fail now, and every later one (the stop deadline)."""
        with self._lock:
            self._aborted = True
        self.interrupt()

    def close(self) -> None:
        """Drop the connection (a later request opens a new one)."""
        with self._lock:
            conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()
