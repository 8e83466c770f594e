"""The ingest API, compatible with k6's cloud output (protocol v2).

``POST /v1/tests`` creates a run and returns its ``reference_id``;
``POST /v2/metrics/{id}`` stores a snappy-compressed protobuf ``MetricSet``
(a push whose ``K6-Idempotency-Key`` was seen before is acknowledged and
dropped); ``POST /v1/tests/{id}`` finishes the run.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import cramjam

from .decompress import gunzip_within
from .http import ApiError
from .states import FINAL_STATUSES
from .store import Store
from .thresholds import ThresholdError, parse_thresholds
from .wire.metricset import MAX_ENTRIES, MAX_VALUES, DecodeError, MetricSet, TooManyValues, decode_metric_set
from .wire.protobuf import read_varint

__all__ = ["Limits", "create_run", "push_metrics", "finish_run"]


class Limits:
    """Request limits: body sizes in bytes, and what one metrics push may decode.

    ``metrics_entries`` caps the metrics, series, labels, points and non-zero
    histogram buckets of one push, ``metrics_values`` its protobuf values;
    both are counted while decoding and a push past either is refused with 413.
    """

    def __init__(
        self,
        json_body: int = 1 << 20,
        metrics_body: int = 16 << 20,
        metrics_decoded: int = 128 << 20,
        metrics_entries: int = MAX_ENTRIES,
        metrics_values: int = MAX_VALUES,
    ) -> None:
        self.json_body = json_body
        self.metrics_body = metrics_body
        self.metrics_decoded = metrics_decoded
        self.metrics_entries = metrics_entries
        self.metrics_values = metrics_values


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
        raise ApiError(
            415,
            f"create run: Content-Type {ctype!r} is not supported; send application/json "
            "(script archive upload is not supported)",
        )
    data = _json(body, "create run")
    name = data.get("name") or "horde test"
    if not isinstance(name, str) or len(name) > 500:
        raise ApiError(400, "create run: field 'name' must be a string of at most 500 characters")
    thresholds = data.get("thresholds") or {}
    if not isinstance(thresholds, dict) or not all(isinstance(v, list) for v in thresholds.values()):
        raise ApiError(400, "create run: field 'thresholds' must map metric names to lists of expressions")
    vus = _number(data, "vus", "create run")
    duration = _number(data, "duration", "create run")
    instances = data.get("instances", 1)
    if instances is None:
        instances = 1
    if isinstance(instances, bool) or not isinstance(instances, int) or not 1 <= instances <= 100_000:
        raise ApiError(400, f"create run: field 'instances' must be an integer >= 1, got {json.dumps(instances)[:40]}")
    process = data.get("process_thresholds", False)
    if not isinstance(process, bool):
        raise ApiError(400, "create run: field 'process_thresholds' must be true or false")
    if process or instances > 1:  # Insights evaluates them: refuse what it could not
        try:
            parse_thresholds(thresholds)
        except ThresholdError as exc:
            raise ApiError(400, f"create run: {exc}") from None
    key = headers.get("K6-Idempotency-Key")
    run_id, _ = store.create_run(
        project_id,
        name=name,
        vus=int(vus),
        duration=float(duration),
        thresholds=thresholds,
        key=key[:64] if key else None,
        now=time.time(),
        instances=instances,
        process_thresholds=process,
    )
    return {"reference_id": str(run_id), "config": {"webAppURL": base_url}}


def push_metrics(
    store: Store,
    run_id: int,
    headers: Mapping[str, str],
    body: bytes,
    limits: Limits,
    on_stored: Callable[[int, MetricSet], None] | None = None,
) -> dict:
    """Handle ``POST /v2/metrics/{id}``; return the reply body. ``on_stored`` sees every stored push
    (the live threshold tally: ``VerdictJudge.observe``)."""
    enc = (headers.get("Content-Encoding") or "").strip().lower()
    ctype = (headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if ctype and ctype != "application/x-protobuf":
        raise ApiError(415, f"push metrics: Content-Type {ctype!r} is not supported; send application/x-protobuf")
    if enc == "gzip":
        body, enc = gunzip_within(body, limits.metrics_decoded, "push metrics"), ""
    if enc not in ("snappy", "", "identity"):
        raise ApiError(415, f"push metrics: Content-Encoding {enc!r} is not supported; use snappy or gzip")
    version = headers.get("K6-Metrics-Protocol-Version")
    if version and not version.startswith("2."):
        raise ApiError(400, f"push metrics: protocol version {version} is not supported; this service speaks 2.0")
    with _large_push_slot(body, enc == "snappy"):
        ms = _decode(body, enc == "snappy", limits)
    key = headers.get("K6-Idempotency-Key")
    stored = store.ingest(run_id, key[:64] if key else None, ms, time.time(), on_stored)
    return {"stored": stored, "duplicate": not stored}


_LARGE_PUSH = 8 << 20
"""A push that decodes to more bytes than this waits for the one large-push slot, so that
concurrent large pushes cannot add up their buffers."""
_LARGE_PUSH_WAIT = 30.0
_large_push_gate = threading.BoundedSemaphore(1)


@contextlib.contextmanager
def _large_push_slot(body: bytes, snappy: bool) -> Iterator[None]:
    """Hold the large-push slot while a push of more than ``_LARGE_PUSH`` decoded bytes is decoded
    (503 when it stays taken for ``_LARGE_PUSH_WAIT`` seconds)."""
    try:
        size = read_varint(body, 0)[0] if snappy else len(body)
    except DecodeError:
        size = 0  # _decode names the problem
    if size <= _LARGE_PUSH:
        yield
        return
    if not _large_push_gate.acquire(timeout=_LARGE_PUSH_WAIT):
        raise ApiError(503, "push metrics: busy decoding other large pushes; retry later")
    try:
        yield
    finally:
        _large_push_gate.release()


def _decode(body: bytes, snappy: bool, limits: Limits) -> MetricSet:
    """The push's MetricSet, decoded within ``limits``: the snappy block is decompressed into one
    buffer of its declared size and decoded through views of it (no copies)."""
    if snappy:
        try:
            size, _ = read_varint(body, 0)
        except DecodeError:
            raise ApiError(400, "push metrics: body is not snappy block data") from None
        if size > limits.metrics_decoded:
            raise ApiError(
                413,
                f"push metrics: decompressed body of {size} bytes is larger than the limit of "
                f"{limits.metrics_decoded} bytes",
            )
        raw = bytearray(size)
        try:
            cramjam.snappy.decompress_raw_into(body, raw)
        except Exception as exc:
            raise ApiError(400, f"push metrics: body is not valid snappy block data ({exc})") from None
    else:
        raw = body  # type: ignore[assignment]
    try:
        return decode_metric_set(memoryview(raw), max_entries=limits.metrics_entries, max_values=limits.metrics_values)
    except TooManyValues as exc:
        raise ApiError(
            413,
            f"push metrics: {exc}; send smaller batches (at most {limits.metrics_entries} "
            f"entries and {limits.metrics_values} protobuf values per push)",
        ) from None
    except DecodeError as exc:
        raise ApiError(400, f"push metrics: body is not a valid MetricSet protobuf ({exc})") from None


def finish_run(store: Store, run_id: int, body: bytes) -> dict:
    """Handle ``POST /v1/tests/{id}``; return the reply body."""
    data = _json(body, "finish run")
    status = data.get("run_status", 3)
    if isinstance(status, bool) or not isinstance(status, int) or status not in FINAL_STATUSES or status == 4:
        raise ApiError(400, f"finish run: run_status must be one of 3, 5, 6, 7, 8, 9, got {json.dumps(status)[:40]}")
    result = data.get("result_status", 0)
    if result not in (0, 1) or isinstance(result, bool):
        raise ApiError(
            400, f"finish run: result_status must be 0 (passed) or 1 (failed), got {json.dumps(result)[:40]}"
        )
    thresholds = data.get("thresholds") or {}
    if not isinstance(thresholds, dict) or not all(isinstance(v, dict) for v in thresholds.values()):
        raise ApiError(400, "finish run: thresholds must map metric names to {expression: failed} objects")
    store.finish_run(run_id, run_status=status, result_status=result, thresholds=thresholds, now=time.time())
    return {}
