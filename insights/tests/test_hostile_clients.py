"""The real service as a subprocess against hostile clients: a decompression bomb, a crowd of new
connections, idle sockets and a slow-loris client. Each case is bounded in time."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import cramjam
import pytest
import wirebuild
from helpers import create_run, push
from horde_insights.testing import InsightsProcess, api


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident memory so far (VmHWM), in MB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM in /proc status")


@pytest.fixture
def service(tmp_path):
    """A dedicated service on SQLite (the database plays no part here); 2 s idle timeout."""
    srv = InsightsProcess(
        str(tmp_path / "insights.db"), log=tmp_path / "insights.log", args=("--idle-timeout", "2s")
    ).start()
    yield srv
    srv.stop()


def normal_request_seconds(srv: InsightsProcess) -> float:
    t0 = time.monotonic()
    status, body = api(srv.url + "/healthz", None, timeout=5)
    assert status == 200 and body["status"] == "ok"
    return time.monotonic() - t0


@pytest.mark.parametrize(
    "bomb",
    [
        pytest.param(lambda: wirebuild.counter_bomb(33_000_000), id="33M-empty-counter-values"),
        pytest.param(lambda: wirebuild.label_bomb(3_000_000), id="3M-labels"),
        pytest.param(lambda: wirebuild.histogram_bomb(60_000_000), id="60M-histogram-counters"),
    ],
)
def test_push_bomb_is_413_fast_in_bounded_memory_and_the_service_goes_on(service, bomb):
    raw = bomb()
    assert 16 << 20 < len(raw) <= 128 << 20  # within the decoded limit, far past the entries cap
    body = bytes(cramjam.snappy.compress_raw(raw))
    del raw
    assert len(body) < 16 << 20
    tok = service.token()
    run_id = create_run(service, tok)[1]["reference_id"]
    t0 = time.monotonic()
    status, reply = push(service, tok, run_id, body=body)
    took = time.monotonic() - t0
    assert status == 413, reply
    assert "entries" in reply["error"]["message"] and reply["error"]["code"] == 413
    assert took < 10, f"answered after {took:.1f} s"
    assert peak_rss_mb(service.proc.pid) < 256
    assert push(service, tok, run_id)[0] == 200  # a normal push right after
    assert normal_request_seconds(service) < 1


def test_listen_backlog_takes_300_new_connections_within_a_second(service):
    socks = []
    try:
        t0 = time.monotonic()
        for _ in range(300):
            socks.append(socket.create_connection(("127.0.0.1", service.port), timeout=5))
        took = time.monotonic() - t0
        assert took < 1, f"300 connections took {took:.2f} s"
        # every one was accepted and is served (the last one opened too)
        for s in (socks[0], socks[-1]):
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            assert s.recv(100).startswith(b"HTTP/1.1 200")
    finally:
        for s in socks:
            s.close()


def test_500_idle_sockets_do_not_keep_a_request_out_and_are_closed(service):
    socks = []
    try:
        for _ in range(500):
            socks.append(socket.create_connection(("127.0.0.1", service.port), timeout=5))
        assert normal_request_seconds(service) < 1
        # the idle ones are closed by the service after the idle timeout (2 s here)
        s = socks[0]
        s.settimeout(10)
        t0 = time.monotonic()
        assert s.recv(100) == b""
        assert time.monotonic() - t0 < 8
    finally:
        for s in socks:
            s.close()
    assert normal_request_seconds(service) < 1


def test_slow_loris_does_not_block_others_and_is_cut_off(service):
    request = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100 + b"\r\n\r\n"
    loris = socket.create_connection(("127.0.0.1", service.port), timeout=5)
    closed = threading.Event()
    sent = []

    def drip() -> None:  # one header byte every 0.5 s (faster than the idle timeout)
        try:
            for b in request:
                loris.sendall(bytes([b]))
                sent.append(b)
                time.sleep(0.5)
        except OSError:
            closed.set()

    t = threading.Thread(target=drip, daemon=True)
    t.start()
    try:
        for _ in range(5):
            time.sleep(0.3)
            assert normal_request_seconds(service) < 1
        loris.settimeout(15)
        t0 = time.monotonic()
        assert loris.recv(100) == b""  # cut off: the headers did not arrive within the deadline
        assert time.monotonic() - t0 < 12
        assert len(sent) < len(request)
    finally:
        loris.close()
        t.join(5)
    assert normal_request_seconds(service) < 1


def test_a_slow_body_is_cut_off_and_the_service_goes_on(service):
    tok = service.token()
    s = socket.create_connection(("127.0.0.1", service.port), timeout=5)
    try:
        s.sendall(
            b"POST /v1/tests HTTP/1.1\r\nHost: x\r\nAuthorization: Token "
            + tok.encode()
            + b"\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"
        )
        s.settimeout(10)
        t0 = time.monotonic()
        assert s.recv(100) == b""  # silent for longer than the idle timeout: closed without a reply
        assert time.monotonic() - t0 < 8
    finally:
        s.close()
    assert normal_request_seconds(service) < 1
    assert "Traceback" not in Path(service.log).read_text()


def test_gzip_bomb_is_413_at_the_decoded_limit_in_bounded_memory(service):
    import zlib

    tok = service.token()
    run_id = create_run(service, tok)[1]["reference_id"]
    comp = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    chunk = b"\x00" * (1 << 20)
    body = b"".join(comp.compress(chunk) for _ in range(1024)) + comp.flush()  # 1 GiB of zeros
    assert len(body) < 2 << 20
    t0 = time.monotonic()
    status, reply = push(service, tok, run_id, body=body, headers={"Content-Encoding": "gzip"})
    assert status == 413 and "decompressed" in reply["error"]["message"], reply
    assert time.monotonic() - t0 < 10
    assert peak_rss_mb(service.proc.pid) < 256
    # a gzip push within the limits is stored
    ok = gzip_of(wirebuild.metric_set("g", 1, [wirebuild.series({}, 2, [wirebuild.at(1) + wirebuild.double(2, 3.0)])]))
    assert push(service, tok, run_id, body=ok, headers={"Content-Encoding": "gzip"}) == (
        200,
        {"stored": True, "duplicate": False},
    )
    assert normal_request_seconds(service) < 1


def gzip_of(data: bytes) -> bytes:
    import gzip

    return gzip.compress(data)


def test_a_huge_request_head_is_431_and_the_service_goes_on(service):
    s = socket.create_connection(("127.0.0.1", service.port), timeout=5)
    try:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        for _ in range(100):
            s.sendall(b"X-Filler: " + b"a" * 1000 + b"\r\n")
        s.settimeout(5)
        reply = b""
        while True:
            chunk = s.recv(1000)
            if not chunk:
                break
            reply += chunk
        # refused and closed (a 431, unless the close reset the connection before the client read it)
        assert reply == b"" or reply.startswith(b"HTTP/1.1 431"), reply[:100]
    except (ConnectionResetError, BrokenPipeError):
        pass  # closed while still sending: refused too
    finally:
        s.close()
    assert normal_request_seconds(service) < 1


def test_no_token_wrong_token_and_another_projects_token_on_every_api_route(service):
    tok, other = service.token(), service.token()
    run_id = create_run(service, tok)[1]["reference_id"]
    routes = [
        ("POST", "/v1/tests"),
        ("POST", f"/v1/tests/{run_id}"),
        ("POST", f"/v2/metrics/{run_id}"),
        ("GET", "/api/v1/runs"),
        ("GET", f"/api/v1/runs/{run_id}"),
    ]
    for method, path in routes:
        body = b"{}" if method == "POST" else None
        for token in (None, "hi_not-a-token"):
            status, reply = api(service.url + path, token, method, body, {"Content-Type": "application/json"})
            assert status == 401 and reply["error"]["code"] == 2, (method, path, token, reply)
        if path.endswith(f"/{run_id}"):
            status, reply = api(service.url + path, other, method, body, {"Content-Type": "application/json"})
            assert status == 404 and "not found" in reply["error"]["message"], (method, path, reply)
    assert service.run(tok, run_id)["run"]["state"] == "created"
