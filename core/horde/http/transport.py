"""The transport seam: what the scripting client hands a transport, and what it gets back.

A :class:`Transport` sends one :class:`RawRequest` and returns a
:class:`RawResponse` with k6's phase timings, or raises
:class:`~horde.http.errors.TransportError`. It owns its connections (pooling,
keep-alive, TLS). Cookies, redirects, decoding and metrics are the client's job.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

__all__ = ["RawRequest", "RawResponse", "Transport", "parse_reason", "parse_header_lines"]


class RawRequest:
    """One HTTP request on the wire.

    ``target`` is the request target (path and query); ``headers`` the full
    header list to send (the client adds Host, User-Agent, Content-Length...);
    ``timeout`` is in seconds for the whole exchange; ``t_start`` is the
    ``time.perf_counter()`` at which the request began to wait (0: now), so a
    caller that queued it (``batch``) gets the wait counted as blocked.
    ``head`` is the request line and ``headers`` encoded: a transport that
    encodes them may store them there, so a request sent again (a client keeps
    one per route) is not encoded again. Nothing else of a request changes.
    """

    __slots__ = ("method", "scheme", "host", "port", "target", "headers", "body", "timeout", "t_start", "head")

    def __init__(
        self,
        method: str,
        scheme: str,
        host: str,
        port: int,
        target: str,
        headers: list[tuple[str, str]],
        body: bytes | None = None,
        timeout: float = 60.0,
        t_start: float = 0.0,
        head: bytes | None = None,
    ) -> None:
        self.method = method
        self.scheme = scheme
        self.host = host
        self.port = port
        self.target = target
        self.headers = headers
        self.body = body
        self.timeout = timeout
        self.t_start = t_start
        self.head = head


class RawResponse:
    """A response as read from the wire (body still content-encoded).

    ``timings`` = (blocked, connecting, tls_handshaking, sending, waiting,
    receiving) in milliseconds, k6's definitions. ``headers`` are raw
    (name, value) byte pairs in wire order. ``proto`` is e.g. ``"HTTP/1.1"``;
    ``tls_version`` e.g. ``"tls1.3"`` or None. A transport may give ``head``,
    the status line and header lines as received, instead of ``reason`` and
    ``headers`` (None): they are then parsed from it on first use. ``special``
    says whether the response sets cookies, is content-encoded or has a
    Location header, when the transport read that already (None: unknown).
    """

    __slots__ = (
        "status",
        "_reason",
        "proto",
        "_headers",
        "body",
        "timings",
        "tls_version",
        "bytes_sent",
        "bytes_received",
        "remote_ip",
        "remote_port",
        "head",
        "special",
    )

    def __init__(
        self,
        status: int,
        reason: str | None,
        proto: str,
        headers: list[tuple[bytes, bytes]] | None,
        body: bytes,
        timings: tuple,
        tls_version: str | None,
        bytes_sent: int,
        bytes_received: int,
        remote_ip: str = "",
        remote_port: int = 0,
        head: bytes | None = None,
        special: bool | None = None,
    ) -> None:
        self.status = status
        self._reason = reason
        self.proto = proto
        self._headers = headers
        self.body = body
        self.timings = timings
        self.tls_version = tls_version
        self.bytes_sent = bytes_sent
        self.bytes_received = bytes_received
        self.remote_ip = remote_ip
        self.remote_port = remote_port
        self.head = head
        self.special = special

    @property
    def reason(self) -> str:
        """The reason phrase of the status line (``"OK"``), possibly empty."""
        if self._reason is None:
            self._reason = parse_reason(self.head or b"")
        return self._reason

    @property
    def headers(self) -> list[tuple[bytes, bytes]]:
        """(name, value) byte pairs in wire order."""
        if self._headers is None:
            self._headers = parse_header_lines(self.head or b"")
        return self._headers


def parse_reason(head: bytes) -> str:
    """The reason phrase of the status line that starts ``head``."""
    end = head.find(b"\n")
    line = (head if end < 0 else head[:end]).rstrip(b"\r")
    parts = line.split(b" ", 2)
    return parts[2].decode("latin-1") if len(parts) > 2 else ""


def parse_header_lines(head: bytes) -> list[tuple[bytes, bytes]]:
    """The (name, value) pairs of the header lines after the status line of ``head``.

    Values lose surrounding whitespace; an obsolete folded line (starting with
    a space or tab) continues the previous value, as RFC 9112 allows.
    """
    out: list[tuple[bytes, bytes]] = []
    for line in head.split(b"\n")[1:]:
        line = line.rstrip(b"\r")
        if not line:
            continue
        if line[0] in b" \t" and out:
            name, value = out[-1]
            out[-1] = (name, value + b" " + line.strip())
            continue
        name, sep, value = line.partition(b":")
        if sep:
            out.append((name, value.strip()))
    return out


@runtime_checkable
class Transport(Protocol):
    """Sends raw requests over pooled connections; one per VU."""

    async def send(self, req: RawRequest) -> RawResponse:
        """Send ``req`` and read its response; raise ``TransportError`` on failure."""
        ...

    def close(self) -> None:
        """Close every pooled connection."""
        ...
