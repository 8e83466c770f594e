"""A receiver stopped for 30 s in the middle of a run loses nothing: the output retries, spills and replays in order."""

from __future__ import annotations

import re
import time
from pathlib import Path

from runs import run_horde
from servers import CountingTarget, Prometheus, VictoriaMetrics

_LINE = re.compile(
    r"(\d+) series samples \((\d+) series, from (\d+) samples\) written .* \((\d+) retried [^,]*, (\d+) spilled [^,]*, (\d+) dropped\)"
)


def _counts(text: str) -> tuple[int, int, int, int]:
    """(written, retried, spilled, dropped) from the output's last log line."""
    m = _LINE.findall(text)
    assert m, f"no delivery line in the output's log:\n{text[-3000:]}"
    written, _, _, retried, spilled, dropped = (int(x) for x in m[-1])
    return written, retried, spilled, dropped


def test_prometheus_down_for_30s_loses_nothing(
    prometheus: Prometheus, counting_target: CountingTarget, tmp_path: Path
) -> None:
    outage: list[float] = []

    def during() -> None:
        time.sleep(5)
        prometheus.stop()
        outage.append(time.monotonic())
        time.sleep(30)
        prometheus.start()
        outage.append(time.monotonic())

    env = {"K6_PROMETHEUS_RW_TREND_AS_NATIVE_HISTOGRAM": "true"}
    started = time.monotonic()
    res = run_horde(
        tmp_path, prometheus.write_url, counting_target.url, "outage", duration="40s", pause=0.1, env=env, during=during
    )
    assert outage[1] - outage[0] >= 30
    assert time.monotonic() - started < 150
    written, retried, _, dropped = _counts(res.stdout + res.stderr)
    assert retried > 0, "the outage did not make any write fail: the test is not testing"
    assert dropped == 0
    rows = prometheus.query('sum(max_over_time(k6_http_reqs_total{testid="outage"}[1h]))')
    assert float(rows[0]["value"][1]) == counting_target.count > 100
    assert sum(prometheus.last_values('k6_http_req_duration_seconds{testid="outage"}')) == counting_target.count
    # the series kept their values through the outage: samples stamped while Prometheus was down were replayed
    during_outage = prometheus.api(
        "query_range",
        query='sum(k6_http_reqs_total{testid="outage"})',
        start=f"{time.time() - (time.monotonic() - outage[0]) + 5:.3f}",
        end=f"{time.time() - (time.monotonic() - outage[1]) - 5:.3f}",
        step="1",
    )["result"]
    assert during_outage and len(during_outage[0]["values"]) >= 15


def test_victoria_metrics_down_and_back_through_the_disk(
    victoria: VictoriaMetrics, counting_target: CountingTarget, tmp_path: Path
) -> None:
    def during() -> None:
        time.sleep(2)
        victoria.stop()
        time.sleep(5)
        victoria.start()

    # the alias and k6's argument form: the URL given after = wins over the environment's;
    # a memory limit of one byte: every waiting request goes through the spill files on disk
    out = f"prometheus-rw=url={victoria.write_url},pushInterval=300ms,memoryLimit=1"
    res = run_horde(
        tmp_path,
        "http://127.0.0.1:9/nowhere",
        counting_target.url,
        "vm",
        duration="10s",
        pause=0.1,
        during=during,
        out=out,
    )
    written, retried, spilled, dropped = _counts(res.stdout + res.stderr)
    assert retried > 0 and spilled > 0 and dropped == 0
    deadline = time.monotonic() + 20  # VictoriaMetrics makes fresh rows searchable within seconds
    while True:
        series = victoria.export('{__name__="k6_http_reqs_total", testid="vm"}')
        stored = sum(max(s["values"]) for s in series)
        if stored == counting_target.count or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert stored == counting_target.count > 10
    names = {s["metric"]["__name__"] for s in victoria.export('{testid="vm"}')}
    assert {"k6_http_req_duration_p99", "k6_checks_rate", "k6_vus", "k6_iterations_total"} <= names
