"""Per-endpoint and error tables of a run, from the tags of its HTTP series.

An endpoint is the (name, method, status) of ``http_reqs``,
``http_req_failed`` and ``http_req_duration`` series (k6's ``name`` tag is
the URL unless the script grouped URLs under a name). Series that differ in
other tags (instance, scenario, group, …) are merged: counters add, rates add
their passes and totals, trends merge their histograms, so a p95 is over
every request of the endpoint.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .histogram import Histogram

__all__ = ["endpoint_table", "error_table", "EndpointKey"]

EndpointKey = tuple[str, str, str]
"""(name, method, status) of an endpoint row."""

_HTTP_METRICS = ("http_reqs", "http_req_failed", "http_req_duration")


def _endpoint_key(labels: dict[str, str]) -> EndpointKey:
    return (labels.get("name") or labels.get("url") or "", labels.get("method", ""), labels.get("status", ""))


def _status_sort(status: str) -> float:
    try:
        return float(status)
    except ValueError:
        return float("inf")


def endpoint_table(rows: Iterable[tuple[Any, ...]]) -> list[dict[str, Any]]:
    """One row per endpoint: requests, failures, failure rate, p50/p95/p99 of ``http_req_duration`` (ms).

    ``rows`` are :meth:`Store.points` rows. Sorted by requests, most first.
    """
    requests: dict[EndpointKey, float] = {}
    failed: dict[EndpointKey, list[float]] = {}
    durations: dict[EndpointKey, Histogram] = {}
    urls: dict[EndpointKey, str] = {}
    for metric, _mtype, labels, _t, value, count, total, lo, hi, hist, res in rows:
        if metric not in _HTTP_METRICS:
            continue
        key = _endpoint_key(labels)
        urls.setdefault(key, labels.get("url") or key[0])
        if metric == "http_reqs":
            requests[key] = requests.get(key, 0.0) + value
        elif metric == "http_req_failed":
            f = failed.setdefault(key, [0.0, 0.0])
            f[0] += value
            f[1] += count
        else:
            h = durations.get(key)
            if h is None:
                h = durations[key] = Histogram()
            h.merge(hist or {}, count, total, lo, hi, res)
    table: list[dict[str, Any]] = []
    for key in urls:
        name, method, status = key
        fails = failed.get(key)
        h = durations.get(key)
        table.append(
            {
                "name": name,
                "url": urls[key],
                "method": method,
                "status": status,
                "requests": requests.get(key, 0.0),
                "failures": fails[0] if fails else None,
                "failure_rate": fails[0] / fails[1] if fails and fails[1] else None,
                "p50": h.quantile(0.50) if h else None,
                "p95": h.quantile(0.95) if h else None,
                "p99": h.quantile(0.99) if h else None,
            }
        )
    table.sort(key=lambda r: (-r["requests"], r["name"], r["method"], _status_sort(r["status"])))
    return table


def error_table(rows: Iterable[tuple[Any, ...]]) -> list[dict[str, Any]]:
    """Requests that failed: one row per (name, method, status, error, error_code) with status >= 400,
    status 0 or an ``error``/``error_code`` tag, counted from ``http_reqs``; most frequent first."""
    counts: dict[tuple[str, str, str, str, str], float] = {}
    for metric, _mtype, labels, _t, value, *_ in rows:
        if metric != "http_reqs":
            continue
        status = labels.get("status", "")
        error, code = labels.get("error", ""), labels.get("error_code", "")
        is_error = bool(error or code) or (status != "" and (_status_sort(status) >= 400 or status == "0"))
        if not is_error:
            continue
        name, method, _ = _endpoint_key(labels)
        key = (name, method, status, error, code)
        counts[key] = counts.get(key, 0.0) + value
    table: list[dict[str, Any]] = [
        {"name": n, "method": m, "status": s, "error": e, "error_code": c, "count": v}
        for (n, m, s, e, c), v in counts.items()
    ]
    table.sort(key=lambda r: (-r["count"], r["name"], r["status"]))
    return table
