"""A real HTTP endpoint for the tests: ``http.server`` on 127.0.0.1, a free port, batches kept in memory.

It can be told to fail (``fail_next``), to refuse large bodies (``max_body``) and be taken down and
brought back up on the same port (``stop`` / ``start``), as a real endpoint is during an outage.
"""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

__all__ = ["Receiver"]


class _Handler(http.server.BaseHTTPRequestHandler):
    """One request per connection (HTTP/1.0): a stopped receiver leaves no connection serving."""

    server: _Server

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        status, headers = self.server.receiver._answer(self.headers.get("X-Horde-Batch") or "", body)
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    receiver: Receiver


class Receiver:
    """The endpoint: ``url`` takes POSTed batches; ``batches`` keeps (batch id, body) in arrival order."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self.batches: list[tuple[str, bytes]] = []
        self.requests = 0
        """Every request, failed ones included."""
        self.repeats = 0
        """Accepted batches whose id was accepted before (a retry after a lost answer)."""
        self._ids: set[str] = set()
        self._failures: list[tuple[int, dict[str, str]]] = []
        self.max_body: int | None = None
        """Bodies longer than this are answered 413."""
        self.status: int | None = None
        """When set, every request is answered with this status."""
        self._server: _Server | None = None
        self.port = 0
        self.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/samples"

    def start(self) -> None:
        """Listen (again) on the same port."""
        server = _Server(("127.0.0.1", self.port), _Handler)
        server.receiver = self
        self.port = server.server_address[1]
        self._server = server
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                         name="receiver", daemon=True).start()

    def stop(self) -> None:
        """Stop listening: connections are refused until :meth:`start`."""
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()

    close = stop

    def fail_next(self, n: int, status: int = 503, retry_after: float | None = None) -> None:
        """Answer the next ``n`` requests with ``status`` (and ``Retry-After``)."""
        headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
        with self._lock:
            self._failures.extend([(status, headers)] * n)

    def _answer(self, batch_id: str, body: bytes) -> tuple[int, dict[str, str]]:
        with self._lock:
            self.requests += 1
            if self._failures:
                return self._failures.pop(0)
            if self.status is not None:
                return self.status, {}
            if self.max_body is not None and len(body) > self.max_body:
                return 413, {}
            if batch_id in self._ids:
                self.repeats += 1
            self._ids.add(batch_id)
            self.batches.append((batch_id, body))
            self._changed.notify_all()
            return 204, {}

    def records(self) -> Iterator[dict[str, Any]]:
        """Every accepted sample line, parsed, in arrival order."""
        with self._lock:
            batches = list(self.batches)
        for _, body in batches:
            for line in body.splitlines():
                yield json.loads(line)

    def sample_count(self) -> int:
        with self._lock:
            return sum(body.count(b"\n") for _, body in self.batches)

    def wait_for(self, samples: int, timeout: float = 10.0) -> int:
        """Wait until at least ``samples`` samples arrived (or ``timeout`` seconds); the number that did."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                count = sum(body.count(b"\n") for _, body in self.batches)
                left = deadline - time.monotonic()
                if count >= samples or left <= 0:
                    return count
                self._changed.wait(left)
