"""The transport seam: what the scripting client hands a transport, and what it gets back.

A :class:`Transport` sends one :class:`RawRequest` and returns a
:class:`RawResponse` with k6's phase timings, or raises
:class:`~horde.http.errors.TransportError`. It owns its connections (pooling,
keep-alive, TLS). Cookies, redirects, decoding and metrics are the client's job.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

__all__ = ["RawRequest", "RawResponse", "Transport"]


class RawRequest:
    """One HTTP request on the wire.

    ``target`` is the request target (path and query); ``headers`` the full
    header list to send (the client adds Host, User-Agent, Content-Length...);
    ``timeout`` is in seconds for the whole exchange; ``t_start`` is the
    ``time.perf_counter()`` at which the request began to wait (0: now), so a
    caller that queued it (``batch``) gets the wait counted as blocked.
    """

    __slots__ = ("method", "scheme", "host", "port", "target", "headers", "body", "timeout", "t_start")

    def __init__(self, method: str, scheme: str, host: str, port: int, target: str,
                 headers: list[tuple[str, str]], body: bytes | None = None, timeout: float = 60.0,
                 t_start: float = 0.0) -> None:
        self.method = method
        self.scheme = scheme
        self.host = host
        self.port = port
        self.target = target
        self.headers = headers
        self.body = body
        self.timeout = timeout
        self.t_start = t_start


class RawResponse:
    """A response as read from the wire (body still content-encoded).

    ``timings`` = (blocked, connecting, tls_handshaking, sending, waiting,
    receiving) in milliseconds, k6's definitions. ``headers`` are raw
    (name, value) byte pairs in wire order. ``proto`` is e.g. ``"HTTP/1.1"``;
    ``tls_version`` e.g. ``"tls1.3"`` or None.
    """

    __slots__ = ("status", "reason", "proto", "headers", "body", "timings", "tls_version",
                 "bytes_sent", "bytes_received", "remote_ip", "remote_port")

    def __init__(self, status: int, reason: str, proto: str, headers: list[tuple[bytes, bytes]], body: bytes,
                 timings: tuple, tls_version: str | None, bytes_sent: int, bytes_received: int,
                 remote_ip: str = "", remote_port: int = 0) -> None:
        self.status = status
        self.reason = reason
        self.proto = proto
        self.headers = headers
        self.body = body
        self.timings = timings
        self.tls_version = tls_version
        self.bytes_sent = bytes_sent
        self.bytes_received = bytes_received
        self.remote_ip = remote_ip
        self.remote_port = remote_port


@runtime_checkable
class Transport(Protocol):
    """Sends raw requests over pooled connections; one per VU."""

    async def send(self, req: RawRequest) -> RawResponse:
        """Send ``req`` and read its response; raise ``TransportError`` on failure."""
        ...

    def close(self) -> None:
        """Close every pooled connection."""
        ...
