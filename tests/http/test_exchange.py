"""An exchange on a pooled connection in C (horde.http._exchange) against h1's Python, the reference: the same
RawResponse for the same bytes however they arrive, the connection back in its pool or closed as in Python,
and nothing done for the requests it leaves to Python."""

import asyncio
import gc
import os
import time
import weakref

import pytest
from horde.http import h1
from horde.http.transport import RawRequest, RawResponse
from rawserver import RawServer, read_request

if h1._begin is None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail("horde.http._exchange is not built (a C compiler and Python's headers are needed)", pytrace=False)
    pytest.skip("horde.http._exchange is not built", allow_module_level=True)

from horde.http import _exchange  # noqa: E402

FIRST_CONNECTION = [  # per request: what the server writes, in parts a little apart
    [b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"],
    [b"HTTP/1.1 404 Not Found\r\nSet-Cookie: a=1\r\nContent-Length: 2\r\n\r\nno"],
    [b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"],
    [b"HTTP/1.1 201 Created\r\nContent-Length: 10\r\n\r\nhello", b"world"],
    [b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"],
    [b"HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\n"],  # to HEAD
    [b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok"],
    [b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n", b"\r\nhead"],  # the head over two reads
    [b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 3\r\n\r\nbye"],  # then the server closes
]
AGAIN = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nagain"
METHODS = ["GET"] * 5 + ["HEAD"] + ["GET"] * 4


def script(conn, index):
    answers = FIRST_CONNECTION if index == 0 else [[AGAIN]] * 100
    for parts in answers:
        if not read_request(conn):
            return
        for i, part in enumerate(parts):
            if i:
                time.sleep(0.03)
            conn.sendall(part)


def answer_every_request(conn, index):
    while read_request(conn):
        conn.sendall(AGAIN)


def request(port, method="GET", **kw):
    return RawRequest(method, "http", "127.0.0.1", port, "/", [("Host", f"127.0.0.1:{port}")], **kw)


def counting_begin(monkeypatch):
    """h1._begin, counting the requests it started."""
    started = []
    real = h1._begin

    def begin(idle, req):
        conn = real(idle, req)
        if conn is not None:
            started.append(conn)
        return conn

    monkeypatch.setattr(h1, "_begin", begin)
    return started


def python_only(monkeypatch):
    """h1's Python exchange (with the scanner still reading what it can, as in C)."""
    monkeypatch.setattr(h1, "_conn_class", h1._Conn)
    monkeypatch.setattr(h1, "_begin", None)
    monkeypatch.setattr(h1, "_end", h1._end_exchange)


def run_on(loop_kind, main):
    if loop_kind == "uvloop":
        import uvloop

        return uvloop.run(main())
    return asyncio.run(main())


def exchange_all(loop_kind):
    """The sequence of requests of METHODS on one transport: (RawResponses, pooled connections after each)."""
    with RawServer(script) as srv:

        async def main():
            t = h1.H1Transport()
            requests = {method: request(srv.port, method) for method in METHODS}  # as a client's routes keep them
            responses, pooled = [], []
            try:
                for method in METHODS:
                    responses.append(await t.send(requests[method]))
                    pooled.append(sum(len(v) for v in t._idle.values()))
            finally:
                t.close()
            return responses, pooled

        responses, pooled = run_on(loop_kind, main)
        assert srv.accepted == 2
    return responses, pooled


def fields(r):
    """All but the timings, and the port of each run's own server."""
    return {name: getattr(r, name) for name in RawResponse.__slots__ if name not in ("timings", "remote_port")} | {
        "reason": r.reason,
        "headers": r.headers,
    }


def test_c_and_python_read_the_same_responses(loop_kind, monkeypatch):
    started = counting_begin(monkeypatch)
    c_responses, c_pooled = exchange_all(loop_kind)
    assert len(started) == len(METHODS) - 3  # all but each connection's first request, and the first HEAD
    monkeypatch.undo()
    python_only(monkeypatch)
    py_responses, py_pooled = exchange_all(loop_kind)

    assert c_pooled == py_pooled == [1] * 8 + [0, 1]  # closed after "Connection: close", then a new one
    for c, p in zip(c_responses, py_responses, strict=True):
        assert fields(c) == fields(p)
        assert c.remote_port == c_responses[0].remote_port > 0 and c.remote_ip == "127.0.0.1"
        assert len(c.timings) == 6 and all(isinstance(x, float) and x >= 0 for x in c.timings)
    assert [r.body for r in c_responses] == [
        b"hello",
        b"no",
        b"hello",
        b"helloworld",
        b"",
        b"",
        b"ok",
        b"head",
        b"bye",
        b"again",
    ]
    assert [r.special for r in c_responses] == [False, True, None, None, False, None, None, None, False, False]
    assert c_responses[6].proto == "HTTP/1.0"
    split = c_responses[3].timings
    assert split[5] >= 20  # receiving: until the second part, 30 ms later
    assert c_responses[-1].timings[1] > 0  # a new connection: connecting


def test_the_c_exchange_times_a_request_in_the_clock_of_time_perf_counter_ns(loop_kind, monkeypatch):
    started = counting_begin(monkeypatch)

    with RawServer(answer_every_request) as srv:

        async def main():
            t = h1.H1Transport()
            req = request(srv.port)
            try:
                await t.send(req)
                before = time.perf_counter_ns()
                res = await t.send(req)
                after = time.perf_counter_ns()
            finally:
                t.close()
            c = started[0]
            assert before <= c.t0 <= c.t_ready <= c.t_sent <= c.t_first <= c.t_end <= after
            assert res.timings == (
                (c.t_ready - c.t0) / 1e6,
                0.0,
                0.0,
                (c.t_sent - c.t_ready) / 1e6,
                (c.t_first - c.t_sent) / 1e6,
                (c.t_end - c.t_first) / 1e6,
            )
            return res

        res = run_on(loop_kind, main)
    assert len(started) == 1 and res.body == b"again"


def test_a_write_that_pauses_the_transport_waits_for_it_to_drain(loop_kind, monkeypatch):
    started = counting_begin(monkeypatch)

    class PausingWrites:
        """The connection's real transport, pausing writing at each write for 50 ms."""

        def __init__(self, conn):
            self.conn, self.real = conn, conn.tr

        def write(self, data):
            self.real.write(data)
            self.conn.pause_writing()
            self.conn.loop.call_later(0.05, self.conn.resume_writing)

        def __getattr__(self, name):
            return getattr(self.real, name)

    with RawServer(answer_every_request) as srv:

        async def main():
            t = h1.H1Transport()
            req = request(srv.port)
            try:
                await t.send(req)
                conn = next(iter(t._all))
                conn.tr = PausingWrites(conn)
                return await t.send(req)
            finally:
                t.close()

        res = run_on(loop_kind, main)
    assert len(started) == 1 and started[0].t_sent > 0
    assert res.body == b"again"
    assert res.timings[3] >= 40  # sending: until the transport drained


def test_begin_leaves_to_python_what_it_does_not_do(loop_kind):
    with RawServer(answer_every_request) as srv:

        async def main():
            t = h1.H1Transport()
            try:
                req = request(srv.port)
                assert _exchange.begin(t._idle, req) is None  # never sent: no head, no pool
                await t.send(req)
                idle = t._idle[("http", "127.0.0.1", srv.port)]
                conn = idle[0]
                declined = [
                    request(srv.port),  # no head yet
                    request(srv.port, body=b"x", head=req.head),
                    request(srv.port, t_start=time.perf_counter(), head=req.head),  # queued: blocked since then
                    RawRequest("GET", "http", "127.0.0.1", srv.port + 1, "/", [], head=req.head),  # another host
                ]
                for other in declined:
                    assert _exchange.begin(t._idle, other) is None
                    assert idle == [conn] and conn.waiter is None and conn.t_sent != 0
                conn.paused = True
                assert _exchange.begin(t._idle, req) is None and idle == [conn]
                conn.paused = False
                conn.closed = True  # closed while idle: dropped, and nothing else to use
                assert _exchange.begin(t._idle, req) is None and idle == []
            finally:
                t.close()

        run_on(loop_kind, main)


def test_a_connection_shows_the_garbage_collector_its_c_fields_and_is_collected():
    with RawServer(answer_every_request) as srv:

        async def main():
            t = h1.H1Transport()
            req = request(srv.port)
            await t.send(req)
            await t.send(req)
            conn = next(iter(t._all))
            held = {name: getattr(conn, name) for name in ("loop", "tr", "timer", "head", "body", "remote_ip")}
            assert all(value is not None for value in held.values())
            referents = gc.get_referents(conn)
            assert [name for name, value in held.items() if not any(r is value for r in referents)] == []
            ref = weakref.ref(conn)
            t.close()
            return ref

        ref = asyncio.run(main())
    gc.collect()
    assert ref() is None


def test_configure_refuses_a_response_class_it_cannot_fill():
    class Other:
        __slots__ = ("status",)

    with pytest.raises(TypeError, match="other slots"):
        _exchange.configure(RawRequest, Other)
    _exchange.configure(RawRequest, RawResponse)
