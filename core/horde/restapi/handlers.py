"""Routing of k6's v1 REST API: (method, path, body) to (status code, content type, body), with k6's semantics.

Pure functions of a :class:`~horde.restapi.surface.ControlSurface`: the
server module only moves bytes. Content types are k6's: JSON for status and
setup, Go's sniffed ``text/plain`` for the rest.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any
from urllib.parse import unquote

from . import documents
from .surface import ApiError, ControlSurface

__all__ = ["Response", "handle"]

JSON_UTF8 = "application/json; charset=utf-8"
JSON = "application/json"
TEXT = "text/plain; charset=utf-8"

EXTERNALLY_CONTROLLED = "an externally-controlled executor needs to be configured for live configuration updates"


@dataclasses.dataclass(frozen=True)
class Response:
    """What to send back: HTTP status, Content-Type (None: no header) and the body."""

    status: int
    content_type: str | None
    body: bytes


def _ok(doc: Any, content_type: str) -> Response:
    return Response(200, content_type, documents.dump(doc))


def _error(exc: ApiError, content_type: str) -> Response:
    return Response(
        exc.status, content_type, documents.dump(documents.error_document(exc.title, exc.detail, exc.status))
    )


_NOT_ALLOWED = Response(405, None, b"")
_NOT_FOUND = Response(404, TEXT, b"404 page not found\n")


def _status(cs: ControlSurface, method: str, body: bytes) -> Response:
    if method == "GET":
        return _ok(documents.status_document(cs.status()), JSON_UTF8)
    if method != "PATCH":
        return _NOT_ALLOWED
    try:
        patch = documents.parse_status_patch(body)
        if patch.stopped:
            cs.stop()
        else:
            if patch.paused is not None:
                try:
                    cs.set_paused(patch.paused)
                except ApiError as exc:
                    raise ApiError("Pause error", exc.detail) from exc
            if patch.vus is not None or patch.vus_max is not None:
                cs.scale(patch.vus, patch.vus_max)
        return _ok(documents.status_document(cs.status()), JSON_UTF8)
    except ApiError as exc:
        return _error(exc, JSON_UTF8)


def _setup(cs: ControlSurface, method: str, body: bytes) -> Response:
    if method == "GET":
        return _ok(documents.setup_document(cs.setup_data()), JSON)
    if method == "PUT":
        data = None
        if body:
            try:
                data = json.loads(body)
            except (ValueError, UnicodeDecodeError) as exc:
                return _error(ApiError("Error parsing request body", str(exc), 400), TEXT)
        cs.set_setup_data(data)
        return _ok(documents.setup_document(cs.setup_data()), JSON)
    if method == "POST":
        try:
            cs.run_setup()
        except ApiError as exc:
            return _error(ApiError("Error executing setup", exc.detail), TEXT)
        return _ok(documents.setup_document(cs.setup_data()), JSON)
    return _NOT_ALLOWED


def _teardown(cs: ControlSurface, method: str) -> Response:
    if method != "POST":
        return _NOT_ALLOWED
    try:
        cs.run_teardown()
    except ApiError as exc:
        return _error(ApiError("Error executing teardown", exc.detail), TEXT)
    return Response(200, None, b"")


def _route(cs: ControlSurface, method: str, path: str, body: bytes) -> Response:
    if path == "/v1/status":
        return _status(cs, method, body)
    if path == "/v1/setup":
        return _setup(cs, method, body)
    if path == "/v1/teardown":
        return _teardown(cs, method)
    if path == "/v1/metrics" or path.startswith("/v1/metrics/"):
        if method != "GET":
            return _NOT_ALLOWED
        metrics = cs.metrics()
        if path == "/v1/metrics":
            return _ok(documents.metrics_document(metrics), TEXT)
        return _ok(documents.metric_document(metrics, path[len("/v1/metrics/") :]), TEXT)
    if path == "/v1/groups" or path.startswith("/v1/groups/"):
        if method != "GET":
            return _NOT_ALLOWED
        tree = cs.group_tree()
        if path == "/v1/groups":
            return _ok(documents.groups_document(tree), TEXT)
        return _ok(documents.group_document(tree, path[len("/v1/groups/") :]), TEXT)
    return _NOT_FOUND


def handle(cs: ControlSurface, method: str, path: str, body: bytes = b"") -> Response:
    """Answer one request as k6's REST API does; never raises."""
    path = unquote(path.split("?", 1)[0])
    try:
        return _route(cs, method, path, body)
    except ApiError as exc:
        return _error(exc, TEXT)
    except Exception as exc:  # a bug must answer 500, never kill the server thread
        return _error(ApiError("Internal error", f"{type(exc).__name__}: {exc}"), TEXT)
