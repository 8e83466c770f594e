"""The HTTP/1.1 transport: an asyncio Protocol client parsing with httptools.

A response that arrives whole in one read, plain (HTTP/1.1, a Content-Length,
no chunked body) as most do, is read by ``horde.http._scan`` in C instead, in
one pass without httptools' callbacks. ``horde.http._exchange`` keeps a
connection's exchange state in C fields and runs an exchange on a pooled
connection in C: it writes the request, reads such a response and returns the
connection to its pool. Without those extensions (no C compiler at install)
httptools reads every response and this module's Python does it all; that
Python is the reference.

Timings come from protocol callbacks: ``blocked`` until a connection is in
hand (pool hit, or DNS before a new connection's TCP connect), ``connecting``
for the TCP connect, ``tls_handshaking`` for the TLS handshake, ``sending``
while the request is written, ``waiting`` until the first response byte
arrives, ``receiving`` until the last. Works on the default asyncio loop and
on uvloop. It speaks HTTP/1.1 only: it offers only ``http/1.1`` in ALPN and
fails clearly on a protocol upgrade or a reply that is not HTTP/1.x.
"""

from __future__ import annotations

import asyncio
import functools
import socket
import ssl
import time
from collections.abc import Callable
from typing import Any

import httptools

from . import errors
from .errors import RequestTimeout, TransportError
from .netrules import NetRules
from .transport import RawRequest, RawResponse, parse_header_lines

scan_response: Callable[[bytes], tuple[int, bool, bool, int] | None] | None
try:
    from ._scan import scan_response
except ImportError:  # built without a C compiler: httptools reads every response
    scan_response = None
try:
    from . import _exchange
except ImportError:  # built without a C compiler: the Python exchange below
    _exchange = None  # type: ignore[assignment]

__all__ = ["H1Transport", "default_ssl_context"]

_perf = time.perf_counter_ns  # integer ns: a timing is n / 1e6 ms, with k6's resolution and short text
_TLS_NAMES = {"TLSv1.3": "tls1.3", "TLSv1.2": "tls1.2", "TLSv1.1": "tls1.1", "TLSv1": "tls1.0"}
_BIG_BODY = 64 * 1024
_MAX_TIMEOUT = 1e9
"""Seconds (some 31 years): a longer request timeout, or an infinite one, waits this long."""


@functools.lru_cache(maxsize=16)
def default_ssl_context(
    *,
    insecure_skip_verify: bool = False,
    ca_file: str | None = None,
    tls_min: ssl.TLSVersion | None = None,
    tls_max: ssl.TLSVersion | None = None,
    cert_chain: tuple[str, str, str | None] | None = None,
    ciphers: str | None = None,
) -> ssl.SSLContext:
    """A client TLS context offering only HTTP/1.1 in ALPN, shared by every VU with the same settings.

    ``insecure_skip_verify`` turns certificate and host name checks off (k6's
    ``insecureSkipTLSVerify``); ``ca_file`` adds a PEM file of trusted CAs;
    ``tls_min``/``tls_max`` bound the version (``tlsVersion``); ``cert_chain``
    is (cert file, key file, password) of a client certificate (``tlsAuth``);
    ``ciphers`` is an OpenSSL cipher string for TLS <= 1.2 (``tlsCipherSuites``).
    Loading the system CAs costs ~50 ms, so contexts are made once per process.
    """
    ctx = ssl.create_default_context()
    if ca_file:
        ctx.load_verify_locations(cafile=ca_file)
    if insecure_skip_verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if tls_min is not None:
        ctx.minimum_version = tls_min
    if tls_max is not None:
        ctx.maximum_version = tls_max
    if ciphers:
        ctx.set_ciphers(ciphers)
    if cert_chain is not None:
        ctx.load_cert_chain(cert_chain[0], cert_chain[1], cert_chain[2])
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


