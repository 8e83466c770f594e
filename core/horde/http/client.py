"""The per-VU HTTP client: request building, cookies, redirects, decoding and metrics.

One :class:`Client` lives in each VU's ``vu.http`` slot. It turns a script's
call into :class:`RawRequest` hops for its transport, and emits one
``ConnectedSamples`` of k6's 9 request metrics per hop, with k6's tags.
"""

from __future__ import annotations

import asyncio
import functools
import json as _json
import logging
import re
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Mapping
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlencode

from .._version import __version__
from ..metrics import ConnectedSamples, TagSet
from . import errors
from .cookies import CookieJar, parse_set_cookie
from .debug import log_exchange
from .errors import HTTPRequestError, InvalidURL, RequestTimeout, TransportError
from .h1 import H1Transport, default_ssl_context
from .netrules import rules_for
from .response import Headers, RequestInfo, Response
from .transport import RawRequest, RawResponse, Transport
from .urls import Target, add_params, parse_timeout, parse_url, resolve

__all__ = ["Client", "ExpectedStatuses", "DEFAULT_USER_AGENT", "default_response_callback"]

log = logging.getLogger("horde.http")
_perf = time.perf_counter
_time_ns = time.time_ns

DEFAULT_USER_AGENT = f"horde/{__version__}"
_REDIRECTS = frozenset((301, 302, 303, 307, 308))
_BODYLESS = frozenset(("GET", "HEAD", "OPTIONS", "DELETE", "TRACE"))
_MISSING: Any = object()

try:  # Client.fast's bookkeeping of the common response in one C call (the Python below is the reference)
    from . import _fast
except ImportError:  # installed without a C compiler
    _finish: Callable[[Any, _Route, RawResponse, bool], Response | None] | None = None
else:
    _fast.configure(ConnectedSamples, Response)
    _finish = _fast.finish


class ExpectedStatuses:
    """A response callback: True when the status is one of the given codes or ranges.

    Specs are ints, ``range`` objects, ``(min, max)`` tuples (inclusive) or
    ``{"min": a, "max": b}`` dicts, as k6's ``http.expectedStatuses``.
    """

    __slots__ = ("codes", "ranges")

    def __init__(self, *specs: int | range | tuple | Mapping) -> None:
        self.codes: set[int] = set()
        self.ranges: list[tuple[int, int]] = []
        for s in specs:
            if isinstance(s, bool):
                raise TypeError(f"not a status spec: {s!r}")
            if isinstance(s, int):
                self.codes.add(s)
            elif isinstance(s, range):
                self.ranges.append((s.start, s.stop - 1))
            elif isinstance(s, Mapping):
                self.ranges.append((int(s["min"]), int(s["max"])))
            elif isinstance(s, tuple) and len(s) == 2:
                self.ranges.append((int(s[0]), int(s[1])))
            else:
                raise TypeError(f"not a status spec: {s!r} (use an int, a range, (min, max) or {{'min','max'}})")

    def __call__(self, status: int) -> bool:
        if status in self.codes:
            return True
        for lo, hi in self.ranges:
            if lo <= status <= hi:
                return True
        return False

    def __repr__(self) -> str:
        parts = [str(c) for c in sorted(self.codes)] + [f"{lo}-{hi}" for lo, hi in self.ranges]
        return f"ExpectedStatuses({', '.join(parts)})"


def _default_expected(status: int) -> bool:
    return 200 <= status <= 399


default_response_callback: Callable[[int], bool] | None = _default_expected
"""The process-wide response callback (statuses 200-399); see :func:`horde.http.set_response_callback`."""


_DEFAULT_TIMEOUT = 60.0
_SPECIAL = frozenset((b"set-cookie", b"content-encoding", b"location"))
_SPECIAL_LENGTHS = frozenset(len(n) for n in _SPECIAL)
_SPECIAL_IN_LOWER_HEAD = re.compile(rb"\n(?:set-cookie|content-encoding|location)[ \t]*:").search
"""Searched in the lower-cased head: faster than the same search with re.IGNORECASE."""


