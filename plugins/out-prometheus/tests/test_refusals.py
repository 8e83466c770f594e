"""What receivers refuse: out-of-order series split out and dropped with a count, 4xx named and counted, auth, TLS."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest
from horde.metrics import Metric, MetricType, Sample, TagSet
from horde.output import Params
from horde.testing import make_self_signed_cert
from horde_out_prometheus import PrometheusRWOutput
from servers import HeaderLoggingProxy, Prometheus, VictoriaMetrics

REQS = Metric("http_reqs", MetricType.COUNTER)
VUS = Metric("vus", MetricType.GAUGE)


def _output(url: str, tmp_path: Path, **env: str) -> PrometheusRWOutput:
    environment = {
        "K6_PROMETHEUS_RW_SERVER_URL": url,
        "K6_PROMETHEUS_RW_PUSH_INTERVAL": "100ms",
        "HORDE_PROMETHEUS_RW_SPOOL_DIR": str(tmp_path / "spool"),
        "HORDE_PROMETHEUS_RW_RETRY_INTERVAL": "100ms",
        **env,
    }
    return PrometheusRWOutput(Params("experimental-prometheus-rw", environment=environment))


def _run(out: PrometheusRWOutput, samples: list[Sample]) -> dict[str, int]:
    out.start()
    out.add_samples(samples)
    out.stop(None)
    return out.report()


def test_out_of_order_series_is_split_out_and_counted(prometheus: Prometheus, tmp_path: Path) -> None:
    now_ns = time.time_ns()
    tags = TagSet.of(testid="ooo")
    first = _run(_output(prometheus.write_url, tmp_path), [Sample(REQS, now_ns, 5.0, tags)])
    assert first["written"] == 1 and first["dropped"] == 0
    # the same series 10 s older, among 7 good ones: Prometheus refuses the whole request with 400
    samples = [Sample(REQS, now_ns - 10_000_000_000, 1.0, tags)]
    samples += [Sample(VUS, now_ns, float(i), TagSet.of(testid="ooo", shard=str(i))) for i in range(7)]
    second = _run(_output(prometheus.write_url, tmp_path), samples)
    assert second["written"] == 7 and second["dropped"] == 1 and second["dropped: HTTP 400"] == 1
    assert len(prometheus.series('{__name__="k6_vus", testid="ooo"}')) == 7
    assert prometheus.last_values('k6_http_reqs_total{testid="ooo"}') == [5.0]


@pytest.fixture
def vm_auth(tmp_path: Path):
    d = tmp_path / "vm-auth"
    d.mkdir()
    server = VictoriaMetrics(d, auth=("k6", "s3cret"))
    server.start()
    yield server
    server.stop()


def test_basic_auth_and_a_refusing_receiver(
    vm_auth: VictoriaMetrics, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    now_ns = time.time_ns()
    ok = _run(
        _output(vm_auth.write_url, tmp_path, K6_PROMETHEUS_RW_USERNAME="k6", K6_PROMETHEUS_RW_PASSWORD="s3cret"),
        [Sample(REQS, now_ns, 3.0, TagSet.of(testid="auth"))],
    )
    assert ok["written"] == 1 and ok["dropped"] == 0
    with caplog.at_level(logging.WARNING):
        bad = _run(
            _output(vm_auth.write_url, tmp_path, K6_PROMETHEUS_RW_USERNAME="k6", K6_PROMETHEUS_RW_PASSWORD="wrong"),
            [Sample(REQS, now_ns + 1_000_000, 3.0, TagSet.of(testid="auth")), Sample(VUS, now_ns, 1.0, TagSet.of())],
        )
    assert bad["written"] == 0 and bad["dropped"] == 2 and bad["dropped: HTTP 401"] == 2
    assert "401" in caplog.text
    deadline = time.monotonic() + 20
    while not vm_auth.export('{testid="auth"}') and time.monotonic() < deadline:
        time.sleep(0.5)
    assert [s["values"] for s in vm_auth.export('{testid="auth"}')] == [[3]]


def test_tls_with_insecure_skip_verify(tmp_path: Path) -> None:
    d = tmp_path / "vm-tls"
    d.mkdir()
    cert, key = make_self_signed_cert(str(d))
    server = VictoriaMetrics(d, tls=(cert, key))
    server.start()
    try:
        now_ns = time.time_ns()
        refused = _run(
            _output(server.write_url, tmp_path, HORDE_PROMETHEUS_RW_STOP_TIMEOUT="1s"),
            [Sample(REQS, now_ns, 1.0, TagSet.of(testid="tls"))],
        )
        assert refused["written"] == 0 and refused["dropped"] == 1
        ok = _run(
            _output(server.write_url, tmp_path, K6_PROMETHEUS_RW_INSECURE_SKIP_TLS_VERIFY="true"),
            [Sample(REQS, now_ns, 2.0, TagSet.of(testid="tls"))],
        )
        assert ok["written"] == 1 and ok["dropped"] == 0
    finally:
        server.stop()


def test_headers_and_bearer_token_reach_the_receiver(prometheus: Prometheus, tmp_path: Path) -> None:
    d = tmp_path / "proxy"
    d.mkdir()
    proxy = HeaderLoggingProxy(d, prometheus.addr)
    proxy.start()
    try:
        report = _run(
            _output(
                proxy.addr + "/api/v1/write",
                tmp_path,
                K6_PROMETHEUS_RW_BEARER_TOKEN="tok3n",
                **{
                    "K6_PROMETHEUS_RW_HEADERS_X-Scope-OrgID": "tenant-7",
                    "K6_PROMETHEUS_RW_HTTP_HEADERS": "X-Extra:yes",
                },
            ),
            [Sample(REQS, time.time_ns(), 1.0, TagSet.of(testid="headers"))],
        )
    finally:
        proxy.stop()
    assert report["written"] == 1
    assert proxy.logged() == [
        [
            "POST /api/v1/write",
            "Bearer tok3n",
            "tenant-7",
            "yes",
            "snappy",
            "application/x-protobuf",
            "0.1.0",
            "204",
        ]
    ]
    assert prometheus.last_values('k6_http_reqs_total{testid="headers"}') == [1.0]
