"""What goes on the wire (paths, auth headers) and how 5xx answers are retried, seen by a recording HTTP server.

influxd cannot be made to answer 500 or to show the headers it got, so a
small recorder on 127.0.0.1 plays the server for these checks.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from conftest import Emitter
from test_influxd import FAST, feed


class Recorder:
    """Records every request; answers each with the next status of ``script`` (then 204)."""

    def __init__(self, script: list[int] | None = None) -> None:
        self.requests: list[tuple[str, str, dict, bytes]] = []
        self.script = list(script or [])
        rec = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

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

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.addr = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

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
