"""Two runs side by side: key metrics, checks, thresholds and per-endpoint rows, with deltas (B − A).

A is the baseline, B the run compared with it; a delta is ``b - a`` and its
relative change ``(b - a) / a`` (None when either side is missing or a is 0).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .http import ApiError
from .query import run_detail
from .store import Store

__all__ = ["compare_runs", "compared_ids", "KEY_METRICS"]

KEY_METRICS = (
    ("requests", "Requests", None),
    ("rps", "Requests/s", None),
    ("failure_rate", "HTTP failure rate", "lower"),
    ("p50", "http_req_duration p50 (ms)", "lower"),
    ("p95", "http_req_duration p95 (ms)", "lower"),
    ("p99", "http_req_duration p99 (ms)", "lower"),
    ("checks_passed", "Checks passed", None),
    ("checks_failed", "Checks failed", "lower"),
    ("checks_rate", "Check pass rate", "higher"),
    ("thresholds_failed", "Thresholds crossed", "lower"),
    ("duration", "Duration (s)", None),
)
"""The compared figures: (key, label, which direction is better: "lower", "higher" or None)."""


def compared_ids(params: Mapping[str, str]) -> tuple[int, int]:
    """The run ids ``a`` and ``b`` of ``GET /api/v1/compare?a=&b=`` (400 naming the bad parameter)."""
    ids = []
    for name in ("a", "b"):
        value = params.get(name, "")
        if not (value.isascii() and value.isdigit()) or len(value) > 18:
            raise ApiError(400, f"query parameter {name!r} must be a run id, not {value[:40]!r}")
        ids.append(int(value))
    return ids[0], ids[1]


def _delta(a: float | None, b: float | None) -> dict[str, Any]:
    if a is None or b is None:
        return {"a": a, "b": b, "delta": None, "relative": None}
    return {"a": a, "b": b, "delta": b - a, "relative": (b - a) / a if a else None}


def _key_figures(detail: dict[str, Any], run: dict[str, Any]) -> dict[str, float | None]:
    metrics = {m["metric"]: m for m in detail["metrics"]}
    summary = detail["run"]
    dur = metrics.get("http_req_duration", {})
    first, last = run.get("first_data_at"), run.get("last_data_at")
    span = (last - first + (run.get("period") or 1)) if first is not None and last is not None else None
    passed = sum(c["passes"] for c in detail["checks"])
    failed = sum(c["fails"] for c in detail["checks"])
    crossed = [t for t in detail["thresholds"] if t["ok"] is False]
    return {
        "requests": summary["requests"],
        "rps": summary["requests"] / span if span else None,
        "failure_rate": summary["failure_rate"],
        "p50": dur.get("med"),
        "p95": dur.get("p95"),
        "p99": dur.get("p99"),
        "checks_passed": passed if detail["checks"] else None,
        "checks_failed": failed if detail["checks"] else None,
        "checks_rate": passed / (passed + failed) if passed + failed else None,
        "thresholds_failed": len(crossed) if detail["thresholds"] else None,
        "duration": summary["duration"],
    }


def _side(detail: dict[str, Any]) -> dict[str, Any]:
    r = detail["run"]
    keep = ("id", "name", "state", "label", "colour", "detail", "passed", "created_at", "duration", "vus")
    return {k: r[k] for k in keep}


def compare_runs(store: Store, run_a: dict[str, Any], run_b: dict[str, Any]) -> dict[str, Any]:
    """``GET /api/v1/compare?a=&b=``: both runs' summaries, the key figures, thresholds and endpoints with deltas."""
    da, db = run_detail(store, run_a), run_detail(store, run_b)
    fa, fb = _key_figures(da, run_a), _key_figures(db, run_b)
    metrics = [
        {"key": key, "label": label, "better": better, **_delta(fa[key], fb[key])} for key, label, better in KEY_METRICS
    ]

    thresholds: dict[tuple[str, str], dict[str, Any]] = {}
    for side, detail in (("a", da), ("b", db)):
        for t in detail["thresholds"]:
            row = thresholds.setdefault(
                (t["metric"], t["threshold"]),
                {"metric": t["metric"], "threshold": t["threshold"], "a": None, "b": None},
            )
            row[side] = t["ok"]
            row[f"{side}_defined"] = True
    for row in thresholds.values():
        for side in ("a", "b"):
            row.setdefault(f"{side}_defined", False)

    endpoints: dict[tuple[str, str, str], dict[str, Any]] = {}
    for side, detail in (("a", da), ("b", db)):
        for e in detail["endpoints"]:
            row = endpoints.setdefault(
                (e["name"], e["method"], e["status"]),
                {"name": e["name"], "method": e["method"], "status": e["status"], "a": None, "b": None},
            )
            row[side] = {k: e[k] for k in ("requests", "failures", "failure_rate", "p50", "p95", "p99")}
    endpoint_rows = []
    for row in endpoints.values():
        a, b = row["a"] or {}, row["b"] or {}
        row["deltas"] = {k: _delta(a.get(k), b.get(k)) for k in ("requests", "failure_rate", "p50", "p95", "p99")}
        endpoint_rows.append(row)
    endpoint_rows.sort(
        key=lambda r: (-max((r["a"] or {}).get("requests", 0), (r["b"] or {}).get("requests", 0)), r["name"])
    )
    return {
        "a": _side(da),
        "b": _side(db),
        "metrics": metrics,
        "thresholds": list(thresholds.values()),
        "endpoints": endpoint_rows,
    }
