"""horde.http against the real target server, on asyncio and uvloop."""

import pytest
from horde import http
from horde.testing import free_port


@pytest.mark.parametrize("verb", ["get", "post", "put", "patch", "delete", "options"])
def test_verbs(run, vu, target, verb):
    async def go():
        return await getattr(http, verb)(target.url + "/echo")

    res = run(vu, go)
    assert res.status == 200
    assert res.json()["method"] == verb.upper()
    assert res.proto == "HTTP/1.1"
    assert res.url == target.url + "/echo"


def test_head_and_generic_request(run, vu, target):
    async def go():
        return await http.head(target.url + "/json"), await http.request("patch", target.url + "/echo", b"x")

    head, patched = run(vu, go)
    assert head.status == 200 and head.body == b""
    assert head.headers["content-length"] == "67"
    assert patched.json()["method"] == "PATCH" and patched.json()["body"] == "x"


def test_json_body(run, vu, target):
    res = run(vu, lambda: http.post(target.url + "/echo", json={"a": [1, 2]}))
    doc = res.json()
    assert doc["headers"]["Content-Type"] == "application/json"
    assert doc["body"] == '{"a": [1, 2]}'
    assert doc["headers"]["Content-Length"] == str(len(doc["body"]))


def test_form_and_raw_bodies(run, vu, target):
    async def go():
        return (
            await http.post(target.url + "/echo", {"a": "1", "b": "x y"}),
            await http.put(target.url + "/echo", data={"k": ["1", "2"]}),
            await http.post(target.url + "/echo", data=b"\x00raw"),
            await http.post(target.url + "/echo", "text é"),
            await http.post(target.url + "/echo"),
        )

    form, multi, raw, text, empty = [r.json() for r in run(vu, go)]
    assert form["body"] == "a=1&b=x+y"
    assert form["headers"]["Content-Type"] == "application/x-www-form-urlencoded"
    assert multi["body"] == "k=1&k=2"
    assert raw["body"] == "\x00raw" and "Content-Type" not in raw["headers"]
    assert text["body"] == "text é"
    assert empty["headers"]["Content-Length"] == "0"


def test_headers_params_and_response_headers(run, vu, target):
    async def go():
        return await http.get(
            target.url + "/echo?x=1", params={"y": "2 3"}, headers={"X-Custom": "yes", "User-Agent": "me/1"}
        )

    res = run(vu, go)
    doc = res.json()
    assert doc["query"] == {"x": "1", "y": "2 3"}
    assert doc["headers"]["X-Custom"] == "yes"
    assert doc["headers"]["User-Agent"] == "me/1"
    assert res.headers["CONTENT-TYPE"] == res.headers["content-type"] == "application/json"
    assert "Content-Type" in res.headers
    assert res.request.headers["X-Custom"] == "yes"
    assert res.url == target.url + "/echo?x=1&y=2+3"


def test_default_user_agent(run, vu, target):
    res = run(vu, lambda: http.get(target.url + "/echo"))
    assert res.json()["headers"]["User-Agent"] == http.DEFAULT_USER_AGENT


def test_cookies_across_requests(run, vu, target):
    async def go():
        set_res = await http.get(target.url + "/cookies/set?session=abc&theme=dark")
        echoed = await http.get(target.url + "/cookies")
        with_req = await http.get(
            target.url + "/cookies", cookies={"extra": "1", "theme": {"value": "light", "replace": True}}
        )
        http.cookie_jar().set(target.url, "manual", "m")
        manual = await http.get(target.url + "/cookies")
        return set_res, echoed, with_req, manual

    set_res, echoed, with_req, manual = run(vu, go)
    assert set_res.cookies["session"][0]["value"] == "abc"
    assert echoed.json() == {"cookies": {"session": "abc", "theme": "dark"}}
    assert with_req.json() == {"cookies": {"session": "abc", "theme": "light", "extra": "1"}}
    assert with_req.request.cookies["extra"] == ["1"]
    assert manual.json()["cookies"]["manual"] == "m"


def test_cookie_jar_is_reset_each_iteration(run, vu, target):
    async def go():
        await http.get(target.url + "/cookies/set?a=1")
        first = await http.get(target.url + "/cookies")
        vu.state.iteration += 1
        second = await http.get(target.url + "/cookies")
        return first, second

    first, second = run(vu, go)
    assert first.json() == {"cookies": {"a": "1"}}
    assert second.json() == {"cookies": {}}


def test_cookies_deleted_by_max_age(run, vu, target):
    async def go():
        await http.get(target.url + "/cookies/set?a=1&b=2")
        await http.get(target.url + "/cookies/delete?a")
        return await http.get(target.url + "/cookies")

    assert run(vu, go).json() == {"cookies": {"b": "2"}}