def _has_special(raw: RawResponse) -> bool:
    """Whether a response sets cookies, is content-encoded or names a Location (the general path handles those)."""
    head = raw.head
    if head is not None:  # searched in the bytes, without parsing them
        return _SPECIAL_IN_LOWER_HEAD(head.lower()) is not None
    for k, _ in raw.headers:
        if len(k) in _SPECIAL_LENGTHS and k.lower() in _SPECIAL:
            return True
    return False


def _emit_request(vu: Any, tagset: TagSet, b: tuple, expected: bool | None) -> None:
    """Emit k6's 9 request metrics (8 without a response callback) from transport timings ``b``.

    The duration is sending + waiting + receiving at k6's nanosecond resolution (as k6 adds them):
    the timings are whole nanoseconds in milliseconds, so rounding their sum to whole nanoseconds
    gives what ``round(sum, 6)`` gives, without its decimal conversion.
    """
    duration = round((b[3] + b[4] + b[5]) * 1e6) / 1e6
    if expected is None:
        vu.emit(
            ConnectedSamples(
                vu.builtin.http_request_no_failed,
                (1.0, duration, b[0], b[1], b[2], b[3], b[4], b[5]),
                _time_ns(),
                tagset,
                vu.metadata,
            )
        )
    else:
        vu.emit(
            ConnectedSamples(
                vu.builtin.http_request,
                (1.0, duration, b[0], b[1], b[2], b[3], b[4], b[5], 0.0 if expected else 1.0),
                _time_ns(),
                tagset,
                vu.metadata,
            )
        )


class _Route:
    """A request with every option at its default, kept by :meth:`Client.fast`: URL, request, tag sets."""

    __slots__ = ("target", "request", "info", "tags")

    def __init__(self, target: Target, request: RawRequest) -> None:
        self.target = target
        self.request = request
        self.info = RequestInfo(request.method, target.url, request.headers, None)
        self.tags: dict[tuple, TagSet] = {}


def _opt(options: Mapping, default: Any, *names: str) -> Any:
    for n in names:
        if n in options and options[n] is not None:
            return options[n]
    return default


def _encode_body(body: Any) -> tuple[bytes | None, str | None]:
    if body is None:
        return None, None
    if isinstance(body, bytes):
        return body, None
    if isinstance(body, str):
        return body.encode("utf-8"), None
    if isinstance(body, (bytearray, memoryview)):
        return bytes(body), None
    if isinstance(body, Mapping) or isinstance(body, (list, tuple)):
        return urlencode(body, doseq=True).encode("ascii"), "application/x-www-form-urlencoded"
    raise TypeError(f"cannot send a body of type {type(body).__name__}; use bytes, str, a form dict or json=")


def _decode(body: bytes, encoding: bytes) -> bytes:
    enc = encoding.strip().lower()
    if enc in (b"gzip", b"x-gzip"):
        return zlib.decompress(body, 16 + zlib.MAX_WBITS)
    if enc == b"deflate":
        try:
            return zlib.decompress(body)
        except zlib.error:
            return zlib.decompress(body, -zlib.MAX_WBITS)
    if enc in (b"identity", b""):
        return body
    if b"," in enc:
        for part in reversed(enc.split(b",")):
            body = _decode(body, part)
        return body
    raise ValueError(f"unsupported content encoding {enc.decode('latin-1')!r}")


