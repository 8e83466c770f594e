"""The Insights HTTP service: ingest API, read API, web UI and the no-data timeout.

One stdlib ``ThreadingHTTPServer``: k6-style clients push about once a
second, so a thread per connection is plenty, and the service needs no web
framework. Every ``/v1``, ``/v2`` and ``/api`` call needs
``Authorization: Token …``; the token's project scopes what it can see and
write. Pages and static files carry no data and need no token (the pages'
scripts send the token the user entered).
"""

from __future__ import annotations

import io
import logging
import mimetypes
import re
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from urllib.parse import parse_qsl, unquote, urlsplit

from . import __version__, instances, setupdata
from .auth import hash_token, parse_authorization
from .compare import compare_runs, compared_ids
from .connections import DeadlineReader, ParkingLot
from .export import export_file
from .http import ApiError, read_body, send_download, send_error, send_json
from .ingest import Limits, create_run, push_metrics
from .query import run_detail
from .runlist import delete_run, project_info, runs_page
from .store import Store
from .verdict import VerdictJudge

__all__ = ["InsightsServer", "Reaper"]

log = logging.getLogger("horde_insights")

_RUN = re.compile(r"^/v1/tests/([0-9]+)$")
_PUSH = re.compile(r"^/v2/metrics/([0-9]+)$")
_V1_PUSH = re.compile(r"^/v1/metrics/([0-9]+)$")
_API_RUN = re.compile(r"^/api/v1/runs/([0-9]+)$")
_PAGE_RUN = re.compile(r"^/runs/([0-9]+)/?$")
_API_EXPORT = re.compile(r"^/api/v1/runs/([0-9]+)/export\.(json|csv)$")
_INSTANCE_FINISH = re.compile(r"^/v1/tests/([0-9]+)/instances/([^/]{1,200})/finish$")
_SETUP = re.compile(r"^/v1/tests/([0-9]+)/setup$")
_PROGRESS = re.compile(r"^/v1/test-progress/([0-9]+)$")
_STOP = re.compile(r"^/(?:api/v1/runs|v1/tests)/([0-9]+)/stop$")
_EVENTS = re.compile(r"^/orchestrator/v1/testruns/([0-9]+)/events$")

_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


class Reaper:
    """Marks runs Timed out when neither data nor a finish call arrived for ``timeout`` seconds, and
    runs of several instances when one unfinished instance was silent that long (naming it); about
    every second it also re-evaluates the thresholds of running runs on their merged data
    (:class:`~horde_insights.verdict.VerdictJudge`).

    Time while the service itself was down does not count: nothing is timed
    out before the service has been up for ``timeout`` seconds.
    """

    def __init__(self, store: Store, timeout: float) -> None:
        self.store = store
        self.timeout = timeout
        self.started = time.time()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="insights-reaper", daemon=True)
        self.judge = VerdictJudge(store)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def sweep(self, now: float | None = None) -> list[int]:
        now = time.time() if now is None else now
        cutoff = now - self.timeout
        if self.started > cutoff:
            return []
        for rid, names in self.store.time_out_instances(cutoff, now, self.timeout):
            log.info("run %s timed out: instance(s) %s silent for %.0f s", rid, ", ".join(names), self.timeout)
        ids = self.store.time_out(cutoff, now)
        for rid in ids:
            log.info("run %s timed out: nothing heard for %.0f s", rid, self.timeout)
        return ids

    def _run(self) -> None:
        interval = max(0.2, min(1.0, self.timeout / 10))
        while not self._stop.wait(interval):
            try:
                self.sweep()
                self.judge.tick()
            except Exception:  # keep sweeping; the database may come back
                log.exception("timeout sweep failed")


IDLE_TIMEOUT = 30.0
"""Default seconds a connection may stay silent (between requests, or within one) before it is closed."""
HEADER_TIMEOUT = 10.0
"""Seconds from a request's first byte to the end of its headers (a slow-loris client is cut off)."""
BODY_TIMEOUT = 60.0
"""Seconds to receive a request body once its headers are in (16 MiB at ~280 kB/s)."""