class _Conn(asyncio.Protocol):
    """One client connection; serves one exchange at a time (no pipelining)."""

    def __init__(self, owner: H1Transport) -> None:
        self.owner = owner
        self.reuse = owner._reuse
        self.max_idle = owner._max_idle
        self.pool: list[_Conn] | None = None  # the idle list the connection returns to after its exchange
        self.loop = asyncio.get_running_loop()
        self.parser = httptools.HttpResponseParser(self)
        self.reset_parser = False
        self.tr: asyncio.Transport | None = None
        self.closed = False
        self.tls_version: str | None = None
        self.remote_ip = ""
        self.remote_port = 0
        self.waiter: asyncio.Future | None = None
        self.drain: asyncio.Future | None = None
        self.paused = False
        # One timer per connection, re-armed lazily: it only moves when a request's deadline comes
        # before it; when it fires early it re-arms for the request in flight (or for nothing).
        # Deadlines are time.perf_counter_ns() values (0: no request in flight).
        self.deadline = 0
        self.timer: asyncio.TimerHandle | None = None
        self.timer_at = 0
        self.sent = 0
        # the state of an exchange: what H1Transport._send resets before it writes a request ...
        self.t0 = 0  # when the request began to wait (perf_counter_ns)
        self.t_ready = 0  # when the connection was in hand
        self.t_sent = 0  # when the request was written (0: not yet)
        self.pre: tuple | None = None  # a new connection's (blocked, connecting, tls_handshaking); None: t0..t_ready
        self.head_only = False  # a response to HEAD
        self.t_first = 0
        self.nrecv = 0
        self.headers_done = False
        self.complete = False
        self._reset_reading()

    def _reset_reading(self) -> None:
        """... and what the first bytes of a response reset, unless the scanner reads it whole and sets it all."""
        if self.reset_parser:  # a response to HEAD left the parser expecting a body
            self.parser = httptools.HttpResponseParser(self)
            self.reset_parser = False
        self.head_parts: list[bytes] | None = None  # what arrived until the headers were complete (httptools)
        self.head: bytes | None = None  # the head, when scan_response read the response
        self.special: bool | None = None  # whether it sets cookies, is encoded or redirects (scan_response)
        self.interim = 0  # 1xx responses before the real one
        self.body: list[bytes] | None = None  # made at the first body bytes: none for a bodiless response
        self.t_end = 0
        self.keep_alive = False
        self.status = 0

    # asyncio.Protocol
    def connection_made(self, transport) -> None:  # type: ignore[override]
        self.tr = transport
        peer = transport.get_extra_info("peername") or ("", 0)
        self.remote_ip, self.remote_port = peer[0], peer[1]
        sslobj = transport.get_extra_info("ssl_object")
        if sslobj is not None:
            v = sslobj.version()
            self.tls_version = _TLS_NAMES.get(v, (v or "").lower())
        self.owner._all.add(self)

    def connection_lost(self, exc) -> None:
        self.closed = True
        self.owner._all.discard(self)
        self._stop_timer()
        d = self.drain
        if d is not None and not d.done():
            d.set_result(None)
        w = self.waiter
        if w is None or w.done():
            return
        if self.headers_done and not self.complete and self._close_delimited():
            self._finish(keep_alive=False)
            return
        w.set_exception(_ConnLost(exc, self.nrecv))

    def pause_writing(self) -> None:
        self.paused = True

    def resume_writing(self) -> None:
        self.paused = False
        d = self.drain
        if d is not None and not d.done():
            d.set_result(None)

    def data_received(self, data: bytes) -> None:
        w = self.waiter
        if w is not None and not self.t_first and not self.head_only and scan_response is not None:
            t_first = _perf()
            scanned = scan_response(data)
            if scanned is not None:  # one whole plain response in one read: no parser, no callbacks
                self.t_first = t_first
                self.nrecv = len(data)
                self.status, self.keep_alive, self.special, end = scanned
                self.head = data[:end]
                self.body = [data[end + 4 :]]
                self.headers_done = self.complete = True
                self.t_end = _perf()
                if not w.done():
                    w.set_result(None)
                return
        self._read(data)

    def _read(self, data: bytes) -> None:
        """Bytes the scanner does not read whole: httptools parses them."""
        if self.waiter is None:  # bytes while idle: the server broke the protocol; drop it
            self.closed = True
            self.tr.abort()  # type: ignore[union-attr]
            return
        if not self.t_first:
            self.t_first = _perf()
            self._reset_reading()
        self.nrecv += len(data)
        if not self.headers_done:
            parts = self.head_parts
            if parts is None:
                self.head_parts = [data]
            else:
                parts.append(data)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            # a 101 answer was returned as is (as Go's client does); whatever follows is not HTTP/1.1
            self._fail(
                TransportError(
                    "the server switched protocols (HTTP upgrade); horde's HTTP/1.1 transport "
                    "does not support upgrades",
                    errors.DEFAULT,
                )
            )
        except httptools.HttpParserError as e:
            self._fail(TransportError(f"malformed HTTP/1.x response (horde speaks HTTP/1.1 only): {e}", errors.DEFAULT))

    # httptools callbacks (no per-header ones: the head is parsed from the bytes when needed)
    def on_headers_complete(self) -> None:
        self.headers_done = True
        if self.head_only:
            self.reset_parser = True
            self._finish(self.parser.should_keep_alive())

    def on_body(self, body: bytes) -> None:
        parts = self.body
        if parts is None:
            self.body = [body]
        else:
            parts.append(body)

    def on_message_complete(self) -> None:
        if self.complete:
            return
        parser = self.parser
        status = parser.get_status_code()
        if 100 <= status < 200:  # an interim response (or 101): _finish knows
            self._finish(parser.should_keep_alive())
            return
        self.complete = True
        self.t_end = _perf()
        self.keep_alive = parser.should_keep_alive()
        self.status = status
        w = self.waiter
        if w is not None and not w.done():
            w.set_result(None)

    # helpers
    def _head(self) -> bytes:
        parts = self.head_parts or [b""]
        if len(parts) == 1 and not self.interim:  # the usual case: one chunk held the whole head
            buf = parts[0]
            end = buf.find(b"\r\n\r\n")
            if end >= 0:
                return buf[:end]
        return _head_block(parts[0] if len(parts) == 1 else b"".join(parts), self.interim)

    def _close_delimited(self) -> bool:
        for k, _ in parse_header_lines(self._head()):
            lk = k.lower()
            if lk == b"content-length" or lk == b"transfer-encoding":
                return False
        return True

    def _finish(self, keep_alive: bool) -> None:
        status = self.parser.get_status_code()
        if 100 <= status < 200 and status != 101:  # an interim response: the real one follows
            self.interim += 1
            self.headers_done = False
            return
        self.complete = True
        self.t_end = _perf()
        self.keep_alive = keep_alive and status != 101  # after 101 the connection is not HTTP any more
        self.status = status
        w = self.waiter
        if w is not None and not w.done():
            w.set_result(None)

    def _fail(self, exc: BaseException) -> None:
        self.closed = True
        w = self.waiter
        if w is not None and not w.done():
            w.set_exception(exc)
        if self.tr is not None:
            self.tr.abort()

    def _arm(self, when: int) -> None:
        """Fire :meth:`_on_timer` at ``when`` (a time.perf_counter_ns() value)."""
        if self.timer is not None:
            self.timer.cancel()
        self.timer_at = when
        loop = self.loop
        self.timer = loop.call_at(loop.time() + (when - _perf()) / 1e9, self._on_timer)

    def _stop_timer(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def _on_timer(self) -> None:
        self.timer = None
        deadline = self.deadline
        if not deadline or self.closed:
            return
        if _perf() < deadline:  # the loop's clock has millisecond steps: early by less than one
            self._arm(deadline)
            return
        self._fail(_TimedOut())
        d = self.drain
        if d is not None and not d.done():
            d.set_result(None)

    def _pre(self) -> tuple:
        return self.pre or ((self.t_ready - self.t0) / 1e6, 0.0, 0.0)

    def _partial(self) -> tuple:
        """The timings of an exchange that failed now."""
        pre, now, t_ready, t_sent = self._pre(), _perf(), self.t_ready, self.t_sent
        if not t_sent:
            return (pre[0], pre[1], pre[2], (now - t_ready) / 1e6, 0.0, 0.0)
        sending = (t_sent - t_ready) / 1e6
        if not self.t_first:
            return (pre[0], pre[1], pre[2], sending, (now - t_sent) / 1e6, 0.0)
        return (pre[0], pre[1], pre[2], sending, (self.t_first - t_sent) / 1e6, (now - self.t_first) / 1e6)

    def _response(self) -> RawResponse:
        """The RawResponse of the completed exchange."""
        t_first, t_sent, t_ready = self.t_first, self.t_sent, self.t_ready
        # an early answer (before a large body was flushed) must not make waiting negative
        waiting = (t_first - t_sent) / 1e6 if t_first > t_sent else 0.0
        b = self.body
        head = self.head
        if head is None:
            head = self._head()
        pre = self._pre()
        return RawResponse(
            self.status,
            None,
            "HTTP/1.1"  # scan_response reads only HTTP/1.1 responses
            if self.special is not None
            else _PROTO_OF_HEAD.get(head[:9]) or _PROTO.get(self.parser.get_http_version(), "HTTP/1.1"),
            None,
            b"" if b is None else b[0] if len(b) == 1 else b"".join(b),
            (pre[0], pre[1], pre[2], (t_sent - t_ready) / 1e6, waiting, (self.t_end - t_first) / 1e6),
            self.tls_version,
            self.sent,
            self.nrecv,
            self.remote_ip,
            self.remote_port,
            head,
            self.special,
        )

    async def _drained(self) -> None:
        """Return once the paused transport wants more bytes again (or the connection is closed)."""
        self.drain = self.loop.create_future()
        await self.drain
        self.drain = None

    def close(self) -> None:
        self.closed = True
        self._stop_timer()
        if self.tr is not None:
            try:
                self.tr.close()
            except RuntimeError:  # its event loop is already closed
                pass

    def abort(self) -> None:
        self.closed = True
        self._stop_timer()
        if self.tr is not None:
            try:
                self.tr.abort()
            except RuntimeError:
                pass


def _head_block(buf: bytes, skip: int) -> bytes:
    """The status line and header lines of the response in ``buf``, after ``skip`` interim responses."""
    start = 0
    for _ in range(skip + 1):
        end = buf.find(b"\r\n\r\n", start)
        sep = 4
        if end < 0:  # bare LF line ends
            end, sep = buf.find(b"\n\n", start), 2
        if end < 0:
            return buf[start:]
        if skip == 0:
            return buf[start:end]
        skip -= 1
        start = end + sep
    return buf[start:]  # pragma: no cover - the loop returns


def _replayable(req: RawRequest) -> bool:
    """Whether a request may be re-sent on a new connection after a pooled one died (Go's rule)."""
    if req.method in ("GET", "HEAD", "OPTIONS", "TRACE"):
        return True
    for k, _ in req.headers:
        if k.lower() in ("idempotency-key", "x-idempotency-key"):
            return True
    return False


_PROTO = {"1.1": "HTTP/1.1", "1.0": "HTTP/1.0", "0.9": "HTTP/0.9"}
_PROTO_OF_HEAD = {b"HTTP/1.1 ": "HTTP/1.1", b"HTTP/1.0 ": "HTTP/1.0"}
"""The protocol from the status line's first bytes: the parser's get_http_version() formats a string each call."""


class _ConnLost(Exception):
    def __init__(self, exc: BaseException | None, nrecv: int) -> None:
        self.exc = exc
        self.nrecv = nrecv


class _TimedOut(Exception):
    pass


def _addr(sa: Any) -> str:
    if not sa:
        return ""
    host, port = sa[0], sa[1]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _failed(conn: _Conn, e: BaseException, req: RawRequest, reused: bool) -> None:
    """End ``conn``'s exchange that failed with ``e``: return if the request may go again on another connection
    (a ``reused`` one that died before answering), else raise what the exchange raises."""
    conn.deadline = 0
    conn.waiter = conn.pool = None
    if isinstance(e, _ConnLost) and reused and e.nrecv == 0 and _replayable(req):
        return
    raise _exchange_error(conn, e) from None


def _exchange_error(conn: _Conn, e: BaseException) -> BaseException:
    """What an exchange that failed with ``e`` raises: the timings and byte counts so far on it."""
    if isinstance(e, _ConnLost):
        msg, code = errors.classify_io_error(e.exc)
        return TransportError(msg, code, timings=conn._partial(), bytes_sent=conn.sent, bytes_received=conn.nrecv)
    if isinstance(e, _TimedOut):
        return RequestTimeout(timings=conn._partial(), bytes_sent=conn.sent, bytes_received=conn.nrecv)
    if isinstance(e, TransportError):
        e.timings = conn._partial()
        e.bytes_sent, e.bytes_received = conn.sent, conn.nrecv
    elif isinstance(e, asyncio.CancelledError):  # the VU was stopped mid-request: the connection is unusable
        conn.abort()
    return e


def _end_exchange(conn: _Conn) -> RawResponse:
    """The RawResponse of ``conn``'s completed exchange; ``conn`` back to its pool, or closed."""
    conn.deadline = 0
    conn.waiter = None
    res = conn._response()
    pool, conn.pool = conn.pool, None
    if conn.keep_alive and not conn.closed and conn.reuse and pool is not None and len(pool) < conn.max_idle:
        pool.append(conn)
    else:
        conn.close()
    return res


_conn_class: type[_Conn] = _Conn
_begin: Callable[[dict, RawRequest], Any] | None = None
_end: Callable[[Any], RawResponse] = _end_exchange
if _exchange is not None:
    _exchange.configure(RawRequest, RawResponse)

    class _FastConn(_exchange.Conn, _Conn):  # type: ignore[misc]
        """A connection whose exchange state is C fields, reading a whole plain response in C."""

    _conn_class, _begin, _end = _FastConn, _exchange.begin, _exchange.finish


class H1Transport:
    """HTTP/1.1 over pooled keep-alive connections (one instance per VU).

    ``ssl_context`` verifies servers (see :func:`default_ssl_context`); it may
    be a function making one, called at the first TLS connection (loading the
    system CAs takes ~50 ms: a plain-HTTP test never pays it);
    ``reuse=False`` closes every connection after its response (k6's
    ``noConnectionReuse``); ``max_idle_per_host`` bounds the idle pool;
    resolved addresses are cached for ``dns_ttl`` seconds. ``rules`` (k6's
    hosts, blockHostnames, blacklistIPs and dns options) act on a cache miss;
    ``local_ip`` is the source address of every connection (``localIPs``);
    ``ssl_for_host`` gives the context of a host with a client certificate
    (``tlsAuth``), or None for the shared one.
    """

    def __init__(
        self,
        *,
        ssl_context: ssl.SSLContext | Callable[[], ssl.SSLContext] | None = None,
        reuse: bool = True,
        max_idle_per_host: int = 100,
        dns_ttl: float = 300.0,
        rules: NetRules | None = None,
        local_ip: str | None = None,
        ssl_for_host: Callable[[str], ssl.SSLContext | None] | None = None,
    ) -> None:
        self._rules = rules
        self._local_ip = local_ip
        self._ssl_for_host = ssl_for_host
        if rules is not None:
            dns_ttl = rules.dns.ttl
        self._ssl = ssl_context
        self._reuse = reuse
        self._max_idle = max_idle_per_host
        self._dns_ttl = dns_ttl
        self._idle: dict[tuple, list[_Conn]] = {}
        self._dns: dict[tuple[str, int], tuple[float, int, Any]] = {}
        self._all: set[_Conn] = set()
        self._heads: dict[tuple, bytes] = {}

    @property
    def ssl_context(self) -> ssl.SSLContext:
        """The TLS context of this transport's https connections."""
        ctx = self._ssl
        if ctx is None:
            ctx = self._ssl = default_ssl_context()
        elif not isinstance(ctx, ssl.SSLContext):
            ctx = self._ssl = ctx()
        return ctx

    async def send(self, req: RawRequest) -> RawResponse:
        """Send ``req`` on a pooled or new connection and read the response."""
        if _begin is not None:  # in C on a pooled connection, when it can (see horde.http._exchange)
            conn = _begin(self._idle, req)
            if conn is not None:
                try:
                    if not conn.t_sent:  # the write paused the transport (begin() did not time it)
                        await conn._drained()
                        conn.t_sent = _perf()
                    await conn.waiter
                except BaseException as e:
                    _failed(conn, e, req, True)
                    return await self._send(req, 1, conn.t0)  # it was dead before answering: on another one
                return _end(conn)
        return await self._send(req, 2)

    async def _send(self, req: RawRequest, attempts: int, t0: int = 0) -> RawResponse:
        """:meth:`send` in Python; a pooled connection that dies unused is replaced ``attempts - 1`` times.

        ``t0`` is when the request began (perf_counter_ns), if it already tried a connection."""
        if not t0:
            t_start = req.t_start  # queued since then (a time.perf_counter() in seconds), or 0: now
            t0 = round(t_start * 1e9) if t_start else _perf()
        timeout = req.timeout
        if timeout > _MAX_TIMEOUT:  # an infinite one too
            timeout = _MAX_TIMEOUT
        deadline = t0 + round(timeout * 1e9)  # in time.perf_counter_ns(): no loop.time() per request
        data = req.head
        if data is None:
            data = req.head = self._head(req)
        key = (req.scheme, req.host, req.port)
        idle = self._idle.get(key)
        if idle is None:
            idle = self._idle[key] = []
        head_only = req.method == "HEAD"
        for _ in range(attempts):
            conn = None
            while idle:
                conn = idle.pop()
                if not conn.closed:
                    break
                conn = None
            if conn is not None:
                loop = conn.loop  # not asyncio.get_running_loop(): a getpid() system call per request
                conn.t_ready = _perf()
                conn.pre = None
                reused = True
            else:
                loop = asyncio.get_running_loop()
                conn = await self._connect(req, t0, loop.time() + (deadline - _perf()) / 1e9, loop)
                reused = False
            conn.t0 = t0  # the state of a new exchange (see _Conn.__init__)
            conn.t_sent = 0
            conn.head_only = head_only
            conn.t_first = conn.nrecv = 0
            conn.headers_done = conn.complete = False
            fut = conn.waiter = loop.create_future()
            conn.deadline = deadline
            if conn.timer is None or conn.timer_at > deadline:
                conn._arm(deadline)
            body = req.body
            if body:
                conn.sent = len(data) + len(body)
                if len(body) >= _BIG_BODY:
                    conn.tr.write(data)
                    conn.tr.write(body)
                else:
                    conn.tr.write(data + body)
            else:
                conn.sent = len(data)
                conn.tr.write(data)
            try:
                if conn.paused and not conn.closed:
                    await conn._drained()
                conn.t_sent = _perf()
                await fut
            except BaseException as e:
                _failed(conn, e, req, reused)
                continue  # the pooled connection was dead before answering: retry on a new one
            conn.pool = idle
            return _end_exchange(conn)
        raise TransportError("connection closed by the server", errors.DEFAULT)

    def _head(self, req: RawRequest) -> bytes:
        key = (req.method, req.target, tuple(req.headers))
        head = self._heads.get(key)
        if head is None:
            lines = [f"{req.method} {req.target} HTTP/1.1\r\n"]
            for k, v in req.headers:
                lines.append(f"{k}: {v}\r\n")
            lines.append("\r\n")
            text = "".join(lines)
            try:
                head = text.encode("latin-1")
            except UnicodeEncodeError:
                head = text.encode("utf-8")
            if len(self._heads) >= 4096:
                self._heads.clear()
            self._heads[key] = head
        return head

    async def _resolve(self, host: str, port: int, loop) -> tuple[int, Any]:
        now = time.monotonic()
        ent = self._dns.get((host, port))
        if ent is not None and ent[0] > now:
            return ent[1], ent[2]
        rules = self._rules
        name, dport = host, port
        if rules is not None and rules.active:
            name, dport = rules.resolve_name(host, port)  # TransportError for a blocked hostname
        literal = _ip_literal(name)
        if literal is not None:  # no resolver round trip for an IP address
            if rules is not None:
                rules.check_ip(name)
            fam, sa = literal, ((name, dport) if literal == socket.AF_INET else (name, dport, 0, 0))
            self._dns[(host, port)] = (float("inf"), fam, sa)
            return fam, sa
        infos = await loop.getaddrinfo(name, dport, type=socket.SOCK_STREAM)
        if not infos:
            raise socket.gaierror(socket.EAI_NONAME, "no such host")
        if rules is None:
            infos.sort(key=lambda i: i[0] != socket.AF_INET)  # prefer IPv4, as k6's default
            fam, _, _, _, sa = infos[0]
        else:
            fam, _, _, _, sa = rules.dns.choose(infos)
            rules.check_ip(sa[0])
        self._dns[(host, port)] = (now + self._dns_ttl, fam, sa)
        return fam, sa

    async def _connect(self, req: RawRequest, t0: int, deadline: float, loop) -> _Conn:
        """A new connection to ``req``'s host, its ``pre`` timings and ``t_ready`` set."""
        addr = f"{req.host}:{req.port}"
        sock = None
        t_cs = t_ce = 0
        try:
            remaining = deadline - loop.time()
            fam, sa = await asyncio.wait_for(self._resolve(req.host, req.port, loop), max(remaining, 0))
            addr = _addr(sa)
            sock = socket.socket(fam, socket.SOCK_STREAM)
            sock.setblocking(False)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self._local_ip is not None:
                sock.bind((self._local_ip, 0))
            t_cs = _perf()
            await asyncio.wait_for(loop.sock_connect(sock, sa), max(deadline - loop.time(), 0))
            t_ce = _perf()
            tls = req.scheme == "https"
            remaining = max(deadline - loop.time(), 0.001)
            if tls:
                _, conn = await asyncio.wait_for(
                    loop.create_connection(
                        lambda: _conn_class(self),
                        sock=sock,
                        ssl=(self._ssl_for_host and self._ssl_for_host(req.host)) or self.ssl_context,
                        server_hostname=req.host,
                        ssl_handshake_timeout=remaining,
                    ),
                    remaining,
                )
            else:
                _, conn = await loop.create_connection(lambda: _conn_class(self), sock=sock)
            t_tls = _perf()
        except asyncio.TimeoutError:
            if sock is not None:
                sock.close()
            now = _perf()
            raise RequestTimeout(timings=_dial_timings(t0, t_cs, t_ce, now)) from None
        except (OSError, ssl.SSLError) as e:
            if sock is not None:
                sock.close()
            now = _perf()
            msg, code = errors.classify_dial_error(e, addr)
            raise TransportError(msg, code, timings=_dial_timings(t0, t_cs, t_ce, now)) from None
        except asyncio.CancelledError:
            if sock is not None:
                sock.close()
            raise
        if tls:
            conn.pre = ((t_cs - t0) / 1e6, (t_ce - t_cs) / 1e6, (t_tls - t_ce) / 1e6)
        else:
            conn.pre = ((t_cs - t0) / 1e6, (t_tls - t_cs) / 1e6, 0.0)
        conn.t_ready = t_tls
        return conn

    def close(self) -> None:
        """Close every connection, idle or busy, at once (no TLS close_notify exchange)."""
        for c in list(self._all):
            c.abort()
        for idle in self._idle.values():  # in place: a send in flight returns its connection to its list
            idle.clear()

    @property
    def open_connections(self) -> int:
        """How many connections are open (idle or busy)."""
        return len(self._all)


def _ip_literal(host: str) -> int | None:
    """AF_INET or AF_INET6 when ``host`` is an IP address, else None."""
    for fam in (socket.AF_INET, socket.AF_INET6):
        try:
            socket.inet_pton(fam, host)
        except OSError:
            continue
        return fam
    return None


def _dial_timings(t0: int, t_cs: int, t_ce: int, now: int) -> tuple:
    if not t_cs:
        return ((now - t0) / 1e6, 0.0, 0.0, 0.0, 0.0, 0.0)
    if not t_ce:
        return ((t_cs - t0) / 1e6, (now - t_cs) / 1e6, 0.0, 0.0, 0.0, 0.0)
    return ((t_cs - t0) / 1e6, (t_ce - t_cs) / 1e6, (now - t_ce) / 1e6, 0.0, 0.0, 0.0)
