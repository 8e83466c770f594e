"""The dashboard's HTTP server: the page, a report download and a Server-Sent Events stream.

It runs on its own threads and never blocks the run: publishing an event only
puts it on each client's bounded queue (a client too slow to keep up is
disconnected and counted), connections are bounded, every socket has a
timeout, and :meth:`DashboardServer.stop` ends every thread within its deadline.
A client that connects late gets the history first (the replayed periods),
then the live events.
"""

from __future__ import annotations

import logging
import queue
import select
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["DashboardServer", "MAX_CONNECTIONS", "MAX_EVENT_CLIENTS", "CLIENT_QUEUE", "encode_event"]

MAX_CONNECTIONS = 32
"""Connections served at once; more are closed at once."""

MAX_EVENT_CLIENTS = 16
"""Event-stream clients at once; more get 503."""

CLIENT_QUEUE = 512
"""Events waiting for one client; a client further behind is disconnected."""

SOCKET_TIMEOUT = 5.0
"""Seconds a read or write on one connection may take."""

KEEPALIVE = 15.0
"""Seconds between SSE comments that keep an idle stream open through proxies."""


def encode_event(event: str, data: str) -> bytes:
    """One Server-Sent Event frame (``data`` is one line of JSON)."""
    return f"event: {event}\ndata: {data}\n\n".encode()


class _Client:
    __slots__ = ("frames", "dropped")

    def __init__(self) -> None:
        self.frames: queue.Queue[bytes | None] = queue.Queue(CLIENT_QUEUE)
        self.dropped = False


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    dashboard: DashboardServer

    def __init__(self, address: tuple[str, int], dashboard: DashboardServer) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.dashboard = dashboard
        self.threads: set[threading.Thread] = set()
        self.sockets: set[socket.socket] = set()
        self.threads_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.threads_lock:
            self.threads = {t for t in self.threads if t.is_alive()}
            if len(self.threads) >= MAX_CONNECTIONS:
                self.dashboard.refused += 1
                self.shutdown_request(request)
                return
            t = threading.Thread(
                target=self.process_request_thread,
                args=(request, client_address),
                name="horde-dashboard-http",
                daemon=True,
            )
            self.threads.add(t)
            self.sockets.add(request)
        t.start()

    def close_request(self, request: Any) -> None:
        with self.threads_lock:
            self.sockets.discard(request)
        super().close_request(request)

    def cut_connections(self) -> None:
        """Shut every open connection down, so no handler waits out its socket timeout."""
        with self.threads_lock:
            sockets = list(self.sockets)
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    timeout = SOCKET_TIMEOUT
    protocol_version = "HTTP/1.0"
    server_version = "horde-dashboard"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        self.server.dashboard.logger.debug("web-dashboard: %s - " + format, self.address_string(), *args)

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        path = self.path.split("?", 1)[0]
        dashboard = self.server.dashboard
        if path == "/events":
            self._events(dashboard)
        elif path in ("/", "/index.html", "/ui/", "/ui"):
            self._send(200, "text/html; charset=utf-8", dashboard.page())
        elif path == "/report":
            self._send(200, "text/html; charset=utf-8", dashboard.report(), attachment="report.html")
        else:
            self._send(404, "text/plain; charset=utf-8", b"not found\n")

    def _send(self, status: int, content_type: str, body: bytes, attachment: str = "") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        if attachment:
            self.send_header("Content-Disposition", f'attachment; filename="{attachment}"')
        self.end_headers()
        self.wfile.write(body)

    def _events(self, dashboard: DashboardServer) -> None:
        client = dashboard.attach()
        if client is None:
            self._send(503, "text/plain; charset=utf-8", b"too many dashboard clients\n")
            return
        try:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.flush()
            last = time.monotonic()
            while True:
                try:
                    frame = client.frames.get(timeout=0.25)
                except queue.Empty:
                    if dashboard.stopping.is_set() or client.dropped or self._gone():
                        return
                    if time.monotonic() - last > KEEPALIVE:
                        self.wfile.write(b": keepalive\n\n")
                        self.wfile.flush()
                        last = time.monotonic()
                    continue
                if frame is None:
                    return
                self.wfile.write(frame)
                self.wfile.flush()
                last = time.monotonic()
        except OSError:
            return  # the browser went away, or was too slow to read
        finally:
            dashboard.detach(client)

    def _gone(self) -> bool:
        """True when the browser closed the connection (it sends nothing on an event stream)."""
        if not select.select([self.connection], [], [], 0)[0]:
            return False
        try:
            return not self.connection.recv(1, socket.MSG_PEEK)
        except OSError:
            return True


