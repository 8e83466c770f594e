"""What the web UI reads: run summaries and a run's charts, thresholds, checks and metric totals."""

from __future__ import annotations

import time
from collections import defaultdict

from .breakdown import endpoint_table, error_table
from .histogram import Histogram
from .instances import instance_of, run_view
from .states import state_of
from .store import Store

__all__ = ["run_summary", "run_detail"]

MAX_POINTS = 600
"""Charts get at most this many points; longer runs are merged into wider buckets (all aggregates merge)."""


def run_summary(run: dict, now: float | None = None) -> dict:
    """The public view of a run row (no internal keys), with its state and duration."""
    now = time.time() if now is None else now
    st = state_of(run["run_status"])
    end = run["ended_at"] or run["timed_out_at"]
    if end is None:
        end = now
    results = run["threshold_results"]
    passed = None
    if run["result_status"] is not None:
        passed = run["result_status"] == 0
    return {
        "id": str(run["id"]),
        "name": run["name"],
        "run_status": run["run_status"],
        **st,
        "result_status": run["result_status"],
        "passed": passed,
        "created_at": run["created_at"],
        "ended_at": run["ended_at"],
        "timed_out_at": run["timed_out_at"],
        "last_seen_at": run["last_seen_at"],
        "duration": max(0.0, end - run["created_at"]),
        "planned_duration": run["duration"],
        "vus": run["vus"],
        "period": run["period"],
        "pushes": run["pushes"],
        "duplicate_pushes": run["duplicates"],
        "thresholds": run["thresholds"],
        "threshold_results": results,
        "expected_instances": run.get("instances", 1),
        "stopped": run.get("stopped_at") is not None,
        "abort_reason": run.get("abort_reason"),
    }


def _threshold_rows(run: dict) -> list[dict]:
    defined = run["thresholds"] or {}
    results = run["threshold_results"] or {}
    rows = []
    seen = set()
    for metric, sources in defined.items():
        for src in sources if isinstance(sources, list) else [sources]:
            src = src.get("threshold", "") if isinstance(src, dict) else str(src)
            failed = results.get(metric, {}).get(src) if results else None
            rows.append({"metric": metric, "threshold": src, "ok": None if failed is None else not failed})
            seen.add((metric, src))
    for metric, by_src in results.items():
        for src, failed in (by_src or {}).items():
            if (metric, src) not in seen:
                rows.append({"metric": metric, "threshold": src, "ok": not failed})
    return rows


def run_detail(store: Store, run: dict, now: float | None = None) -> dict:
    """Everything the run page shows: summary, time series, thresholds, checks, per-metric totals,
    the per-endpoint table and the errors table."""
    summary = run_summary(run, now)
    rows = store.points(run["id"])
    period = run["period"] or 1
    first = min((r[3] for r in rows), default=0.0)
    last = max((r[3] for r in rows), default=0.0)
    width = period * max(1, int((last - first) / period) // MAX_POINTS + 1)

    vus_of: dict[tuple[str, float], float] = {}  # (instance, time) -> VUs; summed over instances below
    reqs: dict[float, float] = defaultdict(float)
    failed: dict[float, list[float]] = defaultdict(lambda: [0.0, 0.0])
    durs: dict[float, Histogram] = defaultdict(Histogram)
    checks: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0.0, 0.0])
    totals: dict[str, dict] = {}
    whole: dict[str, Histogram] = defaultdict(Histogram)

    for metric, mtype, labels, t, value, count, total, lo, hi, hist, res in rows:
        if width != period:
            t = first + ((t - first) // width) * width
        tot = totals.get(metric)
        if tot is None:
            tot = totals[metric] = {
                "metric": metric,
                "type": mtype,
                "count": 0.0,
                "sum": 0.0,
                "min": None,
                "max": None,
                "last_t": None,
                "last": None,
            }
        if mtype == "counter":
            tot["count"] += value
            tot["sum"] += value
        elif mtype == "rate":
            tot["sum"] += value
            tot["count"] += count
        elif mtype == "gauge":
            tot["count"] += count
            tot["min"] = lo if tot["min"] is None else min(tot["min"], lo)
            tot["max"] = hi if tot["max"] is None else max(tot["max"], hi)
            if tot["last_t"] is None or t >= tot["last_t"]:
                tot["last_t"], tot["last"] = t, value
        elif mtype == "trend":
            whole[metric].merge(hist or {}, count, total, lo, hi, res)

        if metric == "vus":
            key = (instance_of(labels), t)
            vus_of[key] = max(vus_of.get(key, 0.0), hi if count else value)
        elif metric == "http_reqs":
            reqs[t] += value
        elif metric == "http_req_failed":
            f = failed[t]
            f[0] += value
            f[1] += count
        elif metric == "http_req_duration":
            durs[t].merge(hist or {}, count, total, lo, hi, res)
        elif metric == "checks":
            c = checks[(labels.get("group", ""), labels.get("check", ""))]
            c[0] += value
            c[1] += count

    vus: dict[float, float] = defaultdict(float)
    for (_inst, t), n in vus_of.items():
        vus[t] += n
    times = sorted(set(vus) | set(reqs) | set(failed) | set(durs))
    series = {
        "t": times,
        "vus": [vus.get(t) for t in times],
        "rps": [reqs[t] / width if t in reqs else None for t in times],
        "p50": [durs[t].quantile(0.50) if t in durs else None for t in times],
        "p95": [durs[t].quantile(0.95) if t in durs else None for t in times],
        "p99": [durs[t].quantile(0.99) if t in durs else None for t in times],
        "failure_rate": [failed[t][0] / failed[t][1] if t in failed and failed[t][1] else None for t in times],
    }

    metrics = []
    for name in sorted(totals):
        tot = totals[name]
        entry = {"metric": name, "type": tot["type"]}
        if tot["type"] == "counter":
            entry["count"] = tot["count"]
        elif tot["type"] == "rate":
            entry.update(
                passes=tot["sum"], total=tot["count"], rate=tot["sum"] / tot["count"] if tot["count"] else None
            )
        elif tot["type"] == "gauge":
            entry.update(value=tot["last"], min=tot["min"], max=tot["max"])
        else:
            h = whole[name]
            entry.update(
                count=h.count,
                avg=h.avg,
                min=h.min if h.count else None,
                max=h.max if h.count else None,
                med=h.quantile(0.5),
                p90=h.quantile(0.9),
                p95=h.quantile(0.95),
                p99=h.quantile(0.99),
            )
        metrics.append(entry)

    http = totals.get("http_reqs")
    fail = totals.get("http_req_failed")
    summary["requests"] = http["count"] if http else 0
    summary["failure_rate"] = (fail["sum"] / fail["count"]) if fail and fail["count"] else None
    summary["max_vus_seen"] = max(vus.values()) if vus else None
    summary["chart_bucket"] = width
    if "vus" in totals:  # merged over instances: the sum of their VUs at the latest time
        for entry in metrics:
            if entry["metric"] == "vus" and vus:
                entry.update(value=vus[max(vus)], max=max(vus.values()))
    return {
        "run": summary,
        "series": series,
        "thresholds": _threshold_rows(run),
        "checks": [{"group": g, "check": c, "passes": p, "fails": n - p} for (g, c), (p, n) in sorted(checks.items())],
        "metrics": metrics,
        "endpoints": endpoint_table(rows),
        "errors": error_table(rows),
        **run_view(store, run, rows),
    }
