"""What every route handler needs: the store behind a bounded thread pool, the limits, token checks,
and the wrapper that turns a handler's errors into k6-style error replies."""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from starlette.requests import Request
from starlette.responses import Response

from .auth import hash_token, parse_authorization
from .events import Changes
from .http import ApiError, ClientGone, error_response
from .ingest import Limits
from .store import Store

__all__ = ["Service", "service_of", "endpoint", "STORE_THREADS"]

log = logging.getLogger("horde_insights")

STORE_THREADS = 8
"""Threads that run store calls (and the decoding of pushes) off the event loop."""
TOKEN_CACHE_SECONDS = 10.0
"""A token's project is looked up at most once per this many seconds (tokens are only ever added)."""
_MAX_ID = (1 << 63) - 1
_T = TypeVar("_T")


class Service:
    """The state of one running service, shared by its handlers (``request.app.state.service``)."""

    def __init__(
        self,
        store: Store,
        *,
        limits: Limits | None = None,
        public_url: str | None = None,
        threads: int = STORE_THREADS,
        observe: Callable[..., Any] | None = None,
    ) -> None:
        self.store = store
        self.limits = limits or Limits()
        self.public_url = public_url.rstrip("/") if public_url else None
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="insights-store")
        self.changes = Changes()
        self.observe = observe
        """Called with each stored push (the live threshold judge), or None."""
        self._tokens: dict[str, tuple[int, float]] = {}

    async def call(self, fn: Callable[..., _T], *args: Any) -> _T:
        """``fn(*args)`` in the store's thread pool (the event loop never waits on the database)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.pool, functools.partial(fn, *args))

    async def project(self, request: Request, *, allow_query_token: bool = False) -> int:
        """The project of the request's token (``Authorization: Token T``; ``?token=T`` where allowed); 401 otherwise."""
        token = parse_authorization(request.headers.get("authorization"))
        if token is None and allow_query_token:
            token = request.query_params.get("token") or None
        if token is None:
            raise ApiError(401, "missing 'Authorization: Token <token>' header", code=2)
        digest = hash_token(token)
        now = time.monotonic()
        hit = self._tokens.get(digest)
        if hit is not None and hit[1] > now:
            return hit[0]
        found = await self.call(self.store.token_project, digest)
        if found is None:
            raise ApiError(401, "invalid token", code=2)
        if len(self._tokens) > 4096:
            self._tokens.clear()
        self._tokens[digest] = (found[0], now + TOKEN_CACHE_SECONDS)
        return found[0]

    async def run_of(self, project: int, run_id: int) -> dict[str, Any]:
        """The run ``run_id`` of ``project``; 404 when it is not there (or belongs to another project)."""
        run = await self.call(self.store.get_run, project, run_id) if run_id <= _MAX_ID else None
        if run is None:
            raise ApiError(404, f"test run {run_id} not found in this token's project", code=5)
        return run

    def base_url(self, request: Request) -> str:
        """The web UI's base URL for clients: ``--public-url``, or the scheme and Host the client used."""
        if self.public_url:
            return self.public_url
        host = request.headers.get("host")
        if host and all(c.isalnum() or c in ".-:[]" for c in host):
            return f"http://{host}"
        server = request.scope.get("server") or ("127.0.0.1", 0)
        return f"http://{server[0]}:{server[1]}"

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


def service_of(request: Request) -> Service:
    """The :class:`Service` of the app serving ``request``."""
    return request.app.state.service  # type: ignore[no-any-return]


Handler = Callable[[Request], Awaitable[Response]]


def endpoint(fn: Handler) -> Handler:
    """Wrap a handler: :class:`ApiError` becomes its error reply, a vanished client gets none, anything
    else is logged and answered 500 without a traceback."""

    @functools.wraps(fn)
    async def wrapped(request: Request) -> Response:
        try:
            response = await fn(request)
        except ApiError as err:
            if err.status >= 500:
                log.error("%s %s: %s", request.method, request.url.path, err.message)
            response = error_response(err)
        except ClientGone as exc:
            log.debug("%s %s: client dropped: %s", request.method, request.url.path, exc)
            return Response(status_code=400)  # never sent: the connection is gone
        except Exception as exc:
            log.exception("%s %s failed", request.method, request.url.path)
            response = error_response(ApiError(500, f"internal error: {type(exc).__name__}"))
        if log.isEnabledFor(logging.DEBUG):  # `serve -v`; the path only: a query may hold a token
            log.debug("%s %s %s -> %d", request.client, request.method, request.url.path, response.status_code)
        return response

    return wrapped
