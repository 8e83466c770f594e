"""The dashboard server: replay then live events, bounded clients, slow clients, a stop with a deadline."""

from __future__ import annotations

import http.client
import logging
import socket
import threading
import time

import pytest
from horde_out_dashboard import server as server_module
from horde_out_dashboard.server import MAX_EVENT_CLIENTS, DashboardServer


@pytest.fixture
def dashboard():
    srv = DashboardServer(
        "127.0.0.1", 0, lambda: b"<html>page</html>", lambda: b"<html>report</html>", logging.getLogger("test")
    )
    srv.start()
    yield srv
    srv.stop(5.0)


def _events(port: int) -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", "/events")
    return conn.getresponse()


def _read_events(resp: http.client.HTTPResponse, n: int) -> list[tuple[str, str]]:
    got: list[tuple[str, str]] = []
    event = ""
    while len(got) < n:
        line = resp.fp.readline().decode()
        assert line, f"stream ended after {got}"
        if line.startswith("event: "):
            event = line[7:].strip()
        elif line.startswith("data: "):
            got.append((event, line[6:].strip()))
    return got


def test_page_report_and_404(dashboard):
    conn = http.client.HTTPConnection("127.0.0.1", dashboard.port, timeout=10)
    for path, status, body in (("/", 200, b"page"), ("/report", 200, b"report"), ("/nope", 404, b"not found")):
        conn.request("GET", path)
        resp = conn.getresponse()
        assert resp.status == status and body in resp.read()
        conn.close()


def test_a_late_client_gets_the_history_then_live_events_and_the_stream_ends_at_stop(dashboard):
    dashboard.publish("config", '{"c":1}', kind="head")
    dashboard.publish("snapshot", '{"n":1}')
    dashboard.publish("cumulative", '{"n":1}', kind="latest")
    dashboard.publish("snapshot", '{"n":2}')
    dashboard.publish("cumulative", '{"n":2}', kind="latest")
    resp = _events(dashboard.port)
    assert resp.status == 200 and resp.getheader("Content-Type") == "text/event-stream"
    assert _read_events(resp, 4) == [
        ("config", '{"c":1}'),
        ("snapshot", '{"n":1}'),
        ("snapshot", '{"n":2}'),
        ("cumulative", '{"n":2}'),  # only the newest of a "latest" event
    ]
    dashboard.publish("snapshot", '{"n":3}')
    assert _read_events(resp, 1) == [("snapshot", '{"n":3}')]
    dashboard.publish("stop", '{"status":"finished"}', kind="latest")
    started = time.monotonic()
    dashboard.stop(5.0)
    assert _read_events(resp, 1) == [("stop", '{"status":"finished"}')]
    assert resp.fp.readline() == b"\n" and resp.fp.readline() == b""  # the frame's end, then the stream ends
    assert time.monotonic() - started < 5.0
    assert dashboard.clients_served == 1


def test_event_clients_are_bounded(dashboard):
    streams = [_events(dashboard.port) for _ in range(MAX_EVENT_CLIENTS)]
    assert all(s.status == 200 for s in streams)
    extra = _events(dashboard.port)
    assert extra.status == 503
    streams[0].close()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # a place frees up once a stream ends
        again = _events(dashboard.port)
        if again.status == 200:
            again.close()
            break
        time.sleep(0.3)
    else:
        pytest.fail("no event stream accepted after one closed")
    for s in streams[1:]:
        s.close()


def test_a_client_that_does_not_read_is_dropped_and_counted(dashboard, monkeypatch):
    monkeypatch.setattr(server_module, "CLIENT_QUEUE", 8)
    sock = socket.create_connection(("127.0.0.1", dashboard.port), timeout=10)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.sendall(b"GET /events HTTP/1.0\r\n\r\n")
    time.sleep(0.3)
    big = '"' + "x" * 60_000 + '"'
    for _ in range(200):  # more than the socket buffers and the queue hold
        dashboard.publish("snapshot", big)
    deadline = time.monotonic() + 15
    while dashboard.slow_clients == 0 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert dashboard.slow_clients == 1
    sock.close()


def test_stop_ends_every_thread_within_its_deadline():
    srv = DashboardServer("127.0.0.1", 0, lambda: b"", lambda: b"", logging.getLogger("test"))
    before = set(threading.enumerate())
    srv.start()
    idle = socket.create_connection(("127.0.0.1", srv.port), timeout=10)  # connected, never sends a request
    stream = _events(srv.port)
    started = time.monotonic()
    srv.stop(3.0)
    assert time.monotonic() - started < 3.5
    assert not set(threading.enumerate()) - before  # the idle connection did not wait out its 5 s timeout
    idle.close()
    stream.close()


def test_a_taken_port_raises_oserror():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        srv = DashboardServer("127.0.0.1", taken.getsockname()[1], lambda: b"", lambda: b"", logging.getLogger("t"))
        with pytest.raises(OSError):
            srv.start()
