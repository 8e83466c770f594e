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
from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from . import __version__, instances, setupdata
from .compare import compare_runs, compared_ids
from .context import endpoint, service_of
from .events import MAX_STREAMS, sse_stream
from .export import export_file
from .http import ApiError, download_response, json_bytes, json_response, read_body
from .ingest import create_run, push_metrics
from .query import run_detail
from .runlist import delete_run, project_info, runs_page

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
    instances.refuse_if_stopped(run)
    reply = await svc.call(push_metrics, svc.store, run["id"], request.headers, body, svc.limits, svc.observe)
    svc.changes.touch(run["id"])
    return json_response(200, reply)


@endpoint
async def finish_test(request: Request) -> Response:
    """``POST /v1/tests/{ref}``: finish a run (k6's cloud finish call)."""
    svc = service_of(request)
    project = await svc.project(request)
    run = await svc.run_of(project, _ref(request))
    body = await read_body(request, svc.limits.json_body)
    reply = await svc.call(instances.finish_run, svc.store, project, run, body)
    svc.changes.touch(run["id"])
    return json_response(200, reply)


async def _run_call(request: Request, fn: Any, *args: object) -> Response:
    """A run's JSON-body call ``fn(store, project, run, *args, body)`` (the shape of instances.py)."""
    svc = service_of(request)
    project = await svc.project(request)
    run = await svc.run_of(project, _ref(request))
    body = await read_body(request, svc.limits.json_body)
    reply = await svc.call(fn, svc.store, project, run, *args, body)
    svc.changes.touch(run["id"])
    return json_response(200, reply)


@endpoint
async def finish_instance(request: Request) -> Response:
    """``POST /v1/tests/{ref}/instances/{instance}/finish``: one instance's end (horde's out-cloud)."""
    instance = request.path_params["instance"]
    if not 1 <= len(instance) <= 200:
        raise ApiError(404, f"no such endpoint: POST {request.url.path}")
    return await _run_call(request, instances.finish_instance, instance)


@endpoint
async def stop_run(request: Request) -> Response:
    """``POST /api/v1/runs/{ref}/stop`` (and ``/v1/tests/{ref}/stop``): stop every instance of a run."""
    return await _run_call(request, instances.stop_run)


@endpoint
async def operator_events(request: Request) -> Response:
    """``POST /orchestrator/v1/testruns/{ref}/events``: k6-operator's events of a run."""
    return await _run_call(request, instances.operator_events)


@endpoint
async def test_progress(request: Request) -> Response:
    """``GET /v1/test-progress/{ref}``: k6 cloudapi's progress shape plus the instances."""
    svc = service_of(request)
    project = await svc.project(request)
    run = await svc.run_of(project, _ref(request))
    return json_response(200, await svc.call(instances.test_progress, svc.store, project, run, {}))


@endpoint
async def put_setup(request: Request) -> Response:
    """``PUT /v1/tests/{ref}/setup``: publish setup()'s data (or error) once."""
    return await _run_call(request, setupdata.put_setup)


@endpoint
async def get_setup(request: Request) -> Response:
    """``GET /v1/tests/{ref}/setup?wait=S``: the published setup data, long-polled without holding a thread
    (200, or 204 when nothing was published within S seconds)."""
    svc = service_of(request)
    project = await svc.project(request)
    run = await svc.run_of(project, _ref(request))
    raw = request.query_params.get("wait", "0")
    try:
        wait = float(raw)
    except ValueError:
        raise ApiError(400, f"setup data: wait={raw[:20]!r} is not a number of seconds") from None
    if not 0 <= wait <= setupdata.MAX_WAIT:
        raise ApiError(400, f"setup data: wait must be within 0..{setupdata.MAX_WAIT:g} seconds")
    deadline = time.monotonic() + wait
    while True:
        found = await svc.call(setupdata.get_setup, svc.store, project, run, {"wait": "0"})
        left = deadline - time.monotonic()
        if found is not None:
            return json_response(200, found)
        if left <= 0:
            return Response(status_code=204)
        await svc.changes.wait(min(0.5, left))  # woken by a publication here; re-read for other processes


@endpoint
async def delete_run_(request: Request) -> Response:
    """``DELETE /api/v1/runs/{ref}``: delete a run and its data."""
    svc = service_of(request)
    project = await svc.project(request)
    run = await svc.run_of(project, _ref(request))
    reply = await svc.call(delete_run, svc.store, project, run)
    svc.changes.touch(run["id"])
    return json_response(200, reply)


@endpoint
async def export_run(request: Request) -> Response:
    """``GET /api/v1/runs/{ref}/export.{json|csv}``: the run as a file to save."""
    svc = service_of(request)
    run = await svc.run_of(await svc.project(request), _ref(request))
    fmt = request.path_params["fmt"]
    if fmt not in ("json", "csv"):
        raise ApiError(404, f"no such endpoint: GET {request.url.path}")
    data, ctype, filename = await svc.call(export_file, svc.store, run, fmt)
    return download_response(data, ctype, filename)


@endpoint
async def compare(request: Request) -> Response:
    """``GET /api/v1/compare?a=&b=``: two runs side by side with deltas."""
    svc = service_of(request)
    project = await svc.project(request)
    runs = [await svc.run_of(project, i) for i in compared_ids(request.query_params)]
    reply = await svc.call(compare_runs, svc.store, *runs)
    return json_response(200, {**reply, "project": await svc.call(project_info, svc.store, project)})


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
    return json_response(200, await svc.call(runs_page, svc.store, project, dict(request.query_params)))


def _run_view(store: object, project: int, run: dict[str, object]) -> dict[str, object]:
    """What ``GET /api/v1/runs/{ref}`` returns."""
    detail = run_detail(store, run)  # type: ignore[arg-type]
    return {**detail, "project": project_info(store, project)}  # type: ignore[arg-type]


@endpoint
async def get_run(request: Request) -> Response:
    """``GET /api/v1/runs/{ref}``: one run with its charts, thresholds, checks and totals."""
    svc = service_of(request)
    project = await svc.project(request)
    run = await svc.run_of(project, _ref(request))
    return json_response(200, await svc.call(_run_view, svc.store, project, run))


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
        return json_bytes(await svc.call(_run_view, svc.store, project, fresh))

    return _events_response(request, sse_stream(svc.changes, run_id, snapshot))


@endpoint
async def runs_events(request: Request) -> Response:
    """``GET /api/v1/runs/events``: server-sent events, each the JSON of ``GET /api/v1/runs`` with the
    same query (search, filter, page)."""
    svc = service_of(request)
    project = await svc.project(request, allow_query_token=True)
    _check_streams(request)
    params = {k: v for k, v in request.query_params.items() if k != "token"}

    async def snapshot() -> bytes:
        return json_bytes(await svc.call(runs_page, svc.store, project, params))

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
async def compare_page(request: Request) -> Response:
    """The page comparing two runs."""
    return _static("compare.html")


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
