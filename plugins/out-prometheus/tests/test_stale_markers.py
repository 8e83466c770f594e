"""``staleMarkers``: at stop every series gets Prometheus' stale marker, so it ends at once instead of after 5 min."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from horde.metrics import Metric, MetricType, Sample, TagSet, ValueType
from horde.output import Params
from horde_out_prometheus import PrometheusRWOutput
from servers import Prometheus

REQS = Metric("http_reqs", MetricType.COUNTER)
DURATION = Metric("http_req_duration", MetricType.TREND, ValueType.TIME)


@pytest.mark.parametrize("native", ["false", "true"])
def test_series_end_with_stale_markers(prometheus: Prometheus, tmp_path: Path, native: str) -> None:
    env = {
        "K6_PROMETHEUS_RW_SERVER_URL": prometheus.write_url,
        "K6_PROMETHEUS_RW_PUSH_INTERVAL": "100ms",
        "K6_PROMETHEUS_RW_TREND_AS_NATIVE_HISTOGRAM": native,
        "HORDE_PROMETHEUS_RW_SPOOL_DIR": str(tmp_path / "spool"),
    }
    outputs = {}
    for testid, stale in (("stale", "true"), ("kept", "false")):
        out = PrometheusRWOutput(
            Params("experimental-prometheus-rw", environment={**env, "K6_PROMETHEUS_RW_STALE_MARKERS": stale})
        )
        tags = TagSet.of(testid=testid)
        out.start()
        out.add_samples([Sample(REQS, time.time_ns() - 2_000_000_000, 1.0, tags)])
        out.add_samples([Sample(DURATION, time.time_ns() - 2_000_000_000, 12.0, tags)])
        out.stop(None)
        outputs[testid] = out.report()
    assert outputs["stale"]["written"] == 4 and outputs["kept"]["written"] == 2
    time.sleep(0.2)
    now = time.time() + 0.1
    assert prometheus.query('count({__name__=~"k6_.+", testid="kept"})', at=now)[0]["value"][1] == "2"
    assert prometheus.query('{__name__=~"k6_.+", testid="stale"}', at=now) == []
    assert prometheus.last_values('k6_http_reqs_total{testid="stale"}') != []