class InsightsServer(ThreadingHTTPServer):
    """The service bound to (host, port); ``serve_forever`` to run it.

    A listen backlog of ``request_queue_size``, so that many clients starting
    together connect at once; a new connection waits in a :class:`ParkingLot`
    without a thread until it sends something, then gets a thread of its own;
    silent, slow and idle clients are cut off by ``idle_timeout``,
    ``HEADER_TIMEOUT`` and ``BODY_TIMEOUT``.
    """

    daemon_threads = True
    request_queue_size = 1024

    def __init__(
        self,
        address: tuple[str, int],
        store: Store,
        *,
        timeout: float = 120.0,
        public_url: str | None = None,
        limits: Limits | None = None,
        idle_timeout: float = IDLE_TIMEOUT,
    ) -> None:
        super().__init__(address, Handler)
        self.idle_timeout = idle_timeout
        self.header_timeout = min(HEADER_TIMEOUT, idle_timeout)
        self.store = store
        self.limits = limits or Limits()
        self.public_url = public_url.rstrip("/") if public_url else None
        self.reaper = Reaper(store, timeout)
        self.parking = ParkingLot(self._handle_in_thread, self.shutdown_request, idle_timeout)

    def process_request(self, request, client_address) -> None:  # type: ignore[no-untyped-def]
        """Park the new connection until it is readable (the accept loop never waits for a thread)."""
        self.parking.park(request, client_address)

    def _handle_in_thread(self, request: socket.socket, client_address: object) -> None:
        ThreadingHTTPServer.process_request(self, request, client_address)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def handle_error(self, request, client_address) -> None:  # type: ignore[no-untyped-def]
        """A client that vanished or stalled is routine; anything else is logged with its traceback."""
        import sys

        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError)):
            log.debug("%s: connection dropped: %s", client_address, exc)
        else:
            log.exception("connection from %s failed", client_address)

    def serve_forever(self, poll_interval: float = 0.5) -> None:
        self.reaper.start()
        self.parking.start()
        try:
            super().serve_forever(poll_interval)
        finally:
            self.parking.stop()
            self.reaper.stop()


