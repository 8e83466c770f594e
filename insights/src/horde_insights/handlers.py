"""The route handlers: thin adapters from HTTP to the functions of ingest.py and query.py.

Every ``/v1``, ``/v2`` and ``/api`` call needs ``Authorization: Token …``;
the token's project scopes what it can see and write. The event streams
also take the token as ``?token=`` (a browser's EventSource cannot set
headers). Pages and static files carry no data and need no token.
"""

from __future__ import annotations

import json
import mimetypes
import time
from importlib import resources

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from . import __version__
from .context import endpoint, service_of
from .events import MAX_STREAMS, sse_stream
from .http import ApiError, json_bytes, json_response, read_body
from .ingest import create_run, finish_run, push_metrics
from .query import run_detail, run_summary

__all__ = [
    "create_test",
    "push",
    "finish_test",
    "push_v1",
    "list_runs",
    "get_run",
    "run_events",
    "runs_events",
    "healthz",
    "index_page",
    "run_page",
    "static_file",
]

_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def _ref(request: Request, name: str = "ref") -> int:
    return int(request.path_params[name])


# -- k6 cloud ingest API --------------------------------------------------------------------------
@endpoint
async def create_test(request: Request) -> Response:
    """``POST /v1/tests``: create a run (k6's cloud create call)."""
    svc = service_of(request)
    project = await svc.project(request)
    body = await read_body(request, svc.limits.json_body)
    reply = await svc.call(create_run, svc.store, project, request.headers, body, svc.base_url(request))
    svc.changes.touch(int(reply["reference_id"]))
    return json_response(200, reply)


@endpoint
async def push(request: Request) -> Response:
    """``POST /v2/metrics/{ref}``: store one push of protocol v2 samples."""
    svc = service_of(request)
    project = await svc.project(request)
    run = await svc.run_of(project, _ref(request))
    body = await read_body(request, svc.limits.metrics_body)
    reply = await svc.call(push_metrics, svc.store, run["id"], request.headers, body, svc.limits)
    svc.changes.touch(run["id"])
    return json_response(200, reply)


@endpoint
async def finish_test(request: Request) -> Response:
    """``POST /v1/tests/{ref}``: finish a run (k6's cloud finish call)."""
    svc = service_of(request)
    project = await svc.project(request)
    run = await svc.run_of(project, _ref(request))
    body = await read_body(request, svc.limits.json_body)
    reply = await svc.call(finish_run, svc.store, run["id"], body)
    svc.changes.touch(run["id"])
    return json_response(200, reply)


@endpoint
async def push_v1(request: Request) -> Response:
    """``POST /v1/metrics/{ref}``: the old gzip JSON protocol, refused with a hint."""
    await service_of(request).project(request)
    raise ApiError(
        400,
        "the v1 (gzip JSON) metrics protocol is not supported; use k6 v0.48+ "
        "or horde's cloud output, which push protocol v2 to /v2/metrics",
    )


# -- read API ---------------------------------------------------------------------------------
@endpoint
async def list_runs(request: Request) -> Response:
    """``GET /api/v1/runs``: the project's runs, newest first."""
    svc = service_of(request)
    project = await svc.project(request)
    return json_response(200, await svc.call(_runs_view, svc.store, project))


def _runs_view(store: object, project: int) -> dict[str, object]:
    now = time.time()
    return {"runs": [run_summary(r, now) for r in store.list_runs(project)]}  # type: ignore[attr-defined]


@endpoint
async def get_run(request: Request) -> Response:
    """``GET /api/v1/runs/{ref}``: one run with its charts, thresholds, checks and totals."""
    svc = service_of(request)
    project = await svc.project(request)
    run = await svc.run_of(project, _ref(request))
    return json_response(200, await svc.call(run_detail, svc.store, run))


def _events_response(request: Request, body: object) -> Response:
    return StreamingResponse(
        body,  # type: ignore[arg-type]
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no", "X-Content-Type-Options": "nosniff"},
    )


def _check_streams(request: Request) -> None:
    if service_of(request).changes.streams >= MAX_STREAMS:
        raise ApiError(503, f"too many open event streams (at most {MAX_STREAMS}); retry later")


@endpoint
async def run_events(request: Request) -> Response:
    """``GET /api/v1/runs/{ref}/events``: server-sent events, each the JSON of ``GET /api/v1/runs/{ref}``."""
    svc = service_of(request)
    project = await svc.project(request, allow_query_token=True)
    run = await svc.run_of(project, _ref(request))
    _check_streams(request)
    run_id = run["id"]

    async def snapshot() -> bytes:
        fresh = await svc.run_of(project, run_id)
        return json_bytes(await svc.call(run_detail, svc.store, fresh))

    return _events_response(request, sse_stream(svc.changes, run_id, snapshot))


@endpoint
async def runs_events(request: Request) -> Response:
    """``GET /api/v1/runs/events``: server-sent events, each the JSON of ``GET /api/v1/runs``."""
    svc = service_of(request)
    project = await svc.project(request, allow_query_token=True)
    _check_streams(request)

    async def snapshot() -> bytes:
        return json_bytes(await svc.call(_runs_view, svc.store, project))

    return _events_response(request, sse_stream(svc.changes, None, snapshot))


# -- service, pages and static files ------------------------------------------------------------
@endpoint
async def healthz(request: Request) -> Response:
    """``GET /healthz``: liveness, version and database kind (no token)."""
    store = service_of(request).store
    return json_response(200, {"status": "ok", "version": __version__, "database": store.dialect})


@endpoint
async def index_page(request: Request) -> Response:
    """The runs list page."""
    return _static("index.html")


@endpoint
async def run_page(request: Request) -> Response:
    """A run's page."""
    return _static("run.html")


@endpoint
async def static_file(request: Request) -> Response:
    """A file under ``web/static``."""
    return _static(request.path_params["path"])


def _static(rel: str) -> Response:
    parts = rel.split("/")
    if any(p in ("", ".", "..") for p in parts):
        raise ApiError(404, "no such file")
    node = resources.files("horde_insights").joinpath("web", "static", *parts)
    if not node.is_file():
        raise ApiError(404, f"no such file: {rel}")
    ctype = mimetypes.guess_type(rel)[0] or "application/octet-stream"
    if ctype.startswith("text/") or ctype.endswith("javascript"):
        ctype += "; charset=utf-8"
    return Response(
        node.read_bytes(),
        media_type=ctype,
        headers={"X-Content-Type-Options": "nosniff", "Content-Security-Policy": _CSP, "Cache-Control": "no-cache"},
    )


def not_found_body(method: str, path: str) -> bytes:
    """The 404 body for a path no route matches (an API path or a page)."""
    what = "endpoint" if path.startswith(("/v1/", "/v2/", "/api/")) or method != "GET" else "page"
    text = f"no such endpoint: {method} {path}" if what == "endpoint" else f"no such page: {path}"
    return json.dumps({"error": {"code": 404, "message": text}}).encode()
