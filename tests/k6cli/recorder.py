"""A recording HTTP target for differential tests: every request's path, headers and client connection."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Recorder(ThreadingHTTPServer):
    """Records (time, path, headers, client port) of every request; ``/redirect/N`` chains N 302s to ``/``;
    ``/slow...`` answers after 0.3 s and counts the most requests in flight at once."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests: list[tuple[float, str, dict[str, str], int]] = []
        self.clients: list[str] = []
        """The client address of every request."""
        self.lock = threading.Lock()
        self.in_flight = 0
        self.max_in_flight = 0
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def paths(self) -> list[str]:
        with self.lock:
            return [r[1] for r in self.requests]

    def clear(self) -> None:
        with self.lock:
            self.requests.clear()
            self.clients.clear()
            self.max_in_flight = 0


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:
        srv: Recorder = self.server  # type: ignore[assignment]
        with srv.lock:
            srv.requests.append((time.monotonic(), self.path, dict(self.headers.items()), self.client_address[1]))
            srv.clients.append(self.client_address[0])
        if self.path.startswith("/slow"):
            with srv.lock:
                srv.in_flight += 1
                srv.max_in_flight = max(srv.max_in_flight, srv.in_flight)
            time.sleep(0.3)
            with srv.lock:
                srv.in_flight -= 1
        if self.path.startswith("/redirect/"):
            n = int(self.path.rsplit("/", 1)[1])
            self.send_response(302)
            self.send_header("Location", f"/redirect/{n - 1}" if n > 1 else "/")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = b"ok"
        self.send_response(200)
        self.send_header("Set-Cookie", "seen=1")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
