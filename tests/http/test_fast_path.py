"""The option-less fast path (``http.get(url)``) answers exactly as the general path does.

``http.get(url)`` without keyword arguments goes through ``Client.fast`` (a
cached route); any keyword argument (here ``timeout=60.0``, the default) takes
the general path of ``Client.request``. Both must give the same response and
emit the same samples, whatever the response is.
"""

import asyncio
import time
import zlib

import pytest
from horde import http
from horde.http.transport import RawResponse, parse_header_lines, parse_reason
from httpvu import VU
from rawserver import RawServer, read_request

PATHS = [
    "/",
    "/status/404",
    "/status/503",
    "/redirect/3",
    "/cookies/set?a=1&b=2",
    "/gzip",
    "/deflate",
    "/chunked",
    "/json",
    "/bytes/70000",
    "/redirect-to?url=/json&status_code=307",
]


def _response_view(res):
    return {
        "status": res.status,
        "status_text": res.status_text,
        "proto": res.proto,
        "url": res.url,
        "body": res.body,
        "error": res.error,
        "error_code": res.error_code,
        "tls_version": res.tls_version,
        "headers": {k: v for k, v in res.headers.items() if k.lower() != "date"},
        "cookies": res.cookies,
        "remote_ip": res.remote_ip,
        "request": (res.request.method, res.request.url, res.request.headers, res.request.body),
        "timings": sorted(res.timings),
    }


def _samples_view(samples):
    return [([m.name for m in c.metrics], dict(c.tags.items()), len(c.values)) for c in samples]


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_fast_and_general_paths_agree(run, target, path, method):
    fast_vu, general_vu = VU(), VU()
    fn = http.get if method == "GET" else http.head
    fast = run(fast_vu, lambda: fn(target.url + path))
    general = run(general_vu, lambda: fn(target.url + path, timeout=60.0))
    assert _response_view(fast) == _response_view(general)
    assert _samples_view(fast_vu.samples) == _samples_view(general_vu.samples)


def test_fast_path_follows_cookies_set_earlier_in_the_iteration(run, vu, target):
    async def go():
        await http.get(target.url + "/cookies/set?session=abc")
        return await http.get(target.url + "/cookies")  # the jar holds a cookie: it must be sent

    res = run(vu, go)
    assert res.json() == {"cookies": {"session": "abc"}}


def test_fast_path_reuses_its_route_and_request(run, vu, target):
    async def go():
        await http.get(target.url + "/")
        client = http.client()
        (route,) = client._routes.values()
        first = route.request
        await http.get(target.url + "/")
        return first, route.request, first.head

    first, second, head = run(vu, go)
    assert first is second
    assert head.startswith(b"GET / HTTP/1.1\r\nHost: ")  # encoded once, kept on the request


@pytest.mark.parametrize(
    "callback,expected_tag,metrics",
    [
        (None, None, 8),
        (http.expected_statuses(404), "true", 9),
    ],
)
def test_fast_path_honours_the_response_callback(run, vu, target, callback, expected_tag, metrics):
    previous = http.set_response_callback(callback)
    try:
        res = run(vu, lambda: http.get(target.url + "/status/404"))
    finally:
        http.set_response_callback(previous)
    assert res.status == 404
    (c,) = vu.samples
    assert c.tags.get("expected_response") == expected_tag
    assert len(c.metrics) == metrics


def test_fast_path_discards_bodies_when_asked(run, target):
    vu = VU(options={"discardResponseBodies": True})
    res = run(vu, lambda: http.get(target.url + "/json"))
    assert res.status == 200 and res.body is None


def test_fast_path_invalid_url_is_a_script_error(run, vu):
    with pytest.raises(http.InvalidURL):
        run(vu, lambda: http.get("not a url"))


def test_fast_path_connection_error_is_a_response(run, vu):
    with RawServer(lambda conn, i: None) as srv:  # accepts, then closes without answering
        res = run(vu, lambda: http.get(srv.url + "/"))
    assert res.status == 0 and res.error_code in (1000, 1220)
    assert vu.samples[0].tags["status"] == "0"


def test_request_functions_return_awaitables(run, vu, target):
    async def go():
        return await asyncio.gather(http.get(target.url + "/"), http.request("GET", target.url + "/json"))

    a, b = run(vu, go)
    assert a.status == 200 and b.json()["name"] == "horde"


# -- the lazy per-connection timer ----------------------------------------------------------


def test_a_shorter_deadline_after_a_longer_one_still_times_out(run, vu, target):
    async def go():
        first = await http.get(target.url + "/")  # arms the connection's timer 60 s ahead
        slow = await http.get(target.url + "/delay/3000", timeout=0.2)  # same connection, earlier deadline
        return first, slow

    first, slow = run(vu, go)
    assert first.status == 200
    assert slow.error_code == 1050
    assert slow.timings["waiting"] < 1500


def test_an_early_timer_rearms_for_a_later_deadline(run, vu, target):
    async def go():
        quick = await http.get(target.url + "/", timeout=0.2)  # arms the timer 0.2 s ahead
        slower = await http.get(target.url + "/delay/500", timeout=2.0)  # outlives that timer
        return quick, slower

    quick, slower = run(vu, go)
    assert quick.status == 200
    assert slower.status == 200 and slower.error == ""
    assert target.connections >= 1


def test_closed_connections_leave_no_timer(run, vu, target):
    async def go():
        await http.get(target.url + "/")
        conns = list(http.client().transport._all)
        http.close()
        return conns

    (conn,) = run(vu, go)
    assert conn.closed and conn.timer is None


