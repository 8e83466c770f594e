"""Differential: real k6 v1.1.0's ``experimental-prometheus-rw`` and horde's, into the same real Prometheus.

The same script shape through both gives the same series names and label
sets (values of the target-specific labels aside), ``k6_http_reqs_total``
equals the requests the target answered, and every PromQL query of Grafana's
official k6 dashboards that returns data for k6's run returns data for
horde's.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

import pytest
from runs import run_horde, run_k6
from servers import CountingTarget, Prometheus

FIXTURES = Path(__file__).parent / "fixtures"

STAT_ENV = {"K6_PROMETHEUS_RW_TREND_STATS": "p(95),p(99),min,max,avg,med,count,sum"}
NATIVE_ENV = {"K6_PROMETHEUS_RW_TREND_AS_NATIVE_HISTOGRAM": "true"}


def _label_sets(prom: Prometheus, testid: str) -> set[tuple[str, frozenset[tuple[str, str]]]]:
    out = set()
    for s in prom.series(f'{{__name__=~"k6_.+", testid="{testid}"}}'):
        labels = {k: v for k, v in s.items() if k not in ("__name__", "testid")}
        out.add((s["__name__"], frozenset(labels.items())))
    return out


def _dashboard_queries(name: str) -> list[str]:
    doc = json.loads((FIXTURES / name).read_text())
    found: set[str] = set()

    def walk(o: Any) -> None:
        if isinstance(o, dict):
            if isinstance(o.get("expr"), str) and o["expr"].strip():
                found.add(o["expr"])
            for v in o.values():
                walk(v)
        elif isinstance(o, list):
            for v in o:
                walk(v)

    walk(doc)
    return sorted(found)


def _substitute(expr: str, testid: str) -> str:
    """The dashboard variables as Grafana would fill them for one test id."""
    expr = expr.replace("$testid", testid)
    expr = expr.replace("$quantile_stat", "p99").replace("$quantile", "0.99")
    return expr.replace("$__rate_interval", "10s").replace("$__interval", "1s")


def _returns_data(prom: Prometheus, expr: str, start: float, end: float) -> bool:
    data = prom.api("query_range", query=expr, start=f"{start:.3f}", end=f"{end:.3f}", step="1")
    return any(r.get("values") for r in data["result"])


def _reqs_total(prom: Prometheus, testid: str) -> float:
    rows = prom.query(f'sum(max_over_time(k6_http_reqs_total{{testid="{testid}"}}[1h]))')
    return float(rows[0]["value"][1]) if rows else 0.0


def _bucket_exponents(prom: Prometheus, selector: str) -> list[tuple[float, float]]:
    """(log2(lower) * 8, log2(upper) * 8) of every positive bucket of the newest histograms of ``selector``."""
    out = []
    for r in prom.api("query", query=f"{selector}[1h]")["result"]:
        for _, lo, hi, _ in r["histograms"][-1][1].get("buckets", []):
            if float(lo) > 1e-30:
                out.append((math.log2(float(lo)) * 8, math.log2(float(hi)) * 8))
    return out


@pytest.mark.parametrize(
    ("mode", "env", "dashboard"),
    [("stats", STAT_ENV, "k6-prometheus.json"), ("native", NATIVE_ENV, "k6-prometheus-native-histogram.json")],
)
def test_same_series_counts_and_dashboard_as_k6(
    mode: str,
    env: dict[str, str],
    dashboard: str,
    prometheus: Prometheus,
    counting_target: CountingTarget,
    k6_bin: str,
    tmp_path: Path,
) -> None:
    url = prometheus.write_url
    started = time.time() - 1
    run_k6(k6_bin, tmp_path, url, counting_target.url, f"k6-{mode}", env=env)
    k6_requests, counting_target.count = counting_target.count, 0
    run_horde(tmp_path, url, counting_target.url, f"horde-{mode}", env=env)
    horde_requests = counting_target.count
    ended = time.time() + 1

    k6_series = _label_sets(prometheus, f"k6-{mode}")
    horde_series = _label_sets(prometheus, f"horde-{mode}")
    assert k6_series, "k6 wrote nothing"
    assert horde_series == k6_series, (
        f"only k6: {sorted(k6_series - horde_series)}\nonly horde: {sorted(horde_series - k6_series)}"
    )
    assert _reqs_total(prometheus, f"k6-{mode}") == k6_requests > 0
    assert _reqs_total(prometheus, f"horde-{mode}") == horde_requests > 0

    if mode == "native":
        # a native histogram holds every request: its count matches the target's, and the two runs merge
        assert sum(prometheus.last_values(f'k6_http_req_duration_seconds{{testid="horde-{mode}"}}')) == horde_requests
        # both on the same bucket grid: schema 3, bucket bounds at 2^(k/8) seconds
        for who in ("k6", "horde"):
            grid = _bucket_exponents(prometheus, f'k6_http_req_duration_seconds{{testid="{who}-{mode}"}}')
            assert grid and all(abs(lo - round(lo)) < 1e-6 and abs(hi - lo - 1) < 1e-6 for lo, hi in grid), (
                who,
                sorted(grid)[:10],
            )

    missing = []
    queries = _dashboard_queries(dashboard)
    assert len(queries) > 15
    answered = 0
    for expr in queries:
        if _returns_data(prometheus, _substitute(expr, f"k6-{mode}"), started, ended):
            answered += 1
            if not _returns_data(prometheus, _substitute(expr, f"horde-{mode}"), started, ended):
                missing.append(expr)
    assert answered > 10, "the dashboard shows little of k6's run: the test is not testing"
    assert not missing, "queries with data for k6 and none for horde:\n" + "\n".join(missing)