class Client:
    """HTTP client state of one VU: transport and connection pool, cookie jar, caches.

    Options come from the VU's script options (snake_case or k6's camelCase):
    ``insecure_skip_tls_verify``, ``tls_ca_file`` (PEM CAs to trust),
    ``max_redirects`` (10), ``user_agent``, ``no_connection_reuse``,
    ``discard_response_bodies``, ``throw``, ``batch`` (20), ``batch_per_host`` (6).
    """

    def __init__(self, vu: Any, transport: Transport | None = None) -> None:
        o = vu.options or {}
        self.vu = vu
        self.loop = asyncio.get_running_loop()
        self.thread = threading.get_ident()
        """The thread running :attr:`loop`, the loop of the client's connections."""
        rules = self.rules = rules_for(o)
        if transport is None:
            ctx = functools.partial(
                default_ssl_context,
                insecure_skip_verify=bool(_opt(o, False, "insecure_skip_tls_verify", "insecureSkipTLSVerify")),
                ca_file=_opt(o, None, "tls_ca_file", "tlsCaFile"),
                tls_min=rules.tls_min,
                tls_max=rules.tls_max,
                ciphers=rules.ciphers,
            )
            per_host = None
            if rules.tls_auth:

                def per_host(host: str) -> Any:
                    chain = rules.cert_chain(host)
                    return None if chain is None else ctx(cert_chain=chain)

            transport = H1Transport(
                ssl_context=ctx,
                reuse=not _opt(o, False, "no_connection_reuse", "noConnectionReuse"),
                rules=rules,
                local_ip=rules.local_ip(getattr(vu, "id", 1)),
                ssl_for_host=per_host,
            )
        self.transport = transport
        self.jar = CookieJar()
        self._jar_iteration = vu.iteration
        self.max_redirects = int(_opt(o, 10, "max_redirects", "maxRedirects"))
        self.user_agent = str(_opt(o, DEFAULT_USER_AGENT, "user_agent", "userAgent"))
        self.discard_bodies = bool(_opt(o, False, "discard_response_bodies", "discardResponseBodies"))
        self.throw = bool(_opt(o, False, "throw"))
        self.batch_limit = int(_opt(o, 20, "batch"))
        self.batch_per_host = int(_opt(o, 6, "batch_per_host", "batchPerHost"))
        self.no_cookies_reset = bool(_opt(o, False, "noCookiesReset"))
        self.no_vu_reuse = bool(_opt(o, False, "noVUConnectionReuse"))
        debug = _opt(o, "", "httpDebug")
        self.http_debug = "" if debug in (False, None, "", "false") else ("full" if debug == "full" else "headers")
        self.rps = rules.rps
        self.slow = bool(self.rps is not None or self.http_debug)
        """Requests take the general path (``rps`` waits, ``httpDebug`` logs), never :meth:`fast`."""
        self._tags: dict[tuple, TagSet] = {}
        self._routes: dict[tuple[str, str], _Route] = {}
        st = vu.system_tags
        self._st = tuple(
            n in st
            for n in (
                "method",
                "url",
                "name",
                "status",
                "proto",
                "tls_version",
                "error",
                "error_code",
                "expected_response",
            )
        )

    def close(self) -> None:
        """Close the VU's connections."""
        self.transport.close()

    # the request path
    async def request(
        self,
        method: str,
        url: str,
        body: Any = None,
        *,
        params: Any = None,
        headers: Mapping[str, str] | None = None,
        json: Any = _MISSING,
        data: Any = None,
        cookies: Mapping[str, Any] | None = None,
        timeout: float | str | None = 60.0,
        redirects: int | None = None,
        tags: Mapping[str, Any] | None = None,
        name: str | None = None,
        expected_statuses: Any = None,
        response_callback: Any = _MISSING,
        response_type: str | None = None,
        t_start: float = 0.0,
    ) -> Response:
        """Send one request (following redirects) and return its :class:`Response`."""
        t_begin = t_start or _perf()
        vu = self.vu
        if vu.iteration != self._jar_iteration:
            self._next_jar()
        method = method.upper()
        if params:
            url = add_params(url, params)
        t = parse_url(url)  # InvalidURL for the script's own URL is a script error
        if json is not _MISSING:
            payload, ctype = _json.dumps(json).encode("utf-8"), "application/json"
        elif data is not None:
            payload, ctype = _encode_body(data)
        else:
            payload, ctype = _encode_body(body)
        if timeout.__class__ is float and timeout > 0:
            timeout_s = timeout
        else:
            timeout_s = 60.0 if timeout is None else parse_timeout(timeout)
        deadline = t_begin + timeout_s
        left = self.max_redirects if redirects is None else int(redirects)

        if response_callback is not _MISSING:
            cb = response_callback
        elif expected_statuses is not None:
            cb = (
                expected_statuses
                if callable(expected_statuses)
                else ExpectedStatuses(
                    *(
                        expected_statuses
                        if isinstance(expected_statuses, (list, set, frozenset))
                        else [expected_statuses]
                    )
                )
            )
        else:
            cb = default_response_callback

        user_key = None
        if tags:
            if "name" in tags and name is None:
                name = str(tags["name"])
            user_key = tuple(tags.items())
        discard = self.discard_bodies if response_type is None else response_type == "none"
        hdrs_user = dict(headers) if headers else None

        return await self._hops(
            method,
            t,
            payload,
            ctype,
            hdrs_user,
            cookies,
            deadline,
            left,
            redirects,
            name,
            cb,
            user_key,
            tags,
            discard,
            t_start,
            None,
            None,
        )

    async def fast(self, method: str, url: str) -> Response:
        """``request(method, url)`` with every option at its default: the common case, on a cached route.

        The parsed URL, headers and encoded request head are kept per (method,
        url), and so are the tag sets of the request's samples. A response that
        sets cookies, is content-encoded or redirects continues on the general
        path, as does a request while the jar holds cookies to send.
        """
        vu = self.vu
        if vu.iteration != self._jar_iteration:
            self._next_jar()
        if self.slow or self.jar._cookies:
            return await self.request(method, url)
        route = self._routes.get((method, url))
        if route is None:
            route = self._route(method, url)
        t = route.target
        req = route.request
        t_begin = _perf()
        try:
            raw = await self.transport.send(req)
        except TransportError as e:
            return self._failed(vu, req.method, t, None, e, None, None, default_response_callback, req.headers, None)
        if _finish is not None and default_response_callback is _default_expected:
            res = _finish(vu, route, raw, self.discard_bodies)  # None: not the common case, nothing done
            if res is not None:
                return res
        vu.bytes_sent += raw.bytes_sent
        vu.bytes_received += raw.bytes_received
        status = raw.status
        special = raw.special
        if status in _REDIRECTS or (_has_special(raw) if special is None else special):
            return await self._hops(
                req.method,
                t,
                None,
                None,
                None,
                None,
                t_begin + _DEFAULT_TIMEOUT,
                self.max_redirects,
                None,
                None,
                default_response_callback,
                None,
                None,
                self.discard_bodies,
                0.0,
                raw,
                req.headers,
            )
        cb = default_response_callback
        if cb is _default_expected:
            expected = 200 <= status <= 399
        else:
            expected = None if cb is None else bool(cb(status))
        proto = raw.proto
        key = (vu.tags, status, proto, raw.tls_version, expected)
        tagset = route.tags.get(key)
        if tagset is None:
            if len(route.tags) >= 256:
                route.tags.clear()
            tagset = route.tags[key] = self._build_tags(
                vu.tags,
                req.method,
                t.clean,
                status,
                proto,
                raw.tls_version,
                "",
                1000 + status if status >= 400 else 0,
                expected,
                None,
            )
        timings = raw.timings
        _emit_request(vu, tagset, timings, expected)
        return Response(
            status,
            None,
            proto,
            None,
            None if self.discard_bodies else raw.body,
            t.url,
            raw.tls_version,
            "",
            1000 + status if status >= 400 else 0,
            route.info,
            timings,
            raw.remote_ip,
            raw.remote_port,
            None,
            raw,
        )

    def _route(self, method: str, url: str) -> _Route:
        t = parse_url(url)  # InvalidURL for the script's own URL is a script error
        m = method.upper()
        hdr_list = self._headers(t, m, None, None, None, None)
        route = _Route(t, RawRequest(m, t.scheme, t.host, t.port, t.target, hdr_list, None, _DEFAULT_TIMEOUT))
        if len(self._routes) >= 1024:
            self._routes.clear()
        self._routes[(method, url)] = route
        return route

    def _next_jar(self) -> None:
        """k6 gives every iteration a fresh cookie jar (an empty one is kept: nothing tells them apart),
        unless ``noCookiesReset``; ``noVUConnectionReuse`` closes the VU's connections between iterations."""
        if self.no_vu_reuse and self._jar_iteration >= 0:
            self.transport.close()
        if self.jar._cookies and not self.no_cookies_reset:
            self.jar = CookieJar()
        self._jar_iteration = self.vu.iteration

    async def _hops(
        self,
        method: str,
        t: Any,
        payload: bytes | None,
        ctype: str | None,
        hdrs_user: dict[str, str] | None,
        cookies: Mapping[str, Any] | None,
        deadline: float,
        left: int,
        redirects: int | None,
        name: str | None,
        cb: Any,
        user_key: Any,
        tags: Any,
        discard: bool,
        t_start: float,
        raw: RawResponse | None,
        hdr_list: list | None,
    ) -> Response:
        """Send hops until one is not followed; ``raw`` (sent with ``hdr_list``) is a first hop already done."""
        vu = self.vu
        while True:
            if raw is None:
                remaining = deadline - _perf()
                hdr_list = self._headers(t, method, payload, ctype, hdrs_user, cookies)
                if remaining <= 0:
                    return self._failed(vu, method, t, name, RequestTimeout(), user_key, tags, cb, hdr_list, payload)
                raw_req = RawRequest(method, t.scheme, t.host, t.port, t.target, hdr_list, payload, remaining, t_start)
                t_start = 0.0
                if self.rps is not None:
                    await self.rps.wait()
                try:
                    raw = await self.transport.send(raw_req)
                except TransportError as e:
                    return self._failed(vu, method, t, name, e, user_key, tags, cb, hdr_list, payload)
                vu.bytes_sent += raw.bytes_sent
                vu.bytes_received += raw.bytes_received
            assert hdr_list is not None
            if self.http_debug:
                log_exchange(self.http_debug, method, t, hdr_list, payload, raw)
            location = encoding = None
            set_cookies: list[str] | None = None
            for k, v in raw.headers:
                n = len(k)
                if n == 10 and k.lower() == b"set-cookie":
                    if set_cookies is None:
                        set_cookies = []
                    set_cookies.append(v.decode("latin-1"))
                elif n == 16 and k.lower() == b"content-encoding":
                    encoding = v
                elif n == 8 and k.lower() == b"location":
                    location = v
            if set_cookies:
                for sc in set_cookies:
                    c = parse_set_cookie(sc)
                    if c is not None:
                        self.jar.store(t.host, t.path, c)

            status = raw.status
            rbody: bytes | None = raw.body
            err = ""
            code = 0
            if encoding is not None and rbody:
                try:
                    rbody = _decode(rbody, encoding)
                except (zlib.error, ValueError) as e:
                    err, code = f"error decompressing response body: {e}", errors.DECOMPRESSION
            if status >= 400 and not code:
                code = 1000 + status
            self._emit(
                vu, method, t, name, status, raw.proto, raw.tls_version, err, code, user_key, tags, raw.timings, cb
            )

            if status in _REDIRECTS and location is not None:
                if left <= 0:
                    if redirects is None or redirects > 0:
                        log.warning(
                            "Stopped after %d redirects and returned the redirection; pass redirects=N "
                            "to the request or set the max_redirects option to silence this",
                            self.max_redirects if redirects is None else redirects,
                        )
                else:
                    left -= 1
                    next_url = resolve(t.url, location.decode("latin-1"))
                    try:
                        nt = parse_url(next_url)
                    except InvalidURL as e:
                        bad = SimpleNamespace(url=next_url, clean=next_url)
                        return self._failed(vu, method, bad, name, e, user_key, tags, cb, hdr_list, None)
                    if status in (301, 302, 303) and method not in ("GET", "HEAD"):
                        method = "GET"
                        payload = ctype = None
                        if hdrs_user:
                            hdrs_user = {
                                k: v
                                for k, v in hdrs_user.items()
                                if k.lower() not in ("content-type", "content-length")
                            }
                    if (nt.host, nt.port) != (t.host, t.port):  # credentials stay with their host
                        cookies = None
                        if hdrs_user:
                            hdrs_user = {
                                k: v for k, v in hdrs_user.items() if k.lower() not in ("authorization", "cookie")
                            }
                    t = nt
                    raw = None
                    continue

            return Response(
                status=status,
                status_text=f"{status} {raw.reason}" if raw.reason else str(status),
                proto=raw.proto,
                headers=Headers(raw.headers),
                body=None if discard else rbody,
                url=t.url,
                tls_version=raw.tls_version,
                error=err,
                error_code=code,
                request=RequestInfo(method, t.url, hdr_list, payload),
                timings=raw.timings,
                remote_ip=raw.remote_ip,
                remote_port=raw.remote_port,
                set_cookies=set_cookies,
            )

    def _headers(
        self,
        t: Target,
        method: str,
        payload: bytes | None,
        ctype: str | None,
        user: dict[str, str] | None,
        cookies: Mapping[str, Any] | None,
    ) -> list[tuple[str, str]]:
        jar = self.jar
        if user is None:
            h = [("Host", t.host_header), ("User-Agent", self.user_agent), ("Accept-Encoding", "gzip, deflate")]
            if not self.user_agent:  # k6: an empty userAgent sends no User-Agent header
                del h[1]
            has_cookie = has_ctype = False
        else:
            h = [("Host", t.host_header)]
            lower = {k.lower(): k for k in user}
            if "host" in lower:
                h[0] = ("Host", str(user[lower["host"]]))
            if "user-agent" not in lower and self.user_agent:
                h.append(("User-Agent", self.user_agent))
            if "accept-encoding" not in lower:
                h.append(("Accept-Encoding", "gzip, deflate"))
            for k, v in user.items():
                lk = k.lower()
                if lk != "host" and lk != "content-length":
                    h.append((k, str(v)))
            has_cookie = "cookie" in lower
            has_ctype = "content-type" in lower
        if not has_cookie and (cookies or jar._cookies):
            value = self._cookie_header(t, cookies)
            if value:
                h.append(("Cookie", value))
        if payload is not None:
            if ctype is not None and not has_ctype:
                h.append(("Content-Type", ctype))
            h.append(("Content-Length", str(len(payload))))
        elif method not in _BODYLESS:
            h.append(("Content-Length", "0"))
        return h

    def _cookie_header(self, t: Target, cookies: Mapping[str, Any] | None) -> str:
        jar_cookies = self.jar.matching(t.scheme, t.host, t.path)
        pairs = [(c.name, c.value) for c in jar_cookies]
        if cookies:
            for k, v in cookies.items():
                if isinstance(v, Mapping):
                    if v.get("replace"):
                        pairs = [p for p in pairs if p[0] != k]
                    v = v.get("value", "")
                pairs.append((str(k), str(v)))
        return "; ".join(f"{k}={v}" for k, v in pairs)

    def _failed(
        self,
        vu: Any,
        method: str,
        t: Any,
        name: str | None,
        e: TransportError,
        user_key: Any,
        tags: Any,
        cb: Any,
        hdr_list: list,
        payload: bytes | None,
    ) -> Response:
        vu.bytes_sent += e.bytes_sent
        vu.bytes_received += e.bytes_received
        self._emit(vu, method, t, name, 0, None, None, e.message, e.code, user_key, tags, e.timings, cb)
        if self.throw:
            raise HTTPRequestError(e.message, e.code)
        return Response(
            status=0,
            url=t.url,
            error=e.message,
            error_code=e.code,
            body=None,
            timings=e.timings,
            request=RequestInfo(method, t.url, hdr_list, payload),
        )

    # metrics
    def _emit(
        self,
        vu: Any,
        method: str,
        t: Target,
        name: str | None,
        status: int,
        proto: str | None,
        tls_version: str | None,
        err: str,
        code: int,
        user_key: Any,
        tags: Any,
        timings: tuple,
        cb: Any,
    ) -> None:
        expected = None if cb is None else bool(cb(status))
        url_tag = t.clean if name is None else name
        key = (vu.tags, method, url_tag, status, proto, tls_version, err, code, expected, user_key)
        tagset = self._tags.get(key)
        if tagset is None:
            tagset = self._build_tags(vu.tags, method, url_tag, status, proto, tls_version, err, code, expected, tags)
            if len(self._tags) >= 10000:
                self._tags.clear()
            self._tags[key] = tagset
        _emit_request(vu, tagset, timings, expected)

    def _build_tags(
        self,
        base: TagSet,
        method: str,
        url_tag: str,
        status: int,
        proto: str | None,
        tls_version: str | None,
        err: str,
        code: int,
        expected: bool | None,
        tags: Any,
    ) -> TagSet:
        d = dict(base.items())
        if tags:
            for k, v in tags.items():
                d[str(k)] = str(v)
        m, u, n, s, p, tv, e, ec, er = self._st
        if m:
            d["method"] = method
        if u:
            d["url"] = url_tag
        if n:
            d["name"] = url_tag
        if s:
            d["status"] = str(status)
        if p and proto:
            d["proto"] = proto
        if tv and tls_version:
            d["tls_version"] = tls_version
        if e and err:
            d["error"] = err
        if ec and code:
            d["error_code"] = str(code)
        if er and expected is not None:
            d["expected_response"] = "true" if expected else "false"
        return TagSet.of(d)

    # batch
    async def batch(self, requests: Iterable[Any] | Mapping[str, Any]) -> list[Response] | dict[str, Response]:
        """Send several requests concurrently (at most ``batch`` at once, ``batch_per_host`` per host).

        Each item is a URL (GET), a tuple ``(method, url[, body[, kwargs]])`` or a dict
        ``{"method", "url", "body", ...request kwargs}``. A dict of such items returns a
        dict of responses under the same keys, else a list in order.
        """
        if isinstance(requests, Mapping):
            keys = list(requests.keys())
            specs = [_batch_spec(requests[k]) for k in keys]
        else:
            keys = None
            specs = [_batch_spec(r) for r in requests]
        overall = asyncio.Semaphore(max(1, self.batch_limit))
        per_host: dict[str, asyncio.Semaphore] = {}
        limit_host = max(1, self.batch_per_host)

        async def one(method: str, url: str, body: Any, kw: dict) -> Response:
            t0 = _perf()
            try:
                hk = parse_url(url).host
            except InvalidURL:
                hk = url
            sem = per_host.get(hk)
            if sem is None:
                sem = per_host[hk] = asyncio.Semaphore(limit_host)
            async with overall:
                async with sem:
                    return await self.request(method, url, body, t_start=t0, **kw)

        results = await asyncio.gather(*(one(*s) for s in specs))
        if keys is not None:
            return dict(zip(keys, results))
        return list(results)


def _batch_spec(item: Any) -> tuple[str, str, Any, dict]:
    if isinstance(item, str):
        return "GET", item, None, {}
    if isinstance(item, Mapping):
        kw = dict(item)
        try:
            url = kw.pop("url")
        except KeyError:
            raise ValueError(f"batch request {item!r} has no 'url'") from None
        return str(kw.pop("method", "GET")), url, kw.pop("body", None), kw
    if isinstance(item, (tuple, list)) and 2 <= len(item) <= 4:
        method, url = item[0], item[1]
        body = item[2] if len(item) > 2 else None
        kw = dict(item[3]) if len(item) > 3 and item[3] else {}
        return str(method), url, body, kw
    raise ValueError(f"batch request {item!r}: use a URL, (method, url[, body[, kwargs]]) or a dict")