def test_redirect_chain_samples_per_hop(run, vu, target):
    res = run(vu, lambda: http.get(target.url + "/redirect/3"))
    assert res.status == 200
    assert res.url == target.url + "/"
    assert [c.tags["status"] for c in vu.samples] == ["302", "302", "302", "200"]
    assert [c.tags["url"] for c in vu.samples] == [
        target.url + "/redirect/3",
        target.url + "/redirect/2",
        target.url + "/redirect/1",
        target.url + "/",
    ]
    assert all(len(c.metrics) == 9 for c in vu.samples)


def test_redirect_limit_returns_the_redirect(run, vu, target):
    res = run(vu, lambda: http.get(target.url + "/redirect/3", redirects=1))
    assert res.status == 302
    assert res.headers["Location"] == "/redirect/1"
    assert len(vu.samples) == 2
    res = run(vu, lambda: http.get(target.url + "/redirect/2", redirects=0))
    assert res.status == 302


def test_redirect_max_redirects_option(run, target):
    from httpvu import VU

    v = VU(options={"max_redirects": 1})
    assert run(v, lambda: http.get(target.url + "/redirect/2")).status == 302


@pytest.mark.parametrize(
    "code,method,body",
    [(301, "GET", ""), (302, "GET", ""), (303, "GET", ""), (307, "POST", "payload"), (308, "POST", "payload")],
)
def test_redirect_method_rules(run, vu, target, code, method, body):
    res = run(vu, lambda: http.post(target.url + f"/redirect-to?url=/echo&status_code={code}", b"payload"))
    assert res.status == 200
    assert res.json()["method"] == method
    assert res.json()["body"] == body
    assert [c.tags["method"] for c in vu.samples] == ["POST", method]


def test_redirect_keeps_head(run, vu, target):
    res = run(vu, lambda: http.head(target.url + "/redirect/1"))
    assert res.status == 200 and res.url == target.url + "/"
    assert [c.tags["method"] for c in vu.samples] == ["HEAD", "HEAD"]


def test_timeout(run, vu, target):
    res = run(vu, lambda: http.get(target.url + "/delay/3000", timeout=0.2))
    assert res.status == 0
    assert res.error == "request timeout"
    assert res.error_code == 1050
    (c,) = vu.samples
    assert c.tags["status"] == "0"
    assert c.tags["error"] == "request timeout"
    assert c.tags["error_code"] == "1050"
    assert c.tags["expected_response"] == "false"
    assert "proto" not in c.tags
    assert c.values[-1] == 1.0


def test_timeout_as_duration_string(run, vu, target):
    res = run(vu, lambda: http.get(target.url + "/delay/3000", timeout="150ms"))
    assert res.error_code == 1050


def test_connection_refused(run, vu):
    port = free_port()
    res = run(vu, lambda: http.get(f"http://127.0.0.1:{port}/x"))
    assert res.status == 0
    assert res.error_code == 1212
    assert res.error == "dial: connection refused"
    (c,) = vu.samples
    assert c.tags["error_code"] == "1212" and c.tags["status"] == "0"
    assert c.tags["url"] == f"http://127.0.0.1:{port}/x"


def test_unknown_host(run, vu):
    res = run(vu, lambda: http.get("http://no-such-host.invalid/"))
    assert res.status == 0
    assert 1100 <= res.error_code < 1200


def test_server_drops_connection(run, vu, target):
    res = run(vu, lambda: http.get(target.url + "/drop"))
    assert res.status == 0
    assert res.error_code in (1000, 1220)
    assert vu.samples[0].tags["status"] == "0"


def test_http_error_status(run, vu, target):
    res = run(vu, lambda: http.get(target.url + "/status/503"))
    assert res.status == 503 and res.error_code == 1503 and res.error == ""
    (c,) = vu.samples
    assert c.tags["error_code"] == "1503" and "error" not in c.tags


def test_chunked(run, vu, target):
    res = run(vu, lambda: http.get(target.url + "/chunked"))
    assert res.headers["Transfer-Encoding"] == "chunked"
    assert res.text == "".join(f"chunk {i}\n" for i in range(5))


@pytest.mark.parametrize("path", ["/gzip", "/deflate"])
def test_compressed_bodies_are_decoded(run, vu, target, path):
    res = run(vu, lambda: http.get(target.url + path))
    assert res.headers["Content-Encoding"] == path[1:]
    assert res.json()["name"] == "horde"
    assert res.json("items.2") == 3


def test_large_body(run, vu, target):
    res = run(vu, lambda: http.post(target.url + "/echo", b"z" * 300_000))
    assert len(res.json()["body"]) == 300_000
    res = run(vu, lambda: http.get(target.url + "/bytes/1000000"))
    assert len(res.body) == 1_000_000


