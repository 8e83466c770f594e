"""A small, fast HTTP/1.1 test target for demos, tests and benchmarks.

It runs an asyncio server (on uvloop when installed) in a background thread,
bound to 127.0.0.1 by default, with keep-alive and these routes:

==========================  =====================================================
``/``                       a small HTML page
``/status/{code}``          answers with that status
``/delay/{ms}``             answers 200 after ``ms`` milliseconds
``/json``                   a small JSON document
``/bytes/{n}``              ``n`` bytes of body
``/redirect/{n}``           a chain of ``n`` 302 redirects ending at ``/``
``/redirect-to?url=U``      a 302 (or ``status_code=``) redirect to ``U``
``/cookies/set?k=v``        sets the cookies given in the query (``Set-Cookie``)
``/cookies``                ``{"cookies": {...}}`` from the request's Cookie header
``/echo``                   ``{"method", "path", "query", "headers", "body"}`` as JSON
``/chunked``                a body sent with chunked transfer encoding
``/gzip``, ``/deflate``     a JSON body compressed with that content coding
``/drop``                   closes the connection without answering
==========================  =====================================================

Use :func:`start_target` from Python, or ``python -m horde.testing --port N``.
"""

from __future__ import annotations

import asyncio
import collections
import functools
import gzip
import json
import ssl
import threading
import zlib
from collections.abc import Callable, Coroutine
from http import HTTPStatus
from typing import Any, TypeAlias, cast
from urllib.parse import parse_qsl, quote, unquote

import httptools

from ..engine.loop import new_loop

__all__ = ["TargetServer", "start_target"]

_MAX_BYTES = 64 * 1024 * 1024
_MAX_DELAY_MS = 120_000

HOME_PAGE = (
    b"<!DOCTYPE html>\n<html><head><title>horde target</title></head>"
    b"<body><h1>horde target</h1><p>A test server for horde.</p></body></html>\n"
)
JSON_DOC = json.dumps({"name": "horde", "kind": "target", "items": [1, 2, 3], "ok": True}).encode()


def _reason(code: int) -> bytes:
    try:
        return HTTPStatus(code).phrase.encode()
    except ValueError:
        return b"Unknown"


_STATUS_LINES: dict[int, bytes] = {}


def _status_line(code: int) -> bytes:
    line = _STATUS_LINES.get(code)
    if line is None:
        line = b"HTTP/1.1 %d %s\r\n" % (code, _reason(code))
        _STATUS_LINES[code] = line
    return line


class _Request:
    __slots__ = ("method", "url", "headers", "body", "keep_alive", "version")

    def __init__(self) -> None:
        self.method = b""
        self.url = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.body = bytearray()
        self.keep_alive = True
        self.version = "1.1"

    def header(self, name: bytes) -> bytes | None:
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return None


class _Response:
    __slots__ = ("status", "headers", "body", "chunks", "close")

    def __init__(
        self,
        status: int = 200,
        body: bytes = b"",
        headers: list[tuple[str, str]] | None = None,
        *,
        chunks: list[bytes] | None = None,
        close: bool = False,
    ) -> None:
        self.status = status
        self.body = body
        self.headers = headers or []
        self.chunks = chunks
        self.close = close


_Answer: TypeAlias = "_Response | Coroutine[Any, Any, _Response]"
"""What a route returns: a response now, or a coroutine that makes one later."""


class _Drop(Exception):
    """Raised by a handler to close the connection without answering."""


