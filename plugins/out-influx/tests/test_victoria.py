"""The InfluxDB 2.x write API (/api/v2/write, token, organization, bucket) against a real server.

VictoriaMetrics (Debian ``victoria-metrics``) accepts line protocol on
``/api/v2/write``; it stores field ``value`` of measurement ``m`` as series
``m_value`` with the tags as labels, and lets us export every raw sample.
"""

from __future__ import annotations

import re
import urllib.request

from conftest import Emitter
from test_influxd import FAST, feed, wait_until


def _influx_writes(vm) -> int:
    """Line-protocol write requests VictoriaMetrics served (it files /api/v2/write under /influx/write)."""
    body = urllib.request.urlopen(vm.addr + "/metrics", timeout=10).read().decode()
    m = re.search(r'^vm_http_requests_total\{path="/influx/write", protocol="influx"\} (\d+)', body, re.M)
    return int(m.group(1)) if m else 0


def stored(vm) -> dict[str, int]:
    """Samples per measurement (series ``<measurement>_value``)."""
    counts: dict[str, int] = {}
    for series in vm.export('{__name__=~".+_value"}'):
        name = series["metric"]["__name__"][: -len("_value")]
        counts[name] = counts.get(name, 0) + len(series["values"])
    return counts


def test_v2_api_points_stored_equal_samples_emitted(victoria, make_output):
    emitter = Emitter(step_ns=1_000_000)  # VictoriaMetrics keeps millisecond timestamps
    env = {"HORDE_INFLUXDB_TOKEN": "my-token", "HORDE_INFLUXDB_ORGANIZATION": "acme"}
    out = make_output(f"{victoria.addr}/mybucket?{FAST}&maxBatchPoints=500", env)
    assert out.config.v2 and out.description() == f"InfluxDBv2 ({victoria.addr})"
    out.start()
    feed(out, emitter, 600)
    out.stop(None)
    assert out.written == emitter.emitted and out.undelivered == 0
    assert _influx_writes(victoria) >= emitter.emitted // 500
    assert wait_until(lambda: sum(stored(victoria).values()) == emitter.emitted)
    counts = stored(victoria)
    assert counts["http_reqs"] == emitter.requests == 600
    assert counts["checks"] == 600 and counts["my_counter"] == 24
    (series, *_) = [s for s in victoria.export('{__name__="http_reqs_value", status="200"}')]
    labels = series["metric"]
    assert {"expected_response", "method", "name", "page", "proto", "scenario", "status", "testid"} <= set(labels)
    assert "url" not in labels and "vu" not in labels and "group" not in labels  # url is a field; vu is metadata


def test_v2_api_outage_loses_nothing(victoria, make_output):
    emitter = Emitter(step_ns=1_000_000)
    out = make_output(f"{victoria.addr}/b?{FAST}&apiVersion=2")
    out.start()
    feed(out, emitter, 100)
    victoria.stop()
    feed(out, emitter, 200)
    assert wait_until(lambda: out._delivery.failing)
    victoria.start()
    feed(out, emitter, 100)
    out.stop(None)
    assert out.written == emitter.emitted and out.retried > 0 and out.undelivered == 0
    assert wait_until(lambda: sum(stored(victoria).values()) == emitter.emitted)
