"""horde's scripting HTTP client: k6's ``http`` module for async Python scripts.

Call it from VU code (every request function returns an awaitable)::

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

from collections.abc import Awaitable, Callable, Iterable, Mapping
from threading import get_ident as _thread_id
from typing import Any

from ..vustate import current_vu, get_vu
from . import client as _client_mod
from . import errors
from .client import DEFAULT_USER_AGENT, Client, ExpectedStatuses
from .cookies import Cookie, CookieJar
from .errors import HTTPRequestError, InvalidURL, RequestTimeout, TransportError
from .h1 import H1Transport, default_ssl_context
from .response import Headers, RequestInfo, Response
from .transport import RawRequest, RawResponse, Transport

_current_vu_get = current_vu.get

__all__ = [
    "request",
    "get",
    "head",
    "options",
    "post",
    "put",
    "patch",
    "delete",
    "batch",
    "cookie_jar",
    "set_response_callback",
    "expected_statuses",
    "client",
    "close",
    "Client",
    "Response",
    "Headers",
    "RequestInfo",
    "Cookie",
    "CookieJar",
    "ExpectedStatuses",
    "Transport",
    "RawRequest",
    "RawResponse",
    "H1Transport",
    "default_ssl_context",
    "TransportError",
    "RequestTimeout",
    "InvalidURL",
    "HTTPRequestError",
    "errors",
    "DEFAULT_USER_AGENT",
]


def client(vu: Any = None) -> Client:
    """The running VU's :class:`Client` (created on first use, on the running event loop)."""
    if vu is None:
        vu = _current_vu_get(None) or get_vu()
    c = vu.http
    # c.loop running on this thread is the running loop (a thread runs one loop at a time);
    # asyncio.get_running_loop() would cost a getpid() system call per request
    if c is None or c.thread != _thread_id() or not c.loop.is_running():
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


def request(method: str, url: str, body: Any = None, **kw: Any) -> Awaitable[Response]:
    """Send a ``method`` request to ``url``; see the module docstring for keyword arguments."""
    if body is None and not kw:
        return client().fast(method, url)
    return client().request(method, url, body, **kw)


def get(url: str, **kw: Any) -> Awaitable[Response]:
    """GET ``url``."""
    if not kw:
        return client().fast("GET", url)
    return client().request("GET", url, None, **kw)


def head(url: str, **kw: Any) -> Awaitable[Response]:
    """HEAD ``url``."""
    if not kw:
        return client().fast("HEAD", url)
    return client().request("HEAD", url, None, **kw)


def options(url: str, body: Any = None, **kw: Any) -> Awaitable[Response]:
    """OPTIONS ``url``."""
    if body is None and not kw:
        return client().fast("OPTIONS", url)
    return client().request("OPTIONS", url, body, **kw)


def post(url: str, body: Any = None, **kw: Any) -> Awaitable[Response]:
    """POST ``body`` (bytes, str or a form dict; or ``json=``/``data=``) to ``url``."""
    return client().request("POST", url, body, **kw)


def put(url: str, body: Any = None, **kw: Any) -> Awaitable[Response]:
    """PUT ``body`` to ``url``."""
    return client().request("PUT", url, body, **kw)


def patch(url: str, body: Any = None, **kw: Any) -> Awaitable[Response]:
    """PATCH ``body`` to ``url``."""
    return client().request("PATCH", url, body, **kw)


def delete(url: str, body: Any = None, **kw: Any) -> Awaitable[Response]:
    """DELETE ``url`` (k6's ``http.del``)."""
    if body is None and not kw:
        return client().fast("DELETE", url)
    return client().request("DELETE", url, body, **kw)


def batch(requests: Iterable[Any] | Mapping[str, Any]) -> Awaitable[list[Response] | dict[str, Response]]:
    """Send requests concurrently; see :meth:`Client.batch` for the item forms."""
    return client().batch(requests)


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
