"""The runs list: search by name, filter by state, pagination, the token's project, and deleting a run.

A token scopes one project, so the list is always one project's runs and
names that project; there is no project filter to choose.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from .http import ApiError
from .query import run_summary
from .states import STATE_FILTERS, statuses_of
from .store import Store

__all__ = ["runs_page", "delete_run", "project_info", "DEFAULT_LIMIT", "MAX_LIMIT"]

DEFAULT_LIMIT = 50
"""Runs per page when the request names no ``limit``."""
MAX_LIMIT = 500
"""The largest ``limit`` accepted."""
MAX_QUERY = 200
"""The longest search text accepted (characters)."""


def project_info(store: Store, project_id: int) -> dict[str, Any]:
    """``{"id", "name"}`` of the token's project."""
    return {"id": str(project_id), "name": store.project_name(project_id)}


def _int_param(params: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = params.get(name, "")
    if raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, f"query parameter {name!r} must be an integer, not {raw[:40]!r}") from None
    if not low <= value <= high:
        raise ApiError(400, f"query parameter {name!r} must be between {low} and {high}, not {value}")
    return value


def runs_page(store: Store, project_id: int, params: Mapping[str, str], now: float | None = None) -> dict[str, Any]:
    """``GET /api/v1/runs?q=&state=&limit=&offset=``: one page of runs, newest first, and the total matching.

    ``q`` is a case-insensitive substring of the run's name; ``state`` one of
    created, running, finished, timed_out, aborted (empty: all).
    """
    q = params.get("q", "").strip()
    if len(q) > MAX_QUERY:
        raise ApiError(400, f"query parameter 'q' is longer than {MAX_QUERY} characters")
    state = params.get("state", "").strip()
    try:
        statuses = statuses_of(state) if state else None
    except ValueError as exc:
        raise ApiError(400, f"query parameter 'state': {exc}") from None
    limit = _int_param(params, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    offset = _int_param(params, "offset", 0, 0, 1 << 62)
    rows, total = store.search_runs(project_id, name_like=q or None, statuses=statuses, limit=limit, offset=offset)
    now = time.time() if now is None else now
    return {
        "runs": [run_summary(r, now) for r in rows],
        "total": total,
        "limit": limit,
        "offset": offset,
        "q": q,
        "state": state,
        "states": list(STATE_FILTERS),
        "project": project_info(store, project_id),
    }


def delete_run(store: Store, project_id: int, run: dict[str, Any]) -> dict[str, Any]:
    """``DELETE /api/v1/runs/{id}``: the run, its series and points are gone; what was deleted."""
    points = store.delete_run(int(run["id"]))
    return {"deleted": str(run["id"]), "name": run["name"], "points": points}
