"""horde's scripting HTTP client: k6's ``http`` module for async Python scripts.

Call it from VU code::

    from horde import http

    async def default(data):
        res = await http.get(env["TARGET"] + "/json", tags={"page": "json"})
        res = await http.post(url, json={"a": 1}, headers={"X-Id": "7"}, timeout="10s")
        a, b = await http.batch([url_a, ("POST", url_b, b"body")])

Every request (and every redirect hop) emits one ``ConnectedSamples`` of
k6's 9 request metrics with k6's tags. Each VU has its own keep-alive
connection pool and cookie jar (``vu.http``, a :class:`Client`); the jar is
emptied at the start of every iteration, as in k6.

Request keyword arguments: ``params`` (query dict), ``headers``, ``json``,
``data`` (form dict, or bytes/str), ``cookies`` (``{name: value}`` or
``{name: {"value": v, "replace": True}}``), ``timeout`` (seconds or
``"10s"``; default 60 s, covering redirects), ``redirects`` (max hops,
default the ``max_redirects`` option, 10), ``tags``, ``name`` (the
``name`` and ``url`` tag value), ``expected_statuses`` (codes/ranges or a
callable), ``response_callback`` (callable or None to skip
``http_req_failed``), ``response_type`` (``"none"`` discards the body).
"""

from __future__ import annotations

import asyncio
from typing import Any, Callable, Iterable, Mapping

from ..engine.vu import get_vu
from . import client as _client_mod
from . import errors
from .client import DEFAULT_USER_AGENT, Client, ExpectedStatuses
from .cookies import Cookie, CookieJar
from .errors import HTTPRequestError, InvalidURL, RequestTimeout, TransportError
from .h1 import H1Transport, default_ssl_context
from .response import Headers, RequestInfo, Response
from .transport import RawRequest, RawResponse, Transport

__all__ = [
    "request", "get", "head", "options", "post", "put", "patch", "delete", "batch",
    "cookie_jar", "set_response_callback", "expected_statuses", "client", "close",
    "Client", "Response", "Headers", "RequestInfo", "Cookie", "CookieJar", "ExpectedStatuses",
    "Transport", "RawRequest", "RawResponse", "H1Transport", "default_ssl_context",
    "TransportError", "RequestTimeout", "InvalidURL", "HTTPRequestError", "errors", "DEFAULT_USER_AGENT",
]


def client(vu: Any = None) -> Client:
    """The running VU's :class:`Client` (created on first use, on the running event loop)."""
    if vu is None:
        vu = get_vu()
    c = vu.http
    if c is None or c.loop is not asyncio.get_running_loop():
        if c is not None:
            c.close()
        c = vu.http = Client(vu)
    return c


def close(vu: Any = None) -> None:
    """Close the connections of ``vu`` (default: the running VU); the engine calls it when a VU ends."""
    if vu is None:
        vu = get_vu()
    if vu.http is not None:
        vu.http.close()
        vu.http = None


async def request(method: str, url: str, body: Any = None, **kw: Any) -> Response:
    """Send a ``method`` request to ``url``; see the module docstring for keyword arguments."""
    return await client().request(method, url, body, **kw)


async def get(url: str, **kw: Any) -> Response:
    """GET ``url``."""
    return await client().request("GET", url, None, **kw)


async def head(url: str, **kw: Any) -> Response:
    """HEAD ``url``."""
    return await client().request("HEAD", url, None, **kw)


async def options(url: str, body: Any = None, **kw: Any) -> Response:
    """OPTIONS ``url``."""
    return await client().request("OPTIONS", url, body, **kw)


async def post(url: str, body: Any = None, **kw: Any) -> Response:
    """POST ``body`` (bytes, str or a form dict; or ``json=``/``data=``) to ``url``."""
    return await client().request("POST", url, body, **kw)


async def put(url: str, body: Any = None, **kw: Any) -> Response:
    """PUT ``body`` to ``url``."""
    return await client().request("PUT", url, body, **kw)


async def patch(url: str, body: Any = None, **kw: Any) -> Response:
    """PATCH ``body`` to ``url``."""
    return await client().request("PATCH", url, body, **kw)


async def delete(url: str, body: Any = None, **kw: Any) -> Response:
    """DELETE ``url`` (k6's ``http.del``)."""
    return await client().request("DELETE", url, body, **kw)


async def batch(requests: Iterable[Any] | Mapping[str, Any]) -> list[Response] | dict[str, Response]:
    """Send requests concurrently; see :meth:`Client.batch` for the item forms."""
    return await client().batch(requests)


def cookie_jar() -> CookieJar:
    """The running VU's cookie jar (k6's ``http.cookieJar()``)."""
    return client().jar


def expected_statuses(*specs: int | range | tuple | Mapping) -> ExpectedStatuses:
    """A response callback accepting these codes/ranges (k6's ``http.expectedStatuses``)."""
    return ExpectedStatuses(*specs)


def set_response_callback(callback: Callable[[int], bool] | None) -> Callable[[int], bool] | None:
    """Set the process-wide response callback deciding ``http_req_failed`` and ``expected_response``.

    ``None`` stops emitting ``http_req_failed`` (and the ``expected_response``
    tag), as k6's ``http.setResponseCallback(null)``. Returns the previous callback.
    """
    if callback is not None and not callable(callback):
        raise TypeError("the response callback must be callable or None (see http.expected_statuses)")
    previous = _client_mod.default_response_callback
    _client_mod.default_response_callback = callback
    return previous
