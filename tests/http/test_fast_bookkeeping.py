"""Client.fast's bookkeeping in C (horde.http._fast) against the Python it replaces: the same samples, counters
and Response for the same transport response, and nothing done for the responses it leaves to Python."""

import asyncio
import os
import sys

import pytest
from horde import http
from horde.http import RawResponse, Response
from horde.metrics import ConnectedSamples
from horde.vustate import current_vu
from httpvu import VU

client_module = sys.modules["horde.http.client"]
if client_module._finish is None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail("horde.http._fast is not built (a C compiler and Python's headers are needed)", pytrace=False)
    pytest.skip("horde.http._fast is not built", allow_module_level=True)

from horde.http import _fast  # noqa: E402

URL = "http://example.test:8080/a?b=1"
TIMINGS = (0.1, 0.0, 0.0, 0.012345678, 1.000000501, 0.25)
TIE = (0.0, 0.0, 0.0, 0.0, 0.0, 2.5e-06)  # 2.5 ns: k6's duration rounds half to even, to 2 ns


class OneResponse:
    """A transport answering every request with ``raw``."""

    def __init__(self, raw):
        self.raw = raw

    async def send(self, req):
        return self.raw

    def close(self):
        pass


def raw_response(status=200, special=False, tls=None, body=b"hello", proto="HTTP/1.1", timings=TIMINGS):
    return RawResponse(
        status, None, proto, None, body, timings, tls, 120, 345, "10.0.0.1", 8080, b"HTTP/1.1 x", special
    )


def fetch(raw, accelerated, monkeypatch, *, discard=False, tags=None, metadata=None, requests=2):
    """``requests`` GETs of URL answered by ``raw``: (emitted containers, VU byte counters, last Response)."""
    if not accelerated:
        monkeypatch.setattr(client_module, "_finish", None)
    vu = VU(tags=tags)
    if metadata is not None:
        vu.state.metadata = metadata

    async def main():
        current_vu.set(vu.state)
        c = http.client()
        c.transport = OneResponse(raw)
        c.discard_bodies = discard
        res = None
        for _ in range(requests):  # the first builds the route's tag set, the next ones find it
            res = await c.fast("GET", URL)
        return res

    res = asyncio.run(main())
    monkeypatch.undo()
    return vu.samples, (vu.state.bytes_sent, vu.state.bytes_received), res


def container_fields(c):
    return (tuple(m.name for m in c.metrics), c.values, c.tags, c.metadata, type(c))


def response_fields(r):
    fields = {name: getattr(r, name) for name in Response.__slots__}
    info = fields["request"]  # each client has its own route's RequestInfo
    fields["request"] = (info.method, info.url, info._headers, info.body)
    return fields


@pytest.mark.parametrize(
    "raw,options",
    [
        (raw_response(), {}),
        (raw_response(status=404), {}),
        (raw_response(status=503, body=b""), {}),
        (raw_response(status=201, tls="tls1.3"), {"discard": True}),
        (raw_response(status=399), {"tags": {"env": "x"}, "metadata": {"trace_id": "t"}}),
        (raw_response(status=199, proto="HTTP/1.0"), {}),
        (raw_response(timings=TIE), {}),
    ],
)
def test_the_c_bookkeeping_gives_what_python_gives(raw, options, monkeypatch):
    calls = []
    real = client_module._finish
    monkeypatch.setattr(client_module, "_finish", lambda *a: calls.append(real(*a)) or calls[-1])
    in_c = fetch(raw, True, monkeypatch, **options)
    assert calls[0] is None and isinstance(calls[1], Response)  # the tag set's miss went to Python, then C
    in_python = fetch(raw, False, monkeypatch, **options)
    assert [container_fields(c) for c in in_c[0]] == [container_fields(c) for c in in_python[0]]
    b = raw.timings
    assert in_c[0][1].values[1] == round((b[3] + b[4] + b[5]) * 1e6) / 1e6 == (2e-06 if b is TIE else 1.262346)
    assert all(type(c) is ConnectedSamples for c in in_c[0])
    assert in_c[1] == in_python[1] == (240, 690)
    assert response_fields(in_c[2]) == response_fields(in_python[2])
    assert in_c[2].status_text and in_c[2].headers is not None and in_c[2].timings == in_python[2].timings


@pytest.mark.parametrize(
    "raw",
    [raw_response(special=True), raw_response(special=None), raw_response(status=302), raw_response(status=308)],
)
def test_the_c_bookkeeping_leaves_other_responses_to_python_untouched(raw):
    vu = VU()
    route = type("Route", (), {"tags": {}, "info": None})()
    route.tags[(vu.state.tags, raw.status, raw.proto, raw.tls_version, True)] = vu.state.tags
    assert _fast.finish(vu.state, route, raw, False) is None
    assert vu.samples == [] and (vu.state.bytes_sent, vu.state.bytes_received) == (0, 0)


def test_configure_refuses_a_response_class_it_cannot_fill():
    class Other:
        __slots__ = ("status",)

    with pytest.raises(TypeError):
        _fast.configure(ConnectedSamples, Other)
    _fast.configure(ConnectedSamples, Response)  # still configured for the real one
