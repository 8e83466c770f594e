"""A run exported whole: JSON (run, thresholds, checks, merged metric totals, every series' time buckets)
and CSV (one row per time bucket and series).

Points of one series at one time (several pushes or instances of the same
bucket) are merged as the run page merges them. CSV cells that a
spreadsheet would run as a formula (starting with = + - @ or a control
character) are prefixed with ``'``.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timezone
from typing import Any

from .histogram import Histogram
from .query import run_detail
from .store import Store

__all__ = ["export_json", "export_csv", "export_file", "CSV_COLUMNS", "export_filename"]

CSV_COLUMNS = (
    "time",
    "timestamp",
    "metric",
    "type",
    "tags",
    "value",
    "count",
    "sum",
    "min",
    "max",
    "avg",
    "p50",
    "p95",
    "p99",
)
"""The CSV header: ISO time (UTC), Unix timestamp, metric, type, tags as JSON, then the bucket's figures."""


def export_filename(run: dict[str, Any], ext: str) -> str:
    """``horde-run-<id>.<ext>`` (the run's name is not used: it may hold any character)."""
    return f"horde-run-{int(run['id'])}.{ext}"


def _series_buckets(store: Store, run: dict[str, Any]) -> list[dict[str, Any]]:
    merged: dict[tuple[str, str], dict[str, Any]] = {}
    for metric, mtype, labels, t, value, count, total, lo, hi, hist, res in store.points(run["id"]):
        tags = json.dumps(labels, sort_keys=True, ensure_ascii=False)
        s = merged.get((metric, tags))
        if s is None:
            s = merged[(metric, tags)] = {"metric": metric, "type": mtype, "tags": labels, "buckets": {}}
        b = s["buckets"].get(t)
        if b is None:
            b = s["buckets"][t] = {"value": 0.0, "count": 0, "sum": 0.0, "min": None, "max": None, "hist": None}
        if mtype == "trend":
            if b["hist"] is None:
                b["hist"] = Histogram()
            b["hist"].merge(hist or {}, count, total, lo, hi, res)
        elif mtype == "gauge":
            b["value"] = value  # the bucket's last value
        else:
            b["value"] += value
        b["count"] += count
        b["sum"] += total
        b["min"] = lo if b["min"] is None else min(b["min"], lo)
        b["max"] = hi if b["max"] is None else max(b["max"], hi)
    out = []
    for (metric, _tags), s in sorted(merged.items()):
        points = []
        for t in sorted(s["buckets"]):
            b = s["buckets"][t]
            h: Histogram | None = b.pop("hist")
            point: dict[str, Any] = {"t": t, "value": b["value"], "count": b["count"]}
            if s["type"] in ("gauge", "trend"):
                point.update(sum=b["sum"], min=b["min"], max=b["max"])
            if h is not None:
                point.update(
                    value=h.avg,
                    sum=h.sum,
                    count=h.count,
                    min=h.min if h.count else None,
                    max=h.max if h.count else None,
                    avg=h.avg,
                    p50=h.quantile(0.5),
                    p95=h.quantile(0.95),
                    p99=h.quantile(0.99),
                )
            points.append(point)
        out.append({"metric": metric, "type": s["type"], "tags": s["tags"], "points": points})
    return out


def export_json(store: Store, run: dict[str, Any]) -> dict[str, Any]:
    """``GET /api/v1/runs/{id}/export.json``: the run, thresholds, checks, metric totals and series buckets."""
    detail = run_detail(store, run)
    return {
        "format": "horde-insights-run/1",
        "run": detail["run"],
        "thresholds": detail["thresholds"],
        "checks": detail["checks"],
        "metrics": detail["metrics"],
        "endpoints": detail.get("endpoints", []),
        "series": _series_buckets(store, run),
    }


def _cell(v: Any) -> Any:
    if v is None:
        return ""
    if isinstance(v, str) and v[:1] in ("=", "+", "-", "@", "\t", "\r", "\n"):
        return "'" + v
    return v


def export_csv(store: Store, run: dict[str, Any]) -> str:
    """``GET /api/v1/runs/{id}/export.csv``: the header :data:`CSV_COLUMNS`, then one row per bucket and series."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(CSV_COLUMNS)
    for s in _series_buckets(store, run):
        tags = json.dumps(s["tags"], sort_keys=True, ensure_ascii=False)
        for p in s["points"]:
            iso = datetime.fromtimestamp(p["t"], timezone.utc).isoformat().replace("+00:00", "Z")
            w.writerow(
                [_cell(iso), p["t"], _cell(s["metric"]), s["type"], _cell(tags)]
                + [_cell(p.get(k)) for k in ("value", "count", "sum", "min", "max", "avg", "p50", "p95", "p99")]
            )
    return buf.getvalue()


def export_file(store: Store, run: dict[str, Any], kind: str) -> tuple[bytes, str, str]:
    """The download of ``GET /api/v1/runs/{id}/export.{kind}`` (kind ``json`` or ``csv``):
    (body, content type, file name for ``Content-Disposition: attachment``)."""
    if kind == "json":
        body = json.dumps(export_json(store, run), separators=(",", ":"), allow_nan=False).encode()
        return body, "application/json; charset=utf-8", export_filename(run, "json")
    if kind == "csv":
        return export_csv(store, run).encode("utf-8"), "text/csv; charset=utf-8", export_filename(run, "csv")
    raise ValueError(f"unknown export format {kind!r}: json or csv")
