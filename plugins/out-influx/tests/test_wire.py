"""What goes on the wire (paths, auth headers) and how 5xx answers are retried, seen by a recording HTTP server.

influxd cannot be made to answer 500 or to show the headers it got, so a
small recorder on 127.0.0.1 plays the server for these checks.
"""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from conftest import Emitter
from test_influxd import FAST, feed, wait_until


class Recorder:
    """Records every request; answers each with the next status of ``script`` (then 204)."""

    def __init__(self, script: list[int] | None = None) -> None:
        self.requests: list[tuple[str, str, dict, bytes]] = []
        self.script = list(script or [])
        rec = self

        self.connections: set[socket.socket] = set()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                rec.connections.add(self.connection)

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                rec.requests.append(("POST", self.path, dict(self.headers), body))
                status = 204
                if self.path.startswith(("/write", "/api/v2/write")) and body and rec.script:
                    status = rec.script.pop(0)
                payload = b'{"error":"boom"}' if status >= 400 else (b'{"results":[{}]}' if status == 200 else b"")
                self.send_response(status)
                self.send_header("Content-Length", str(len(payload)))
                if status == 503:
                    self.send_header("Retry-After", "0")
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args) -> None:
                pass

        self._handler = Handler
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.addr = f"http://127.0.0.1:{self.port}"
        self._serve()

    def _serve(self) -> None:
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def down(self) -> None:
        """Stop listening and cut open keep-alive connections: connections are refused until :meth:`up`."""
        self.close()
        for conn in list(self.connections):
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.connections.clear()

    def up(self) -> None:
        """Listen again on the same port."""
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler)
        self._serve()

    def writes(self) -> list[tuple[str, str, dict, bytes]]:
        return [r for r in self.requests if "/write" in r[1] and r[3]]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def recorder():
    made: list[Recorder] = []

    def make(script=None) -> Recorder:
        made.append(Recorder(script))
        return made[-1]

    yield make
    for r in made:
        r.close()


def test_v1_create_database_write_path_and_basic_auth(recorder, make_output):
    rec = recorder()
    out = make_output(f"http://user:pw@{rec.addr[7:]}/k6db?{FAST}&retention=autogen")
    out.start()
    feed(out, Emitter(), 5)
    out.stop(None)
    method, path, headers, _ = rec.requests[0]
    assert path == "/query?q=CREATE+DATABASE+%22k6db%22"
    write = rec.writes()[0]
    assert write[1] == "/write?consistency=&db=k6db&precision=ns&rp=autogen"
    assert write[2]["Authorization"] == "Basic dXNlcjpwdw=="  # the header k6 sends for user:pw
    assert write[2]["User-Agent"].startswith("horde")
    assert b"".join(r[3] for r in rec.writes()).count(b"\n") == out.written == 51


def test_v2_write_path_and_token(recorder, make_output):
    rec = recorder()
    env = {"HORDE_INFLUXDB_TOKEN": "sekret", "HORDE_INFLUXDB_ORGANIZATION": "my org"}
    out = make_output(f"{rec.addr}/my-bucket?{FAST}&precision=ms", env)
    out.start()
    feed(out, Emitter(), 5)
    out.stop(None)
    assert not any(r[1].startswith("/query") for r in rec.requests)  # 2.x: no database to create
    write = rec.writes()[0]
    assert write[1] == "/api/v2/write?org=my+org&bucket=my-bucket&precision=ms"
    assert write[2]["Authorization"] == "Token sekret"


def test_5xx_is_retried_with_backoff_then_delivered(recorder, make_output):
    rec = recorder([500, 502, 503, 500])
    out = make_output(f"{rec.addr}/k6?{FAST}")
    out.start()
    feed(out, Emitter(), 5)
    out.stop(None)
    assert out.written == 51 and out.undelivered == 0 and out.retried == 51
    bodies = [r[3] for r in rec.writes()]
    assert len(bodies) == 5 and len(set(bodies)) == 1  # the same batch, re-sent until accepted


def _times(body: bytes) -> list[int]:
    return [int(line.rsplit(b" ", 1)[1]) for line in body.splitlines()]


def test_outage_replays_every_batch_once_and_in_order(recorder, make_output, tmp_path):
    rec = recorder()
    out = make_output(f"{rec.addr}/k6?{FAST}&concurrentWrites=1&memoryLimit=6kB&maxBatchBytes=3kB")
    out.start()
    emitter = Emitter(step_ns=1_000_000)
    feed(out, emitter, 30)
    assert wait_until(lambda: out._delivery.counts().written > 0)
    rec.down()
    feed(out, emitter, 200)  # far more than memoryLimit: most of it spills to disk while the server is down
    assert wait_until(lambda: out._delivery.failures >= 3)
    assert out._delivery.disk_bytes > 0
    rec.up()
    feed(out, emitter, 30)
    out.stop(None)
    assert out.written == emitter.emitted and out.undelivered == 0 and out.retried > 0 and out.spilled > 0
    bodies = [r[3] for r in rec.writes()]
    lines = [line for body in bodies for line in body.splitlines()]
    assert len(lines) == len(set(lines)) == emitter.emitted  # every point exactly once
    # ordered replay: each request's points are no older than those of the request before it
    for before, after in zip(bodies[:-1], bodies[1:], strict=True):
        assert max(_times(before)) <= min(_times(after))
    assert out.report()["dropped"] == 0
