"""The Insights service: the ASGI app on uvicorn, and the no-data timeout.

:class:`InsightsServer` binds its socket when built (so a busy port is an
error at once) and serves until :meth:`InsightsServer.shutdown`. Connections
are uvicorn's httptools protocol with the deadlines of
:mod:`horde_insights.connections`; store calls run in a bounded thread pool
(:class:`horde_insights.context.Service`), never on the event loop.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections.abc import Iterator

import uvicorn

from .app import create_app
from .connections import ConnectionLimits, GuardedHttpToolsProtocol
from .context import Service
from .ingest import Limits
from .store import Store
from .verdict import VerdictJudge

__all__ = ["InsightsServer", "Reaper", "IDLE_TIMEOUT", "HEADER_TIMEOUT", "BODY_TIMEOUT", "MAX_CONNECTIONS"]

log = logging.getLogger("horde_insights")

IDLE_TIMEOUT = 30.0
"""Default seconds a connection may stay silent (between requests, or within one) before it is closed."""
HEADER_TIMEOUT = 10.0
"""Seconds from a request's first byte to the end of its headers (a slow-loris client is cut off)."""
BODY_TIMEOUT = 60.0
"""Seconds to receive a request body once its headers are in (16 MiB at ~280 kB/s)."""
MAX_CONNECTIONS = 4096
"""Open connections (or requests in progress) at most; a request beyond is answered 503."""
LISTEN_BACKLOG = 1024
DEFAULT_START_TIMEOUT = 600.0
"""Seconds a created run waits for its first data before it is Timed out (``serve --start-timeout``)."""


class Reaper:
    """Marks runs Timed out when neither data nor a finish call arrived for ``timeout`` seconds, and
    runs of several instances when one unfinished instance was silent that long (naming it); about
    every second it also re-evaluates the thresholds of running runs on their merged data
    (:class:`~horde_insights.verdict.VerdictJudge`).

    A run no instance has joined yet (Created) waits ``start_timeout`` instead (default: the larger of
    ``timeout`` and 10 minutes), as pods of a distributed run may take minutes to be scheduled.

    Time while the service itself was down does not count: nothing is timed
    out before the service has been up for ``timeout`` seconds.
    """

    def __init__(self, store: Store, timeout: float, start_timeout: float | None = None) -> None:
        self.store = store
        self.timeout = timeout
        self.start_timeout = max(timeout, DEFAULT_START_TIMEOUT) if start_timeout is None else start_timeout
        self.started = time.time()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="insights-reaper", daemon=True)
        self.judge = VerdictJudge(store)

    def start(self) -> None:
        """Sweep in a background thread until :meth:`stop`."""
        self._thread.start()

    def stop(self) -> None:
        """Stop sweeping (waits up to 5 s for the sweep in progress)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(5)

    def sweep(self, now: float | None = None) -> list[int]:
        """Time out the runs silent for the timeout; return their ids."""
        now = time.time() if now is None else now
        cutoff = now - self.timeout
        if self.started > cutoff:
            return []
        for rid, names in self.store.time_out_instances(cutoff, now, self.timeout):
            log.info("run %s timed out: instance(s) %s silent for %.0f s", rid, ", ".join(names), self.timeout)
        ids = self.store.time_out(cutoff, now, now - self.start_timeout)
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


class _Uvicorn(uvicorn.Server):
    """uvicorn without its own signal handlers: the command that runs the service installs them."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class InsightsServer:
    """The service bound to (host, port); :meth:`serve_forever` runs it, :meth:`shutdown` stops it."""

    def __init__(
        self,
        address: tuple[str, int],
        store: Store,
        *,
        timeout: float = 120.0,
        start_timeout: float | None = None,
        public_url: str | None = None,
        limits: Limits | None = None,
        idle_timeout: float = IDLE_TIMEOUT,
        max_connections: int = MAX_CONNECTIONS,
    ) -> None:
        self.store = store
        self.reaper = Reaper(store, timeout, start_timeout)
        self.service = Service(store, limits=limits, public_url=public_url, observe=self.reaper.judge.observe)
        self.socket = _listen(address)
        self.server_address = self.socket.getsockname()[:2]
        config = uvicorn.Config(
            create_app(self.service),
            http=GuardedHttpToolsProtocol,
            lifespan="off",
            access_log=False,
            log_config=None,
            server_header=False,
            date_header=False,
            timeout_keep_alive=max(1, int(idle_timeout)),
            limit_concurrency=max_connections,
            backlog=LISTEN_BACKLOG,
            timeout_graceful_shutdown=5,
        )
        config.connection_limits = ConnectionLimits(  # type: ignore[attr-defined]
            idle=idle_timeout, header_timeout=HEADER_TIMEOUT, body_timeout=BODY_TIMEOUT
        )
        self._server = _Uvicorn(config)

    @property
    def url(self) -> str:
        """``http://host:port`` of the bound socket."""
        host, port = self.server_address
        return f"http://{host}:{port}"

    def serve_forever(self) -> None:
        """Serve (in this thread) until :meth:`shutdown`; the no-data timeout sweeps meanwhile."""
        self.reaper.start()
        try:
            self._server.run(sockets=[self.socket])
        finally:
            self.reaper.stop()
            self.service.close()

    def shutdown(self) -> None:
        """Ask the service to stop: open requests get up to 5 s, event streams are closed."""
        self.service.changes.closing = True
        self._server.should_exit = True

    def server_close(self) -> None:
        """Close the listening socket."""
        self.socket.close()


def _listen(address: tuple[str, int]) -> socket.socket:
    host, port = address
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(LISTEN_BACKLOG)
        sock.set_inheritable(True)
    except OSError:
        sock.close()
        raise
    return sock
