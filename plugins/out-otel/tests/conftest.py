"""Fixtures: a local OTLP receiver (HTTP and gRPC), a target that counts requests, real k6 v1.1.0."""

from __future__ import annotations

import sys
import threading
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from horde.testing.fixtures import k6_bin  # noqa: F401

sys.path.insert(0, str(Path(__file__).parent))

from receiver import Receiver  # noqa: E402


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A started OTLP receiver; stopped at the end."""
    r = Receiver().start()
    yield r
    r.stop()


class CountingTarget:
    """An HTTP/1.1 server on 127.0.0.1 answering 200 ``ok`` and counting requests per path."""

    def __init__(self) -> None:
        counts: Counter[str] = Counter()
        lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                with lock:
                    counts[self.path] += 1
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self.counts = counts
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def counting_target() -> Iterator[CountingTarget]:
    t = CountingTarget()
    yield t
    t.stop()
