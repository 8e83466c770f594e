"""Server-sent events of the live pages: auth, the GET's JSON in every event, updates on change."""

from __future__ import annotations

import json
import socket
import time

import pytest
from helpers import create_run, finish, push
from horde.testing.browser import Browser


def open_stream(srv, path: str, token: str | None, header: bool = False) -> socket.socket:
    """Send the GET of an event stream on a raw socket; return it (status line not read yet)."""
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
    auth = f"Authorization: Token {token}\r\n" if header and token else ""
    query = f"?token={token}" if token and not header else ""
    s.sendall(f"GET {path}{query} HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n{auth}\r\n".encode())
    return s


class EventReader:
    """The events of one stream: each ``data:`` line's JSON."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = b""
        head = self._until(b"\r\n\r\n")
        self.status = int(head.split()[1])
        self.headers = head.decode("latin-1").lower()

    def _until(self, sep: bytes) -> bytes:
        while sep not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("stream closed")
            self.buf += chunk
        out, self.buf = self.buf.split(sep, 1)
        return out

    def next_event(self, within: float = 15) -> dict:
        end = time.monotonic() + within
        data = b""
        while time.monotonic() < end:
            # chunked transfer encoding: size line, chunk, CRLF; events inside are separated by blank lines
            while b"data: " not in data or not data.rstrip(b"\r\n").endswith(b"}"):
                size = int(self._until(b"\r\n"), 16)
                while len(self.buf) < size + 2:
                    self.buf += self.sock.recv(65536)
                data += self.buf[:size]
                self.buf = self.buf[size + 2 :]
            for line in data.split(b"\n"):
                if line.startswith(b"data: "):
                    return json.loads(line[6:])
        raise AssertionError("no event in time")


def test_event_streams_need_a_token_of_the_runs_project(server):
    tok, other = server.token(), server.token()
    rid = create_run(server, tok)[1]["reference_id"]
    for token, status in ((None, 401), ("hi_wrong", 401), (other, 404)):
        s = open_stream(server, f"/api/v1/runs/{rid}/events", token)
        try:
            r = EventReader(s)
            assert r.status == status
        finally:
            s.close()
    s = open_stream(server, "/api/v1/runs/events", None)
    try:
        assert EventReader(s).status == 401
    finally:
        s.close()


@pytest.mark.parametrize("header", [False, True], ids=["query-token", "header-token"])
def test_run_events_carry_the_gets_json_and_follow_pushes_and_finish(server, header):
    tok = server.token()
    rid = create_run(server, tok)[1]["reference_id"]
    s = open_stream(server, f"/api/v1/runs/{rid}/events", tok, header=header)
    try:
        r = EventReader(s)
        assert r.status == 200 and "text/event-stream" in r.headers
        first = r.next_event()
        assert first["run"]["id"] == rid and first["run"]["state"] == "created" and first["run"]["requests"] == 0
        assert set(first) == set(server.run(tok, rid))  # the same JSON as GET /api/v1/runs/{id}
        t0 = time.monotonic()
        assert push(server, tok, rid)[0] == 200
        ev = r.next_event()
        while ev["run"]["requests"] == 0:
            ev = r.next_event()
        assert ev["run"]["state"] == "running" and ev["run"]["requests"] == 20
        assert time.monotonic() - t0 < 5
        finish(server, tok, rid)
        while ev["run"]["state"] != "finished":
            ev = r.next_event()
        assert ev == server.run(tok, rid) | {"run": ev["run"]}
    finally:
        s.close()


def test_runs_list_events_show_a_new_run(server):
    tok = server.token()
    s = open_stream(server, "/api/v1/runs/events", tok)
    try:
        r = EventReader(s)
        assert r.status == 200
        assert r.next_event()["runs"] == []
        rid = create_run(server, tok, name="new one")[1]["reference_id"]
        ev = r.next_event()
        assert [(x["id"], x["name"]) for x in ev["runs"]] == [(rid, "new one")]
    finally:
        s.close()


def test_open_event_streams_do_not_delay_the_services_stop(make_server):
    srv = make_server()
    tok = srv.token()
    rid = create_run(srv, tok)[1]["reference_id"]
    socks = [open_stream(srv, f"/api/v1/runs/{rid}/events", tok) for _ in range(5)]
    try:
        for s in socks:
            EventReader(s).next_event()
        t0 = time.monotonic()
        srv.stop()
        assert time.monotonic() - t0 < 8
    finally:
        for s in socks:
            s.close()


def test_run_page_updates_live_from_the_event_stream(chromium_bin, make_server, tmp_path):
    srv = make_server()
    tok = srv.token()
    rid = create_run(srv, tok, name="live <b>page</b>")[1]["reference_id"]
    with Browser(chromium_bin, tmp_path / "profile") as b:
        b.navigate(f"{srv.url}/runs/{rid}#token={tok}")
        b.wait_for("document.body.dataset.loaded === 'run'")
        assert b.evaluate("document.getElementById('run-state').dataset.state") == "created"
        assert push(srv, tok, rid)[0] == 200
        b.wait_for("document.getElementById('run-state').dataset.state === 'running'", timeout=10)
        finish(srv, tok, rid)
        b.wait_for("document.getElementById('run-state').dataset.state === 'finished'", timeout=10)
        # the updates came by the event stream: the page made one GET of the run, no polling
        # (an event stream that is still open has no resource-timing entry)
        gets = b.evaluate(
            "performance.getEntriesByType('resource').filter(e => e.name.includes('/api/v1/runs/')).map(e => e.name)"
        )
        assert sum(1 for g in gets if g.endswith(f"/api/v1/runs/{rid}")) == 1, gets
        assert "<b>page</b>" not in b.html()
