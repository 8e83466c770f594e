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
    Route("/v1/tests/{ref:int}/instances/{instance}/finish", h.finish_instance, methods=["POST"]),
    Route("/v1/tests/{ref:int}/stop", h.stop_run, methods=["POST"]),
    Route("/v1/tests/{ref:int}/setup", h.put_setup, methods=["PUT"]),
    Route("/v1/tests/{ref:int}/setup", h.get_setup, methods=["GET"]),
    Route("/v1/test-progress/{ref:int}", h.test_progress, methods=["GET"]),
    Route("/orchestrator/v1/testruns/{ref:int}/events", h.operator_events, methods=["POST"]),
    Route("/v2/metrics/{ref:int}", h.push, methods=["POST"]),
    Route("/v1/metrics/{ref:int}", h.push_v1, methods=["POST"]),
    # read API and live events
    Route("/api/v1/runs", h.list_runs, methods=["GET"]),
    Route("/api/v1/runs/events", h.runs_events, methods=["GET"]),
    Route("/api/v1/runs/{ref:int}", h.get_run, methods=["GET"]),
    Route("/api/v1/runs/{ref:int}", h.delete_run_, methods=["DELETE"]),
    Route("/api/v1/runs/{ref:int}/stop", h.stop_run, methods=["POST"]),
    Route("/api/v1/runs/{ref:int}/export.{fmt:str}", h.export_run, methods=["GET"]),
    Route("/api/v1/compare", h.compare, methods=["GET"]),
    Route("/api/v1/runs/{ref:int}/events", h.run_events, methods=["GET"]),
    # service, pages, static files
    Route("/healthz", h.healthz, methods=["GET"]),
    Route("/", h.index_page, methods=["GET"]),
    Route("/runs", h.index_page, methods=["GET"]),
    Route("/runs/", h.index_page, methods=["GET"]),
    Route("/runs/{ref:int}", h.run_page, methods=["GET"]),
    Route("/runs/{ref:int}/", h.run_page, methods=["GET"]),
    Route("/compare", h.compare_page, methods=["GET"]),
    Route("/compare/", h.compare_page, methods=["GET"]),
    Route("/static/{path:path}", h.static_file, methods=["GET"]),
]