def test_keep_alive_reuse(run, vu, target):
    async def go():
        return [await http.get(target.url + "/") for _ in range(3)]

    before = target.connections
    first, second, third = run(vu, go)
    assert target.connections == before + 1
    assert first.timings["connecting"] > 0
    assert second.timings["connecting"] == 0 and third.timings["connecting"] == 0
    assert [c.values[3] for c in vu.samples][1:] == [0.0, 0.0]


def test_server_closed_idle_connection_is_replaced(run, vu, target):
    async def go():
        a = await http.get(target.url + "/", headers={"Connection": "close"})
        b = await http.get(target.url + "/")
        return a, b

    a, b = run(vu, go)
    assert a.status == b.status == 200
    assert b.timings["connecting"] > 0


def test_no_connection_reuse_option(run, target):
    from httpvu import VU

    v = VU(options={"noConnectionReuse": True})
    before = target.connections
    run(v, lambda: _twice(target.url + "/"))
    assert target.connections == before + 2


async def _twice(url):
    await http.get(url)
    await http.get(url)


def test_batch(run, vu, target):
    async def go():
        return await http.batch(
            [
                target.url + "/delay/100",
                ("POST", target.url + "/echo", "b"),
                {"method": "GET", "url": target.url + "/delay/100", "tags": {"k": "v"}},
                ("GET", target.url + "/delay/100", None, {"name": "delayed"}),
            ]
        )

    before = target.connections
    a, b, c, d = run(vu, go)
    assert [r.status for r in (a, b, c, d)] == [200] * 4
    assert b.json()["body"] == "b"
    assert target.connections == before + 4  # sent concurrently, one connection each
    assert len(vu.samples) == 4
    assert sorted(s.tags.get("k", "") for s in vu.samples) == ["", "", "", "v"]
    assert "delayed" in [s.tags["name"] for s in vu.samples]


def test_batch_dict_and_per_host_limit(run, target):
    from httpvu import VU

    v = VU(options={"batch_per_host": 2})
    before = target.connections
    res = run(v, lambda: http.batch({f"r{i}": target.url + "/delay/50" for i in range(4)}))
    assert sorted(res) == ["r0", "r1", "r2", "r3"]
    assert all(r.status == 200 for r in res.values())
    assert target.connections == before + 2  # 2 at a time, connections reused
    # the two queued requests waited (blocked) until a whole earlier request was done
    durations = sorted(c.values[1] for c in v.samples)
    blocked = sorted(c.values[2] for c in v.samples)
    assert blocked[-2] >= durations[0]


def test_invalid_url_raises(run, vu):
    with pytest.raises(http.InvalidURL, match="not supported"):
        run(vu, lambda: http.get("ws://127.0.0.1/"))
    with pytest.raises(http.InvalidURL):
        run(vu, lambda: http.get("/relative"))
    assert vu.samples == []


def test_throw_option(run, target):
    from httpvu import VU

    v = VU(options={"throw": True})
    with pytest.raises(http.HTTPRequestError) as ei:
        run(v, lambda: http.get(f"http://127.0.0.1:{free_port()}/"))
    assert ei.value.code == 1212


def test_discard_response_body(run, vu, target):
    res = run(vu, lambda: http.get(target.url + "/json", response_type="none"))
    assert res.status == 200 and res.body is None


def test_bytes_counted_on_vu(run, vu, target):
    run(vu, lambda: http.post(target.url + "/echo", b"12345"))
    assert vu.state.bytes_sent > 5
    assert vu.state.bytes_received > 100


def test_outside_vu_is_an_error():
    import asyncio

    with pytest.raises(RuntimeError, match="VU code"):
        asyncio.run(http.get("http://127.0.0.1:1/"))


def test_redirect_to_other_host_drops_credentials(run, vu, target):
    other = target.url.replace("127.0.0.1", "localhost")  # same server, another host name

    async def go():
        return await http.get(
            target.url + "/redirect-to",
            params={"url": other + "/echo"},
            headers={"Authorization": "Bearer x", "X-Keep": "1"},
            cookies={"c": "1"},
        )

    res = run(vu, go)
    sent = res.json()["headers"]
    assert res.url == other + "/echo"
    assert sent["X-Keep"] == "1"
    assert "Authorization" not in sent and "Cookie" not in sent


def test_cancelled_request_closes_its_connection(run, vu, target):
    import asyncio

    async def go():
        task = asyncio.ensure_future(http.get(target.url + "/delay/5000"))
        await asyncio.sleep(0.1)
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass
        transport = http.client().transport
        await asyncio.sleep(0.01)
        open_after = transport.open_connections
        res = await http.get(target.url + "/")
        return open_after, res

    open_after, res = run(vu, go)
    assert open_after == 0
    assert res.status == 200
    assert len(vu.samples) == 1  # the cancelled request emitted nothing
