"""k6's JSON:API documents of the REST API, built from the views of :mod:`horde.restapi.surface`.

The shapes are those of k6 v1.1.0's ``api/v1`` package; numbers are written
as Go writes them where it matters to a reader (``19``, not ``19.0``).
"""

from __future__ import annotations

import json
import math
from typing import Any

from ..groups import Group, GroupTree
from .surface import ApiError, MetricView, StatusView

__all__ = [
    "dump",
    "error_document",
    "group_document",
    "groups_document",
    "metric_document",
    "metrics_document",
    "parse_status_patch",
    "setup_document",
    "status_document",
    "StatusPatch",
]


def _go_number(v: Any) -> Any:
    """A float that holds an integer becomes an int, so JSON shows ``19`` as Go's encoder does."""
    if isinstance(v, float) and math.isfinite(v) and v.is_integer() and abs(v) < 1e21:
        return int(v)
    return v


def dump(doc: Any) -> bytes:
    """The compact JSON of ``doc`` (no spaces, as Go's ``json.Marshal``); ``ApiError`` "Encoding error" if not JSON-able."""
    try:
        return json.dumps(doc, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")
    except (TypeError, ValueError) as exc:
        raise ApiError("Encoding error", str(exc)) from exc


def error_document(title: str, detail: str, status: int) -> dict[str, Any]:
    """k6's error document: ``{"errors": [{"status": "404", "title": ..., "detail": ...}]}``."""
    return {"errors": [{"status": str(status), "title": title, "detail": detail}]}


def status_attributes(s: StatusView) -> dict[str, Any]:
    """The status attributes in k6's field order."""
    return {
        "status": int(s.status),
        "paused": s.paused,
        "vus": s.vus,
        "vus-max": s.vus_max,
        "stopped": s.stopped,
        "running": s.running,
        "tainted": s.tainted,
    }


def status_document(s: StatusView) -> dict[str, Any]:
    """``GET /v1/status``: ``{"data": {"type": "status", "id": "default", "attributes": {...}}}``."""
    return {"data": {"type": "status", "id": "default", "attributes": status_attributes(s)}}


def _metric_data(m: MetricView) -> dict[str, Any]:
    return {
        "type": "metrics",
        "id": m.name,
        "attributes": {
            "type": m.type,
            "contains": m.contains,
            "tainted": m.tainted,
            "sample": {k: _go_number(v) for k, v in m.sample.items()},
        },
    }


def metrics_document(metrics: list[MetricView]) -> dict[str, Any]:
    """``GET /v1/metrics``: every observed metric."""
    return {"data": [_metric_data(m) for m in metrics]}


def metric_document(metrics: list[MetricView], name: str) -> dict[str, Any]:
    """``GET /v1/metrics/{id}``; ``ApiError`` 404 when no observed metric has that name."""
    for m in metrics:
        if m.name == name:
            return {"data": _metric_data(m)}
    raise ApiError("Not Found", "No metric with that ID was found", 404)


def _group_data(g: Group, parent: Group | None) -> dict[str, Any]:
    checks = [c.to_json() for c in g.checks.values()]
    return {
        "type": "groups",
        "id": g.id,
        "attributes": {
            "path": g.path,
            "name": g.name,
            "checks": [{k: c[k] for k in ("id", "path", "name", "passes", "fails")} for c in checks] or None,
        },
        "relationships": {
            "groups": {"data": [{"type": "groups", "id": child.id} for child in g.groups.values()]},
            "parent": {"data": {"type": "groups", "id": parent.id} if parent is not None else None},
        },
    }


def _flatten(tree: GroupTree) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []

    def walk(g: Group, parent: Group | None) -> None:
        out.append(_group_data(g, parent))
        for child in g.groups.values():
            walk(child, g)

    with tree.locked():
        walk(tree.root, None)
    return out


def groups_document(tree: GroupTree) -> dict[str, Any]:
    """``GET /v1/groups``: the root group and every group below it, depth first."""
    return {"data": _flatten(tree)}


def group_document(tree: GroupTree, group_id: str) -> dict[str, Any]:
    """``GET /v1/groups/{id}``; ``ApiError`` 404 when no group has that id (the MD5 of its path)."""
    for data in _flatten(tree):
        if data["id"] == group_id:
            return {"data": data}
    raise ApiError("Not Found", "No group with that ID was found", 404)


def setup_document(data: Any) -> dict[str, Any]:
    """``/v1/setup``: ``attributes`` is ``{"data": ...}``, or ``{}`` when there is no setup data."""
    return {"data": {"type": "setupData", "id": "default", "attributes": {} if data is None else {"data": data}}}


class StatusPatch:
    """The attributes a ``PATCH /v1/status`` sets; None where the document leaves one out (or null)."""

    __slots__ = ("paused", "vus", "vus_max", "stopped")

    def __init__(
        self, paused: bool | None = None, vus: int | None = None, vus_max: int | None = None, stopped: bool = False
    ) -> None:
        self.paused = paused
        self.vus = vus
        self.vus_max = vus_max
        self.stopped = stopped


_JSON_KIND = {dict: "object", list: "array", str: "string", bool: "bool", int: "number", float: "number"}


def _invalid(value: Any, go_type: str) -> ApiError:
    kind = _JSON_KIND.get(type(value), "value")
    return ApiError("Invalid data", f"json: cannot unmarshal {kind} into Go value of type {go_type}", 400)


def _field(attrs: dict[str, Any], key: str, kind: type, go_type: str) -> Any:
    value = attrs.get(key)
    if value is None:
        return None
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value):
            raise _invalid(value, go_type)
        return int(value)
    if not isinstance(value, kind):
        raise _invalid(value, go_type)
    return value


def parse_status_patch(body: bytes) -> StatusPatch:
    """Read a status document as k6 does (unknown fields ignored); ``ApiError`` 400 "Invalid data" when malformed."""
    if not body.strip():
        raise ApiError("Invalid data", "unexpected end of JSON input", 400)
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError("Invalid data", f"invalid JSON: {exc}", 400) from exc
    if doc is None:
        return StatusPatch()
    if not isinstance(doc, dict):
        raise _invalid(doc, "v1.StatusJSONAPI")
    data = doc.get("data")
    if data is None:
        return StatusPatch()
    if not isinstance(data, dict):
        raise _invalid(data, "v1.statusData")
    attrs = data.get("attributes")
    if attrs is None:
        return StatusPatch()
    if not isinstance(attrs, dict):
        raise _invalid(attrs, "v1.Status")
    _field(attrs, "status", int, "lib.ExecutionStatus")
    _field(attrs, "running", bool, "bool")
    _field(attrs, "tainted", bool, "bool")
    return StatusPatch(
        paused=_field(attrs, "paused", bool, "null.Bool"),
        vus=_field(attrs, "vus", int, "null.Int"),
        vus_max=_field(attrs, "vus-max", int, "null.Int"),
        stopped=bool(_field(attrs, "stopped", bool, "bool")),
    )