# -- response heads parsed on demand ---------------------------------------------------------


def test_head_parsing():
    head = (
        b"HTTP/1.1 404 Not Found\r\nServer: x\r\nX-Folded: a\r\n  b\r\nSet-Cookie: a=1\r\nset-cookie: b=2\r\nEmpty:\r\n"
    )
    assert parse_reason(head) == "Not Found"
    assert parse_reason(b"HTTP/1.1 200") == ""
    assert parse_header_lines(head) == [
        (b"Server", b"x"),
        (b"X-Folded", b"a b"),
        (b"Set-Cookie", b"a=1"),
        (b"set-cookie", b"b=2"),
        (b"Empty", b""),
    ]
    assert parse_header_lines(b"HTTP/1.0 200 OK\nA: 1\nB:2") == [(b"A", b"1"), (b"B", b"2")]
    raw = RawResponse(200, None, "HTTP/1.1", None, b"", (0.0,) * 6, None, 0, 0, head=head)
    assert raw.reason == "Not Found" and raw.headers[0] == (b"Server", b"x")


def test_interim_response_headers_are_not_the_response_headers(run, vu):
    def script(conn, i):
        read_request(conn)
        conn.sendall(
            b"HTTP/1.1 100 Continue\r\nX-Interim: yes\r\n\r\n"
            b"HTTP/1.1 200 Fine\r\nX-Final: yes\r\nContent-Length: 2\r\n\r\nok"
        )

    with RawServer(script) as srv:
        res = run(vu, lambda: http.get(srv.url + "/"))
    assert res.status_text == "200 Fine"
    assert dict(res.headers) == {"X-Final": "yes", "Content-Length": "2"}


def test_head_split_across_packets(run, vu):
    def script(conn, i):
        read_request(conn)
        for part in (b"HTTP/1.1 200 OK\r\nSet-Coo", b"kie: k=v; Path=/\r\nContent-", b"Length: 3\r\n\r\nabc"):
            conn.sendall(part)
            time.sleep(0.02)

    with RawServer(script) as srv:
        res = run(vu, lambda: http.get(srv.url + "/"))
    assert res.text == "abc"
    assert res.headers["set-cookie"] == "k=v; Path=/"
    assert res.cookies["k"][0]["value"] == "v"


def test_headers_of_a_response_are_read_once():
    raw = RawResponse(200, None, "HTTP/1.1", None, b"", (0.0,) * 6, None, 0, 0, head=b"HTTP/1.1 200 OK\r\nA: 1\r\nA: 2")
    headers = http.Headers.of(raw)
    assert headers["a"] == "1, 2" and headers.get_all("A") == ["1", "2"] and len(headers) == 1


def test_plain_http_never_builds_a_tls_context(run, vu, target):
    async def go():
        await http.get(target.url + "/")
        return http.client().transport._ssl

    ssl_setting = run(vu, go)
    assert callable(ssl_setting) and not hasattr(ssl_setting, "wrap_socket")  # still the factory


def test_timings_have_k6s_nanosecond_resolution(run, vu, target):
    async def go():
        return [await http.get(target.url + "/"), await http.get(target.url + "/json", timeout=5.0)]

    run(vu, go)
    for c in vu.samples:
        values = c.values[1:8]  # http_req_duration and the six timings, in ms
        assert all(round(v, 6) == v for v in values), values
        assert values[0] == round(values[4] + values[5] + values[6], 6)


def test_pooled_requests_ask_asyncio_for_the_running_loop_only_to_connect(run, vu, target, monkeypatch):
    # each asyncio.get_running_loop() is a getpid() system call: none on a pooled request
    calls = []
    real = asyncio.get_running_loop

    def counting():
        calls.append(1)
        return real()

    async def fn():
        await http.get(target.url + "/")  # connects
        monkeypatch.setattr(asyncio, "get_running_loop", counting)
        try:
            for _ in range(20):
                await http.get(target.url + "/")
        finally:
            monkeypatch.setattr(asyncio, "get_running_loop", real)

    run(vu, fn)
    assert calls == []


def test_a_vu_gets_a_new_client_on_another_event_loop(vu, target):
    from horde.vustate import current_vu

    async def fn():
        current_vu.set(vu.state)
        await http.get(target.url + "/")
        assert http.client() is http.client()
        return http.client()

    try:
        first = asyncio.run(fn())
        second = asyncio.run(fn())  # the first client's connections belong to a closed loop
    finally:
        http.close(vu.state)
    assert second is not first and second.loop is not first.loop


def test_fast_path_finds_special_headers_in_any_case(run, vu):
    body = zlib.compress(b"inflated")

    def script(conn, i):
        read_request(conn)
        conn.sendall(
            b"HTTP/1.1 200 OK\r\nSET-COOKIE: k=v; Path=/\r\nCONTENT-ENCODING: deflate\r\n"
            b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
        )

    with RawServer(script) as srv:
        res = run(vu, lambda: http.get(srv.url + "/"))
    assert res.body == b"inflated"  # decoded: the general path took it
    assert res.cookies["k"][0]["value"] == "v"


@pytest.mark.parametrize("timeout", [float("inf"), 1e300, "inf"])
def test_an_infinite_timeout_never_expires(run, vu, target, timeout):
    res = run(vu, lambda: http.get(target.url + "/", timeout=timeout))
    assert res.status == 200, res.error
