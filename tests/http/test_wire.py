"""Wire-level edge cases, against scripted raw TCP servers."""

import threading

from horde import http
from rawserver import RawServer, read_request


def test_close_delimited_body(run, vu):
    def script(conn, i):
        read_request(conn)
        conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end")

    with RawServer(script) as srv:
        res = run(vu, lambda: http.get(srv.url + "/"))
    assert res.status == 200
    assert res.text == "until the end"
    assert res.proto == "HTTP/1.0"
    assert vu.samples[0].tags["proto"] == "HTTP/1.0"


def test_interim_100_continue_is_skipped(run, vu):
    def script(conn, i):
        read_request(conn)
        conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok")

    with RawServer(script) as srv:
        res = run(vu, lambda: http.post(srv.url + "/", b"x"))
    assert res.status == 201 and res.text == "ok"
    assert len(vu.samples) == 1


def test_garbage_response_is_a_clear_error(run, vu):
    def script(conn, i):
        read_request(conn)
        conn.sendall(b"\x00\x00\x12\x04\x00\x00\x00\x00\x00 definitely not HTTP/1.1\r\n\r\n")

    with RawServer(script) as srv:
        res = run(vu, lambda: http.get(srv.url + "/"))
    assert res.status == 0 and res.error_code == 1000
    assert "HTTP/1.1 only" in res.error


def test_switching_protocols_is_returned_and_connection_dropped(run, vu):
    def script(conn, i):
        read_request(conn)
        if i == 0:
            conn.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n\x00\x00")
        else:
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        conn.recv(10)

    with RawServer(script) as srv:

        async def go():
            return await http.get(srv.url + "/", headers={"Upgrade": "h2c", "Connection": "Upgrade"}), await http.get(
                srv.url + "/"
            )

        upgraded, after = run(vu, go)
        accepted = srv.accepted
    assert upgraded.status == 101  # as Go's client (and so k6) returns it
    assert after.status == 200
    assert accepted == 2  # the upgraded connection was never reused


def test_stale_pooled_connection_is_retried_for_get(run, vu):
    def script(conn, i):
        read_request(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n" + str(i).encode())
        if i == 0:  # keep-alive promised, but close as soon as the next request arrives
            read_request(conn)

    with RawServer(script) as srv:

        async def go():
            return await http.get(srv.url + "/"), await http.get(srv.url + "/")

        a, b = run(vu, go)
    assert (a.status, a.text) == (200, "0")
    assert (b.status, b.text) == (200, "1")
    assert len(vu.samples) == 2


def test_stale_pooled_connection_fails_a_post(run, vu):
    def script(conn, i):
        read_request(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx")
        read_request(conn)

    with RawServer(script) as srv:

        async def go():
            return await http.post(srv.url + "/", b"a"), await http.post(srv.url + "/", b"b")

        a, b = run(vu, go)
    assert a.status == 200
    assert b.status == 0 and b.error == "EOF" and b.error_code == 1000


def test_tls_handshake_timeout(run, vu):
    release = threading.Event()

    def script(conn, i):
        release.wait(5)  # accept, never speak TLS

    with RawServer(script) as srv:
        try:
            res = run(vu, lambda: http.get(f"https://127.0.0.1:{srv.port}/", timeout=0.2))
        finally:
            release.set()
    assert res.status == 0 and res.error_code == 1050
    assert res.timings["connecting"] > 0


def test_response_timeout_mid_body(run, vu):
    release = threading.Event()

    def script(conn, i):
        read_request(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial")
        release.wait(5)

    with RawServer(script) as srv:
        try:
            res = run(vu, lambda: http.get(srv.url + "/", timeout=0.2))
        finally:
            release.set()
    assert res.status == 0 and res.error_code == 1050
    t = res.timings
    assert t["waiting"] > 0 and t["receiving"] > 0
    assert vu.state.bytes_received > 0