class Handler(BaseHTTPRequestHandler):
    server: InsightsServer
    protocol_version = "HTTP/1.1"
    server_version = f"horde-insights/{__version__}"

    def setup(self) -> None:
        super().setup()
        # headers and body go out in two writes: without this, delayed ACKs add ~40 ms per reply
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.rfile.close()
        self._reader = DeadlineReader(self.connection, self.server.idle_timeout)
        self.rfile = io.BufferedReader(self._reader)

    def handle_one_request(self) -> None:
        self._reader.expect_request(self.server.header_timeout)
        super().handle_one_request()

    def log_message(self, fmt: str, *args) -> None:
        log.debug("%s %s", self.address_string(), fmt % args)

    # -- dispatch ---------------------------------------------------------------------------
    def do_GET(self) -> None:
        self._dispatch(self._get)

    do_HEAD = do_GET

    def do_POST(self) -> None:
        self._dispatch(self._post)

    def do_DELETE(self) -> None:
        self._dispatch(self._delete)

    def do_PUT(self) -> None:
        self._dispatch(self._put)

    def _dispatch(self, fn) -> None:
        try:
            fn(urlsplit(self.path).path)
        except (TimeoutError, ConnectionError) as exc:  # a client too slow or gone: no reply
            log.debug("%s %s: client dropped: %s", self.command, self.path, exc)
            self.close_connection = True
        except ApiError as err:
            if err.status >= 500:
                log.error("%s %s: %s", self.command, self.path, err.message)
            self._drain_if_needed()
            send_error(self, err)
        except Exception as exc:  # never leak a traceback to a client
            log.exception("%s %s failed", self.command, self.path)
            self.close_connection = True
            send_error(self, ApiError(500, f"internal error: {type(exc).__name__}"))

    def _drain_if_needed(self) -> None:
        # a reply sent before the body was read must not leave the body in the stream
        if not getattr(self, "_body_read", False) and self.command in ("POST", "PUT"):
            self.close_connection = True

    def _project(self) -> int:
        token = parse_authorization(self.headers.get("Authorization"))
        if token is None:
            raise ApiError(401, "missing 'Authorization: Token <token>' header", code=2)
        found = self.server.store.token_project(hash_token(token))
        if found is None:
            raise ApiError(401, "invalid token", code=2)
        return found[0]

    def _run_of(self, project: int, run_id: str) -> dict:
        run = self.server.store.get_run(project, int(run_id))
        if run is None:
            raise ApiError(404, f"test run {run_id} not found in this token's project", code=5)
        return run

    def _body(self, limit: int) -> bytes:
        self._reader.within(BODY_TIMEOUT)
        body = read_body(self, limit)
        self._body_read = True
        self.connection.settimeout(self.server.idle_timeout)  # the reply's writes
        return body

    def _base_url(self) -> str:
        if self.server.public_url:
            return self.server.public_url
        host = self.headers.get("Host")
        return f"http://{host}" if host and re.fullmatch(r"[A-Za-z0-9.\-:\[\]]+", host) else self.server.url

    # -- routes -----------------------------------------------------------------------------
    def _post(self, path: str) -> None:
        store, limits = self.server.store, self.server.limits
        if path == "/v1/tests":
            project = self._project()
            body = self._body(limits.json_body)
            send_json(self, 200, create_run(store, project, self.headers, body, self._base_url()))
            return
        m = _PUSH.match(path)
        if m:
            project = self._project()
            run = self._run_of(project, m.group(1))
            body = self._body(limits.metrics_body)
            instances.refuse_if_stopped(run)
            observe = self.server.reaper.judge.observe
            send_json(self, 200, push_metrics(store, run["id"], self.headers, body, limits, observe))
            return
        m = _RUN.match(path)
        if m:
            project = self._project()
            run = self._run_of(project, m.group(1))
            body = self._body(limits.json_body)
            send_json(self, 200, instances.finish_run(store, project, run, body))
            return
        for pattern, fn in (
            (_INSTANCE_FINISH, instances.finish_instance),
            (_STOP, instances.stop_run),
            (_EVENTS, instances.operator_events),
        ):
            m = pattern.match(path)
            if m:
                project = self._project()
                run = self._run_of(project, m.group(1))
                body = self._body(limits.json_body)
                send_json(self, 200, fn(store, project, run, *(unquote(g) for g in m.groups()[1:]), body))
                return
        if _V1_PUSH.match(path):
            self._project()
            raise ApiError(
                400,
                "the v1 (gzip JSON) metrics protocol is not supported; use k6 v0.48+ "
                "or horde's cloud output, which push protocol v2 to /v2/metrics",
            )
        raise ApiError(404, f"no such endpoint: POST {path}")

    def _put(self, path: str) -> None:
        m = _SETUP.match(path)
        if m:
            project = self._project()
            run = self._run_of(project, m.group(1))
            body = self._body(self.server.limits.json_body)
            send_json(self, 200, setupdata.put_setup(self.server.store, project, run, body))
            return
        raise ApiError(404, f"no such endpoint: PUT {path}")

    def _params(self) -> dict[str, str]:
        return dict(parse_qsl(urlsplit(self.path).query))

    def _get(self, path: str) -> None:
        store = self.server.store
        m = _SETUP.match(path)
        if m:
            project = self._project()
            found = setupdata.get_setup(store, project, self._run_of(project, m.group(1)), self._params())
            if found is None:
                self.send_response(204)  # no body, no Content-Length (RFC 9110)
                self.end_headers()
            else:
                send_json(self, 200, found)
            return
        m = _PROGRESS.match(path)
        if m:
            project = self._project()
            send_json(self, 200, instances.test_progress(store, project, self._run_of(project, m.group(1)), {}))
            return
        if path == "/api/v1/runs":
            send_json(self, 200, runs_page(store, self._project(), self._params()))
            return
        m = _API_RUN.match(path)
        if m:
            project = self._project()
            detail = run_detail(store, self._run_of(project, m.group(1)))
            send_json(self, 200, {**detail, "project": project_info(store, project)})
            return
        m = _API_EXPORT.match(path)
        if m:
            send_download(self, *export_file(store, self._run_of(self._project(), m.group(1)), m.group(2)))
            return
        if path == "/api/v1/compare":
            project = self._project()
            runs = [self._run_of(project, str(i)) for i in compared_ids(self._params())]
            send_json(self, 200, {**compare_runs(store, *runs), "project": project_info(store, project)})
            return
        if path in ("/compare", "/compare/"):
            self._static("compare.html")
            return
        if path == "/healthz":
            send_json(self, 200, {"status": "ok", "version": __version__, "database": store.dialect})
            return
        if path in ("/", "/runs", "/runs/"):
            self._static("index.html")
            return
        if _PAGE_RUN.match(path):
            self._static("run.html")
            return
        if path.startswith("/static/"):
            self._static(path[len("/static/") :])
            return
        raise ApiError(404, f"no such page: {path}")

    def _delete(self, path: str) -> None:
        m = _API_RUN.match(path)
        if m:
            project = self._project()
            send_json(self, 200, delete_run(self.server.store, project, self._run_of(project, m.group(1))))
            return
        raise ApiError(404, f"no such endpoint: DELETE {path}")

    def _static(self, rel: str) -> None:
        parts = rel.split("/")
        if any(p in ("", ".", "..") for p in parts):
            raise ApiError(404, "no such file")
        node = resources.files("horde_insights").joinpath("web", "static", *parts)
        if not node.is_file():
            raise ApiError(404, f"no such file: {rel}")
        data = node.read_bytes()
        ctype = mimetypes.guess_type(rel)[0] or "application/octet-stream"
        if ctype.startswith("text/") or ctype.endswith("javascript"):
            ctype += "; charset=utf-8"
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Content-Security-Policy", _CSP)
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
