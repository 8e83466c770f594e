"""setup() once per distributed run: the first instance publishes setup()'s result through the run,
the others fetch it (``PUT``/``GET /v1/tests/{ref}/setup``).

``PUT`` ``{"data": <any JSON>}`` or ``{"error": "<message>"}`` publishes once (a second is 409).
``GET …/setup?wait=S`` (S ≤ 30 s) long-polls: 200 with the published object, or 204 when nothing
was published within S seconds. Waiters are woken at once by a publication in this process and
re-read the database every half second (another service process may have published).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping
from typing import Any

from .http import ApiError
from .store import Store

__all__ = ["MAX_WAIT", "put_setup", "get_setup"]

MAX_WAIT = 30.0
"""Longest long poll of ``GET …/setup?wait=S``, seconds."""

_published = threading.Condition()


def put_setup(store: Store, project_id: int, run: dict[str, Any], body: bytes) -> dict[str, Any]:
    """Publish the run's setup data (or setup's error) once; 409 when already published."""
    try:
        data = json.loads(body.decode("utf-8") or "null")
    except (UnicodeDecodeError, ValueError) as exc:
        raise ApiError(400, f"setup data: body is not valid JSON ({exc})") from None
    if not isinstance(data, dict) or len(data) != 1 or not ("data" in data or "error" in data):
        raise ApiError(400, 'setup data: body must be {"data": <any JSON>} or {"error": "<message>"}')
    if "error" in data and not isinstance(data["error"], str):
        raise ApiError(400, "setup data: 'error' must be a string")
    if not store.put_setup(run["id"], data):
        raise ApiError(409, f"setup data of test run {run['id']} was already published")
    with _published:
        _published.notify_all()
    return {"published": True}


def get_setup(store: Store, project_id: int, run: dict[str, Any], params: Mapping[str, str]) -> dict[str, Any] | None:
    """The published setup object, waiting up to ``wait`` seconds for it; None when nothing yet (204)."""
    raw = params.get("wait", "0")
    try:
        wait = float(raw)
    except ValueError:
        raise ApiError(400, f"setup data: wait={raw[:20]!r} is not a number of seconds") from None
    if not 0 <= wait <= MAX_WAIT:
        raise ApiError(400, f"setup data: wait must be within 0..{MAX_WAIT:g} seconds")
    deadline = time.monotonic() + wait
    while True:
        found = store.get_setup(run["id"])
        left = deadline - time.monotonic()
        if found is not None or left <= 0:
            return found
        with _published:
            _published.wait(min(0.5, left))
