"""The service's route table: one line per route (method, path, handler).

Paths use Starlette's syntax; ``{ref:int}`` matches digits only, so any
other id falls through to the 404 reply. GET routes answer HEAD too.
"""

from __future__ import annotations

from starlette.routing import Route

from . import handlers as h

__all__ = ["ROUTES"]

ROUTES: list[Route] = [
    # k6 cloud API (what k6 --out cloud, horde's out-cloud and k6-operator call)
    Route("/v1/tests", h.create_test, methods=["POST"]),
    Route("/v1/tests/{ref:int}", h.finish_test, methods=["POST"]),
    Route("/v2/metrics/{ref:int}", h.push, methods=["POST"]),
    Route("/v1/metrics/{ref:int}", h.push_v1, methods=["POST"]),
    # read API and live events
    Route("/api/v1/runs", h.list_runs, methods=["GET"]),
    Route("/api/v1/runs/events", h.runs_events, methods=["GET"]),
    Route("/api/v1/runs/{ref:int}", h.get_run, methods=["GET"]),
    Route("/api/v1/runs/{ref:int}/events", h.run_events, methods=["GET"]),
    # service, pages, static files
    Route("/healthz", h.healthz, methods=["GET"]),
    Route("/", h.index_page, methods=["GET"]),
    Route("/runs", h.index_page, methods=["GET"]),
    Route("/runs/", h.index_page, methods=["GET"]),
    Route("/runs/{ref:int}", h.run_page, methods=["GET"]),
    Route("/runs/{ref:int}/", h.run_page, methods=["GET"]),
    Route("/static/{path:path}", h.static_file, methods=["GET"]),
]