class _TargetProtocol(asyncio.Protocol):
    """One server connection: parses with httptools, answers requests in order."""

    def __init__(self, server: TargetServer) -> None:
        self._server = server
        self._parser = httptools.HttpRequestParser(self)
        self._transport: asyncio.Transport | None = None
        self._cur: _Request | None = None
        self._pending: list[_Request] = []
        self._busy = False
        self._closed = False

    # asyncio callbacks
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's transports are not subclasses
        self._server._conns.add(self)
        self._server.connections += 1

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed = True
        self._server._conns.discard(self)

    def data_received(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._write_error(400)
        except httptools.HttpParserError:
            self._write_error(400)

    # httptools callbacks
    def on_message_begin(self) -> None:
        self._cur = _Request()

    def on_url(self, url: bytes) -> None:
        self._cur.url += url  # type: ignore[union-attr]

    def on_header(self, name: bytes, value: bytes) -> None:
        self._cur.headers.append((name, value))  # type: ignore[union-attr]

    def on_body(self, body: bytes) -> None:
        self._cur.body += body  # type: ignore[union-attr]

    def on_message_complete(self) -> None:
        req = self._cur
        assert req is not None
        req.method = self._parser.get_method()
        req.keep_alive = self._parser.should_keep_alive()
        req.version = self._parser.get_http_version()
        self._cur = None
        self._pending.append(req)
        if not self._busy:
            self._process()

    # answering
    def _process(self) -> None:
        while self._pending and not self._closed:
            req = self._pending.pop(0)
            try:
                result = self._server._handle(req)
            except _Drop:
                self._abort()
                return
            except Exception:  # a bug in a route must not kill the server
                result = _Response(500, b"internal error\n")
            if isinstance(result, _Response):
                self._write(req, result)
                continue
            self._busy = True
            task = asyncio.ensure_future(result)
            task.add_done_callback(functools.partial(self._finish_async, req))
            return

    def _finish_async(self, req: _Request, task: asyncio.Future[_Response]) -> None:
        self._busy = False
        if self._closed or task.cancelled():
            return
        exc = task.exception()
        if isinstance(exc, _Drop):
            self._abort()
            return
        self._write(req, task.result() if exc is None else _Response(500, b"internal error\n"))
        self._process()

    def _abort(self) -> None:
        self._closed = True
        if self._transport is not None:
            self._transport.abort()

    def _write_error(self, status: int) -> None:
        if self._transport is not None and not self._closed:
            self._transport.write(_status_line(status) + b"Content-Length: 0\r\nConnection: close\r\n\r\n")
            self._transport.close()
            self._closed = True

    def _write(self, req: _Request, res: _Response) -> None:
        if self._closed or self._transport is None:
            return
        close = res.close or not req.keep_alive
        head = [_status_line(res.status), b"Server: horde-target\r\n"]
        for k, v in res.headers:
            head.append(b"%s: %s\r\n" % (k.encode("latin-1"), v.encode("latin-1")))
        is_head = req.method == b"HEAD"
        if res.chunks is not None:
            head.append(b"Transfer-Encoding: chunked\r\n")
        elif res.status >= 200 and res.status not in (204, 304):
            head.append(b"Content-Length: %d\r\n" % len(res.body))
        if close:
            head.append(b"Connection: close\r\n")
        elif req.version == "1.0":
            head.append(b"Connection: keep-alive\r\n")
        head.append(b"\r\n")
        out = b"".join(head)
        if not is_head:
            if res.chunks is not None:
                out += b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in res.chunks if c) + b"0\r\n\r\n"
            else:
                out += res.body
        self._transport.write(out)
        if close:
            self._transport.close()
            self._closed = True


def _json(obj: object, status: int = 200, headers: list[tuple[str, str]] | None = None) -> _Response:
    return _Response(status, json.dumps(obj).encode(), [("Content-Type", "application/json")] + (headers or []))


def _text(status: int, text: str) -> _Response:
    return _Response(status, text.encode(), [("Content-Type", "text/plain; charset=utf-8")])


def _int(s: str) -> int | None:
    try:
        return int(s)
    except ValueError:
        return None


def _parse_cookies(header: bytes | None) -> dict[str, str]:
    out: dict[str, str] = {}
    if not header:
        return out
    for part in header.decode("latin-1").split(";"):
        name, sep, value = part.strip().partition("=")
        if sep and name:
            out[name] = value
    return out