class DashboardServer:
    """Serves ``page()`` at ``/``, ``report()`` at ``/report`` and the published events at ``/events``."""

    def __init__(
        self,
        host: str,
        port: int,
        page: Callable[[], bytes],
        report: Callable[[], bytes],
        logger: logging.Logger,
        history: int = 2880,
    ) -> None:
        self.host, self.port = host, port
        self.page, self.report, self.logger = page, report, logger
        self.stopping = threading.Event()
        self.refused = 0
        """Connections closed because MAX_CONNECTIONS were open."""
        self.slow_clients = 0
        """Event clients disconnected because they fell CLIENT_QUEUE events behind."""
        self.clients_served = 0
        self._lock = threading.Lock()
        self._clients: set[_Client] = set()
        self._head: list[bytes] = []  # replayed first: the configuration
        self._history: deque[bytes] = deque(maxlen=history)  # the periods so far
        self._latest: dict[str, bytes] = {}  # replayed last: the newest event of each kind
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Bind and serve on a thread of its own; raises :class:`OSError` when the address cannot be bound."""
        server = _Server((self.host, self.port), self)
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.2}, name="horde-dashboard-server", daemon=True
        )
        self._thread.start()

    def publish(self, event: str, data: str, *, kind: str = "history") -> None:
        """Send an event to every client; ``kind`` says what a later client replays: ``head`` events,
        every ``history`` event (up to ``history`` of them), or only the ``latest`` of its name."""
        frame = encode_event(event, data)
        with self._lock:
            if kind == "head":
                self._head.append(frame)
            elif kind == "history":
                self._history.append(frame)
            else:
                self._latest[event] = frame
            clients = list(self._clients)
        for client in clients:
            self._offer(client, frame)

    def _offer(self, client: _Client, frame: bytes | None) -> None:
        try:
            client.frames.put_nowait(frame)
        except queue.Full:
            if not client.dropped:
                client.dropped = True
                self.slow_clients += 1
                self.logger.warning("web-dashboard: a browser fell %d events behind and was disconnected", CLIENT_QUEUE)

    def attach(self) -> _Client | None:
        """A new event client with the replay queued, or None when MAX_EVENT_CLIENTS are connected."""
        client = _Client()
        with self._lock:
            if len(self._clients) >= MAX_EVENT_CLIENTS or self.stopping.is_set():
                return None
            replay = [*self._head, *self._history, *self._latest.values()]
            if len(replay) >= CLIENT_QUEUE:  # keep the head and the newest periods
                replay = [*self._head, *replay[len(replay) - CLIENT_QUEUE // 2 :]]
            for frame in replay:
                client.frames.put_nowait(frame)
            self._clients.add(client)
            self.clients_served += 1
        return client

    def detach(self, client: _Client) -> None:
        """Forget a client whose stream ended."""
        with self._lock:
            self._clients.discard(client)

    def stop(self, timeout: float = 5.0) -> None:
        """End every stream (after the events already queued), stop serving and join the threads
        within ``timeout`` seconds. Idempotent."""
        deadline = time.monotonic() + timeout
        self.stopping.set()
        with self._lock:
            clients = list(self._clients)
        for client in clients:
            self._offer(client, None)
        server, self._server = self._server, None
        if server is None:
            return
        # let streams send what is queued, then close
        while time.monotonic() < deadline and self._clients:
            time.sleep(0.05)
        server.shutdown()
        server.server_close()
        server.cut_connections()  # idle keep-alive or half-sent requests end now, not at their timeout
        if self._thread is not None:
            self._thread.join(max(0.0, deadline - time.monotonic()))
        with server.threads_lock:
            threads = list(server.threads)
        for t in threads:
            t.join(max(0.0, deadline - time.monotonic()))
        left = sum(t.is_alive() for t in threads)
        if left:
            self.logger.warning("web-dashboard: %d connections still open at the stop deadline", left)
