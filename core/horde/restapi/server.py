"""The REST API server: stdlib ``http.server`` on its own thread, bounded in threads, time and body size.

It never touches the event loop or the hot path: each request reads the
run through its :class:`~horde.restapi.surface.ControlSurface` on a handler
thread (at most :data:`MAX_CONNECTIONS` at once; more connections are
closed), every socket read has :data:`REQUEST_TIMEOUT`, and bodies larger
than :data:`MAX_BODY` are refused.
"""

from __future__ import annotations

import errno
import logging
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from ..errors import ExitCode, UserError
from .handlers import Response, handle
from .surface import ControlSurface

__all__ = ["ApiServer", "AddressError", "parse_address", "DEFAULT_ADDRESS"]

_log = logging.getLogger("horde.restapi")

DEFAULT_ADDRESS = "localhost:6565"
"""k6's default ``--address``."""

MAX_CONNECTIONS = 32
"""Connections served at once; one beyond them is closed at once (never queued without bound)."""

REQUEST_TIMEOUT = 5.0
"""Seconds a connection may take to send its request (an idle one frees its slot after this)."""

MAX_BODY = 64 * 1024 * 1024
"""Largest request body accepted (setup data)."""

POLL_INTERVAL = 0.05
"""Seconds between the serving thread's looks at a shutdown request (what closing the server costs)."""

SHUTDOWN_TIMEOUT = 2.0
"""Seconds :meth:`ApiServer.close` waits for the serving thread."""


class AddressError(UserError):
    """``--address`` is malformed or cannot be listened on: k6's exit code 106."""

    def __init__(self, message: str) -> None:
        super().__init__(message, ExitCode.CANNOT_START_REST_API)


def parse_address(address: str) -> tuple[str, int]:
    """``host:port`` (``[::1]:6565``, ``:6565`` for every interface) as (host, port); AddressError if malformed."""
    host, sep, port_text = address.rpartition(":")
    if not sep:
        raise AddressError(f"--address {address!r}: missing port in address (expected HOST:PORT)")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        raise AddressError(f"--address {address!r}: too many colons in address (write IPv6 as [HOST]:PORT)")
    try:
        port = int(port_text)
        if not 0 <= port <= 65535:
            raise ValueError(port_text)
    except ValueError:
        raise AddressError(f"--address {address!r}: invalid port {port_text!r}") from None
    return host, port


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    timeout = REQUEST_TIMEOUT

    def _serve(self) -> None:
        length_text = self.headers.get("Content-Length") or "0"
        try:
            length = int(length_text)
        except ValueError:
            length = -1
        if length < 0 or length > MAX_BODY:
            self._send(Response(413 if length > 0 else 400, None, b""))
            self.close_connection = True
            return
        body = self.rfile.read(length) if length else b""
        self._send(handle(self.server.surface, self.command, self.path, body))

    def _send(self, r: Response) -> None:
        self.send_response(r.status)
        if r.content_type is not None:
            self.send_header("Content-Type", r.content_type)
        self.send_header("Content-Length", str(len(r.body)))
        self.send_header("Connection", "close")  # one request per connection: no idle keep-alive holds a slot
        self.close_connection = True
        self.end_headers()
        if r.body and self.command != "HEAD":
            self.wfile.write(r.body)

    do_GET = do_PATCH = do_POST = do_PUT = do_DELETE = do_HEAD = do_OPTIONS = _serve

    def log_message(self, format: str, *args: Any) -> None:
        _log.debug("%s - %s", self.address_string(), format % args)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], surface: ControlSurface, family: int) -> None:
        self.address_family = family
        self.surface = surface
        self._slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):  # too many at once: refuse rather than queue without bound
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()


def _family(host: str) -> int:
    try:
        infos = socket.getaddrinfo(host or None, 0, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise AddressError(f"cannot start the REST API server on {host!r}: {exc.strerror}") from None
    families = [info[0] for info in infos]
    return socket.AF_INET if socket.AF_INET in families or not families else families[0]


class ApiServer:
    """k6's REST API on ``address`` for ``surface``: :meth:`start` binds (AddressError, exit 106) and serves."""

    def __init__(self, address: str, surface: ControlSurface) -> None:
        self.address = address
        self.surface = surface
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The port listened on (useful with port 0)."""
        assert self._server is not None
        return int(self._server.server_address[1])

    def start(self) -> None:
        """Bind and serve on a daemon thread; AddressError (one line, exit 106) when the address is bad or taken."""
        host, port = parse_address(self.address)
        host = host or "0.0.0.0"
        try:
            self._server = _Server((host, port), self.surface, _family(host))
        except OSError as exc:
            reason = "address already in use" if exc.errno == errno.EADDRINUSE else (exc.strerror or str(exc))
            raise AddressError(f"cannot start the REST API server on {self.address}: {reason} (--address)") from None
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": POLL_INTERVAL},
            name="horde-restapi",
            daemon=True,
        )
        self._thread.start()
        _log.debug("REST API listening on %s", self.address)

    def close(self) -> None:
        """Stop serving (waits at most :data:`SHUTDOWN_TIMEOUT`); idempotent."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is None:
            return
        if thread is not None and thread.is_alive():
            stopper = threading.Thread(target=server.shutdown, daemon=True, name="horde-restapi-shutdown")
            stopper.start()
            stopper.join(SHUTDOWN_TIMEOUT)
        server.server_close()
