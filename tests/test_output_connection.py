"""horde.output.KeepAliveConnection against a real HTTP server on 127.0.0.1: keep-alive, Retry-After, a stale
connection's one fresh try, refused connections, and abort from another thread."""

from __future__ import annotations

import http.server
import socket
import threading
from collections.abc import Iterator

import pytest
from horde.output import ConnectionFailed, KeepAliveConnection, parse_retry_after
from horde.testing import free_port


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    connections = 0
    stall = threading.Event()
    release = threading.Event()


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.server.connections += 1

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.path == "/stall":
            self.server.stall.set()
            self.server.release.wait(30)
            return
        if self.path == "/busy":
            self._answer(503, b"busy", {"Retry-After": "7"})
        elif self.path == "/bye":
            self._answer(200, body, {"Connection": "close"})
        else:
            self._answer(200, body, {})

    def _answer(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[_Server]:
    srv = _Server(("127.0.0.1", 0), _Handler)
    srv.stall, srv.release = threading.Event(), threading.Event()
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.release.set()
    srv.shutdown()
    srv.server_close()
    thread.join(10)


def _url(srv: _Server) -> str:
    return f"http://127.0.0.1:{srv.server_address[1]}"


def test_requests_share_one_connection_and_answers_carry_status_body_and_retry_after(server: _Server) -> None:
    conn = KeepAliveConnection(_url(server), timeout=10)
    try:
        first = conn.request("POST", "/echo", b"one", {"Content-Type": "text/plain"})
        second = conn.request("POST", "/echo", b"two")
        busy = conn.request("POST", "/busy", b"")
    finally:
        conn.close()
    assert (first.ok, first.body, second.body) == (True, b"one", b"two")
    assert (busy.ok, busy.status, busy.body, busy.retry_after, busy.header("Retry-After")) == (
        False,
        503,
        b"busy",
        7.0,
        "7",
    )
    assert server.connections == 1


def test_connection_close_answers_and_idle_closed_connections_get_a_new_connection(server: _Server) -> None:
    conn = KeepAliveConnection(_url(server), timeout=10)
    try:
        assert conn.request("POST", "/bye", b"a").body == b"a"
        assert conn.request("POST", "/echo", b"b").body == b"b"  # a new connection after Connection: close
        assert server.connections == 2
        # the server drops the idle keep-alive connection: the next request is sent once more on a fresh one
        raw = conn._conn  # noqa: SLF001 - the test closes the server's side of it
        assert raw is not None and raw.sock is not None
        raw.sock.shutdown(socket.SHUT_RDWR)
        assert conn.request("POST", "/echo", b"c").body == b"c"
        assert server.connections == 3
    finally:
        conn.close()


def test_no_answer_is_one_short_reason() -> None:
    conn = KeepAliveConnection(f"http://127.0.0.1:{free_port()}", timeout=5)
    with pytest.raises(ConnectionFailed, match="^connection refused$") as info:
        conn.request("GET", "/")
    assert not info.value.aborted and isinstance(info.value.__cause__, ConnectionRefusedError)
    with pytest.raises(ValueError, match="invalid URL"):
        KeepAliveConnection("ftp://example.com", timeout=1)


def test_abort_from_another_thread_fails_the_request_in_flight_and_every_later_one(server: _Server) -> None:
    conn = KeepAliveConnection(_url(server), timeout=60)
    outcome: list[BaseException] = []

    def send() -> None:
        try:
            conn.request("POST", "/stall", b"x")
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            outcome.append(exc)

    sender = threading.Thread(target=send)
    sender.start()
    assert server.stall.wait(30)
    conn.abort()
    sender.join(30)
    assert not sender.is_alive()
    assert len(outcome) == 1 and isinstance(outcome[0], ConnectionFailed) and outcome[0].aborted
    with pytest.raises(ConnectionFailed, match="aborted"):
        conn.request("POST", "/echo", b"y")
    assert conn.aborted


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("120", 120.0),
        (" 1.5 ", 1.5),
        ("0", 0.0),
        (None, None),
        ("", None),
        ("-3", None),
        ("nan", None),
        ("Wed, 21 Oct 2015 07:28:00 GMT", None),
    ],
)
def test_retry_after_is_the_delay_form_only(value: str | None, seconds: float | None) -> None:
    assert parse_retry_after(value) == seconds
