"""The ingest API, compatible with k6's cloud output (protocol v2).

``POST /v1/tests`` creates a run and returns its ``reference_id``;
``POST /v2/metrics/{id}`` stores a snappy-compressed protobuf ``MetricSet``
(a push whose ``K6-Idempotency-Key`` was seen before is acknowledged and
dropped); ``POST /v1/tests/{id}`` finishes the run.
"""

from __future__ import annotations

import json
import time
from typing import Any, Mapping

import cramjam

from .http import ApiError
from .states import FINAL_STATUSES
from .store import Store
from .wire.metricset import DecodeError, decode_metric_set
from .wire.protobuf import read_varint

__all__ = ["Limits", "create_run", "push_metrics", "finish_run"]


class Limits:
    """Request size limits in bytes."""

    def __init__(self, json_body: int = 1 << 20, metrics_body: int = 16 << 20, metrics_decoded: int = 128 << 20):
        self.json_body = json_body
        self.metrics_body = metrics_body
        self.metrics_decoded = metrics_decoded


def _json(body: bytes, what: str) -> dict:
    try:
        data = json.loads(body.decode("utf-8") or "null")
    except (UnicodeDecodeError, ValueError) as exc:
        raise ApiError(400, f"{what}: body is not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise ApiError(400, f"{what}: body must be a JSON object")
    return data


def _number(data: Mapping[str, Any], key: str, what: str, default: float = 0) -> float:
    v = data.get(key, default)
    if v is None:
        return default
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ApiError(400, f"{what}: field {key!r} must be a number, got {json.dumps(v)[:40]}")
    return v


def create_run(store: Store, project_id: int, headers: Mapping[str, str], body: bytes, base_url: str) -> dict:
    """Handle ``POST /v1/tests``; return the reply body."""
    ctype = (headers.get("Content-Type") or "application/json").split(";")[0].strip().lower()
    if ctype != "application/json":
        raise ApiError(415, f"create run: Content-Type {ctype!r} is not supported; send application/json "
                            "(script archive upload is not supported)")
    data = _json(body, "create run")
    name = data.get("name") or "horde test"
    if not isinstance(name, str) or len(name) > 500:
        raise ApiError(400, "create run: field 'name' must be a string of at most 500 characters")
    thresholds = data.get("thresholds") or {}
    if not isinstance(thresholds, dict) or not all(isinstance(v, list) for v in thresholds.values()):
        raise ApiError(400, "create run: field 'thresholds' must map metric names to lists of expressions")
    vus = _number(data, "vus", "create run")
    duration = _number(data, "duration", "create run")
    key = headers.get("K6-Idempotency-Key")
    run_id, _ = store.create_run(project_id, name=name, vus=int(vus), duration=float(duration),
                                 thresholds=thresholds, key=key[:64] if key else None, now=time.time())
    return {"reference_id": str(run_id), "config": {"webAppURL": base_url}}


def push_metrics(store: Store, run_id: int, headers: Mapping[str, str], body: bytes, limits: Limits) -> dict:
    """Handle ``POST /v2/metrics/{id}``; return the reply body."""
    enc = (headers.get("Content-Encoding") or "").strip().lower()
    ctype = (headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if ctype and ctype != "application/x-protobuf":
        raise ApiError(415, f"push metrics: Content-Type {ctype!r} is not supported; send application/x-protobuf")
    if enc == "snappy":
        try:
            size, _ = read_varint(body, 0)
        except DecodeError:
            raise ApiError(400, "push metrics: body is not snappy block data") from None
        if size > limits.metrics_decoded:
            raise ApiError(413, f"push metrics: decompressed body of {size} bytes is larger than the limit of "
                                f"{limits.metrics_decoded} bytes")
        try:
            raw = bytes(cramjam.snappy.decompress_raw(body))
        except Exception as exc:
            raise ApiError(400, f"push metrics: body is not valid snappy block data ({exc})") from None
    elif enc in ("", "identity"):
        raw = body
    else:
        raise ApiError(415, f"push metrics: Content-Encoding {enc!r} is not supported; use snappy")
    version = headers.get("K6-Metrics-Protocol-Version")
    if version and not version.startswith("2."):
        raise ApiError(400, f"push metrics: protocol version {version} is not supported; this service speaks 2.0")
    try:
        ms = decode_metric_set(raw)
    except DecodeError as exc:
        raise ApiError(400, f"push metrics: body is not a valid MetricSet protobuf ({exc})") from None
    key = headers.get("K6-Idempotency-Key")
    stored = store.ingest(run_id, key[:64] if key else None, ms, time.time())
    return {"stored": stored, "duplicate": not stored}


def finish_run(store: Store, run_id: int, body: bytes) -> dict:
    """Handle ``POST /v1/tests/{id}``; return the reply body."""
    data = _json(body, "finish run")
    status = data.get("run_status", 3)
    if isinstance(status, bool) or not isinstance(status, int) or status not in FINAL_STATUSES or status == 4:
        raise ApiError(400, f"finish run: run_status must be one of 3, 5, 6, 7, 8, 9, got {json.dumps(status)[:40]}")
    result = data.get("result_status", 0)
    if result not in (0, 1) or isinstance(result, bool):
        raise ApiError(400, f"finish run: result_status must be 0 (passed) or 1 (failed), got {json.dumps(result)[:40]}")
    thresholds = data.get("thresholds") or {}
    if not isinstance(thresholds, dict) or not all(isinstance(v, dict) for v in thresholds.values()):
        raise ApiError(400, "finish run: thresholds must map metric names to {expression: failed} objects")
    store.finish_run(run_id, run_status=status, result_status=result, thresholds=thresholds, now=time.time())
    return {}