class TargetServer:
    """A running target server; see the module docstring for its routes.

    ``url`` is its base URL (no trailing slash); ``connections`` counts the
    connections accepted so far (tests use it to check keep-alive);
    ``requests`` the requests received so far and ``paths`` them by path
    (tests count what a run sent, e.g. exactly 1000 iterations). Stop it with
    :meth:`stop` or use it as a context manager.
    """

    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, tls_cert: str | None = None, tls_key: str | None = None
    ) -> None:
        self.host = host
        self.port = port
        self.tls = tls_cert is not None
        self.cert_file = tls_cert
        """The certificate file served over TLS (for a self-signed one, also the CA to trust)."""
        self._ssl: ssl.SSLContext | None = None
        if tls_cert is not None:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(tls_cert, tls_key)
            self._ssl = ctx
        self.connections = 0
        self.requests = 0
        self.paths: collections.Counter[str] = collections.Counter()
        self._conns: set[_TargetProtocol] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.AbstractServer | None = None
        self._thread: threading.Thread | None = None
        self._stopped = threading.Event()
        self._routes: dict[str, Callable[[_Request, list[str], str], _Answer]] = {
            "": self._home,
            "status": self._status,
            "delay": self._delay,
            "json": self._json_doc,
            "bytes": self._bytes,
            "redirect": self._redirect,
            "redirect-to": self._redirect_to,
            "cookies": self._cookies,
            "echo": self._echo,
            "chunked": self._chunked,
            "gzip": self._gzip,
            "deflate": self._deflate,
            "drop": self._drop,
        }

    @property
    def url(self) -> str:
        """The base URL, e.g. ``http://127.0.0.1:40123``."""
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"

    # lifecycle
    def start(self, timeout: float = 10.0) -> TargetServer:
        """Start serving in a daemon thread; returns once the port is bound."""
        ready = threading.Event()
        errors: list[BaseException] = []
        self._thread = threading.Thread(target=self._run, args=(ready, errors), name="horde-target", daemon=True)
        self._thread.start()
        if not ready.wait(timeout):
            raise RuntimeError("target server did not start in time")
        if errors:
            raise errors[0]
        return self

    def _run(self, ready: threading.Event, errors: list[BaseException]) -> None:
        loop = new_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            self._server = loop.run_until_complete(
                loop.create_server(lambda: _TargetProtocol(self), self.host, self.port, ssl=self._ssl, backlog=1024)
            )
            self.port = self._server.sockets[0].getsockname()[1]
        except BaseException as e:  # report bind errors to start()
            errors.append(e)
            ready.set()
            loop.close()
            return
        ready.set()
        try:
            loop.run_forever()
        finally:
            self._server.close()
            for conn in list(self._conns):
                conn._abort()
            try:
                loop.run_until_complete(asyncio.wait_for(self._server.wait_closed(), 2))
            except Exception:
                pass
            for task in asyncio.all_tasks(loop):
                task.cancel()
            loop.run_until_complete(asyncio.sleep(0))
            loop.close()
            self._stopped.set()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving, close open connections and join the thread (idempotent)."""
        loop = self._loop
        if loop is None or self._thread is None:
            return
        if not self._stopped.is_set():
            try:
                loop.call_soon_threadsafe(loop.stop)
            except RuntimeError:
                pass
        self._thread.join(timeout)

    def __enter__(self) -> TargetServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<TargetServer {self.url}>"

    # routing
    def _handle(self, req: _Request) -> _Answer:
        raw = req.url.decode("latin-1")
        path, _, query = raw.partition("?")
        self.requests += 1
        self.paths[path] += 1
        parts = path.strip("/").split("/")
        route = self._routes.get(parts[0])
        if route is None:
            return _text(404, "not found\n")
        return route(req, parts[1:], query)

    def _home(self, req: _Request, args: list[str], query: str) -> _Answer:
        if args:
            return _text(404, "not found\n")
        return _Response(200, HOME_PAGE, [("Content-Type", "text/html; charset=utf-8")])

    def _status(self, req: _Request, args: list[str], query: str) -> _Answer:
        code = _int(args[0]) if args else None
        if code is None or not 100 <= code <= 599:
            return _text(400, "bad status\n")
        if code < 200:  # informational answers cannot end a request; keep the tests simple
            return _text(400, "informational status not supported\n")
        return _text(code, f"{code} {_reason(code).decode()}\n")

    def _delay(self, req: _Request, args: list[str], query: str) -> _Answer:
        ms = _int(args[0]) if args else None
        if ms is None or not 0 <= ms <= _MAX_DELAY_MS:
            return _text(400, "bad delay\n")

        async def later() -> _Response:
            await asyncio.sleep(ms / 1000)
            return _json({"delay_ms": ms})

        return later()

    def _json_doc(self, req: _Request, args: list[str], query: str) -> _Answer:
        return _Response(200, JSON_DOC, [("Content-Type", "application/json")])

    def _bytes(self, req: _Request, args: list[str], query: str) -> _Answer:
        n = _int(args[0]) if args else None
        if n is None or not 0 <= n <= _MAX_BYTES:
            return _text(400, "bad size\n")
        pattern = b"0123456789abcdef"
        body = (pattern * (n // 16 + 1))[:n]
        return _Response(200, body, [("Content-Type", "application/octet-stream")])

    def _redirect(self, req: _Request, args: list[str], query: str) -> _Answer:
        n = _int(args[0]) if args else None
        if n is None or n < 1:
            return _text(400, "bad count\n")
        loc = "/" if n == 1 else f"/redirect/{n - 1}"
        return _Response(302, b"", [("Location", loc)])

    def _redirect_to(self, req: _Request, args: list[str], query: str) -> _Answer:
        q = dict(parse_qsl(query, keep_blank_values=True))
        url = q.get("url")
        if not url:
            return _text(400, "missing url\n")
        code = _int(q.get("status_code", "302")) or 302
        if not 300 <= code < 400:
            return _text(400, "bad status_code\n")
        return _Response(code, b"", [("Location", quote(url, safe=":/?#[]@!$&'()*+,;=%"))])

    def _cookies(self, req: _Request, args: list[str], query: str) -> _Answer:
        if args and args[0] == "set":
            pairs = parse_qsl(query, keep_blank_values=True)
            headers = [("Set-Cookie", f"{k}={v}; Path=/") for k, v in pairs]
            return _json({"cookies": dict(pairs)}, headers=headers)
        if args and args[0] == "delete":
            names = [k for k, _ in parse_qsl(query, keep_blank_values=True)]
            headers = [("Set-Cookie", f"{k}=; Path=/; Max-Age=0") for k in names]
            return _json({"deleted": names}, headers=headers)
        if args:
            return _text(404, "not found\n")
        return _json({"cookies": _parse_cookies(req.header(b"cookie"))})

    def _echo(self, req: _Request, args: list[str], query: str) -> _Answer:
        headers: dict[str, str] = {}
        for k, v in req.headers:
            name = k.decode("latin-1")
            value = v.decode("latin-1")
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        path = req.url.decode("latin-1").partition("?")[0]
        return _json(
            {
                "method": req.method.decode(),
                "path": unquote(path),
                "query": dict(parse_qsl(query, keep_blank_values=True)),
                "headers": headers,
                "body": bytes(req.body).decode("utf-8", "replace"),
            }
        )

    def _chunked(self, req: _Request, args: list[str], query: str) -> _Answer:
        chunks = [b"chunk %d\n" % i for i in range(5)]
        return _Response(200, b"", [("Content-Type", "text/plain")], chunks=chunks)

    def _gzip(self, req: _Request, args: list[str], query: str) -> _Answer:
        return _Response(
            200, gzip.compress(JSON_DOC), [("Content-Type", "application/json"), ("Content-Encoding", "gzip")]
        )

    def _deflate(self, req: _Request, args: list[str], query: str) -> _Answer:
        return _Response(
            200, zlib.compress(JSON_DOC), [("Content-Type", "application/json"), ("Content-Encoding", "deflate")]
        )

    def _drop(self, req: _Request, args: list[str], query: str) -> _Answer:
        raise _Drop()


def start_target(
    host: str = "127.0.0.1", port: int = 0, tls_cert: str | None = None, tls_key: str | None = None
) -> TargetServer:
    """Start a :class:`TargetServer` in a background thread and return it once it listens.

    ``port=0`` picks a free port (read it from ``.port`` or ``.url``). With
    ``tls_cert``/``tls_key`` (PEM files) it serves HTTPS.
    """
    return TargetServer(host, port, tls_cert, tls_key).start()
