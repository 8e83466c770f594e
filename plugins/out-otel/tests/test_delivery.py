"""Delivery through faults: receiver outages, retryable and refusing answers, the stop deadline, TLS, headers."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import grpc
import pytest
from conftest import CountingTarget
from horde.metrics import BuiltinMetrics, ConnectedSamples, MetricRegistry, TagSet
from horde.output import Params
from horde.testing import make_self_signed_cert
from horde_out_otel import OpenTelemetryOutput
from receiver import Receiver, final_series

REQUEST_VALUES = (1.0, 12.5, 0.2, 0.1, 0.0, 0.3, 11.0, 1.2, 0.0)


class Requests:
    """Containers of one HTTP request each, as the engine emits them."""

    def __init__(self) -> None:
        self.builtin = BuiltinMetrics(MetricRegistry())
        self.tags = TagSet.of(
            {
                "scenario": "default",
                "method": "GET",
                "status": "200",
                "url": "http://t/",
                "name": "http://t/",
                "group": "",
            }
        )
        self.sent = 0

    def batch(self, n: int) -> list[ConnectedSamples]:
        self.sent += n
        now = time.time_ns()
        return [ConnectedSamples(self.builtin.http_request, REQUEST_VALUES, now + i, self.tags) for i in range(n)]


def _env(receiver: Receiver, protocol: str, tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        "K6_OTEL_EXPORTER_PROTOCOL": protocol,
        "K6_OTEL_GRPC_EXPORTER_ENDPOINT": receiver.grpc_endpoint,
        "K6_OTEL_GRPC_EXPORTER_INSECURE": "true",
        "K6_OTEL_HTTP_EXPORTER_ENDPOINT": receiver.http_endpoint,
        "K6_OTEL_HTTP_EXPORTER_INSECURE": "true",
        "K6_OTEL_FLUSH_INTERVAL": "50ms",
        "K6_OTEL_EXPORT_INTERVAL": "100ms",
        "K6_OTEL_SERVICE_NAME": "svc",
        "HORDE_OTEL_RETRY_INTERVAL": "50ms",
        "HORDE_OTEL_MAX_RETRY_INTERVAL": "200ms",
        "HORDE_OTEL_TIMEOUT": "2s",
        "HORDE_OTEL_SPOOL_DIR": str(tmp_path / "spool"),
    }
    env.update(extra)
    return env


def _output(env: dict[str, str]) -> OpenTelemetryOutput:
    return OpenTelemetryOutput(Params("opentelemetry", environment=env))


def _http_reqs(receiver: Receiver) -> float:
    return sum(s.value for s in final_series(receiver.of_service("svc"))["http_reqs"].values())


@pytest.mark.parametrize("protocol", ["grpc", "http/protobuf"])
def test_an_outage_loses_nothing(protocol, receiver: Receiver, tmp_path):
    out = _output(_env(receiver, protocol, tmp_path))
    reqs = Requests()
    out.start()
    out.add_samples(reqs.batch(100))
    time.sleep(0.4)
    receiver.stop()  # down: exports queue up and are retried
    for _ in range(10):
        out.add_samples(reqs.batch(50))
        time.sleep(0.1)
    receiver.start()
    out.add_samples(reqs.batch(30))
    out.stop(None)
    counts = out.counts
    assert counts is not None
    assert counts.dropped == 0 and counts.waiting == 0
    assert counts.retried > 0 and counts.failed_sends > 0
    # every export queued arrived, in order, and the last holds every request; delivery is at least
    # once (an export the receiver took just as it went down is sent again): duplicates follow their original
    got = receiver.of_service("svc")
    bodies = [r.request.SerializeToString() for r in got]
    distinct = [b for i, b in enumerate(bodies) if i == 0 or b != bodies[i - 1]]
    assert len(distinct) == len(set(bodies)) == out.exports
    assert [_reqs_of(r) for r in got] == sorted(_reqs_of(r) for r in got)
    assert _http_reqs(receiver) == reqs.sent == 630
    assert out.report()["dropped"] == 0 and out.report()["written"] == counts.written


def _reqs_of(rec) -> float:
    return sum(s.value for s in final_series([rec])["http_reqs"].values())


@pytest.mark.parametrize(
    ("protocol", "fail"), [("http/protobuf", 503), ("http/protobuf", 429), ("grpc", grpc.StatusCode.UNAVAILABLE)]
)
def test_retryable_answers_are_retried(protocol, fail, receiver: Receiver, tmp_path):
    receiver.fail = fail
    out = _output(_env(receiver, protocol, tmp_path))
    reqs = Requests()
    out.start()
    out.add_samples(reqs.batch(20))
    deadline = time.monotonic() + 10
    while receiver.refused < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    receiver.fail = None
    out.stop(None)
    assert receiver.refused >= 3
    assert out.counts is not None and out.counts.dropped == 0 and out.counts.retried > 0
    assert _http_reqs(receiver) == 20


@pytest.mark.parametrize(
    ("protocol", "fail", "reason"),
    [("http/protobuf", 400, "HTTP 400"), ("grpc", grpc.StatusCode.INVALID_ARGUMENT, "gRPC INVALID_ARGUMENT")],
)
def test_refused_exports_are_named_and_counted(protocol, fail, reason, receiver: Receiver, tmp_path, caplog):
    receiver.fail = fail
    out = _output(_env(receiver, protocol, tmp_path))
    out.start()
    out.add_samples(Requests().batch(5))
    out.stop(None)
    counts = out.counts
    assert counts is not None and counts.written == 0 and counts.retried == 0
    assert counts.dropped > 0 and dict(counts.dropped_reasons) == {reason: counts.dropped}
    assert out.report()["dropped"] == counts.dropped
    assert reason in caplog.text


def test_stop_ends_by_its_deadline_and_counts_the_undelivered(tmp_path):
    receiver = Receiver()  # never started: nothing listens
    env = _env(receiver, "http/protobuf", tmp_path, HORDE_OTEL_STOP_TIMEOUT="1s")
    out = _output(env)
    out.start()
    out.add_samples(Requests().batch(10))
    started = time.monotonic()
    out.stop(None)
    assert time.monotonic() - started < 10
    assert out.counts is not None and out.counts.written == 0 and out.counts.dropped > 0
    assert out.report()["dropped"] == out.counts.dropped


def test_headers_and_basic_auth_reach_the_receiver(receiver: Receiver, tmp_path):
    for protocol in ("http/protobuf", "grpc"):
        env = _env(
            receiver,
            protocol,
            tmp_path,
            K6_OTEL_HEADERS="X-Scope-OrgID=tenant%201,x-api-key=s3cret",
            K6_OTEL_HTTP_EXPORTER_USERNAME="user",
            K6_OTEL_HTTP_EXPORTER_PASSWORD="pw",
        )
        out = _output(env)
        out.start()
        out.add_samples(Requests().batch(1))
        out.stop(None)
    http_rec = [r for r in receiver.received if r.protocol == "http"][-1]
    grpc_rec = [r for r in receiver.received if r.protocol == "grpc"][-1]
    assert http_rec.headers["x-scope-orgid"] == "tenant 1" and http_rec.headers["x-api-key"] == "s3cret"
    assert http_rec.headers["authorization"] == "Basic dXNlcjpwdw=="
    assert http_rec.headers["content-type"] == "application/x-protobuf"
    assert grpc_rec.headers["x-scope-orgid"] == "tenant 1" and grpc_rec.headers["x-api-key"] == "s3cret"


def test_tls_with_the_servers_ca(tmp_path):
    cert, key = make_self_signed_cert(str(tmp_path), hosts=["127.0.0.1"])
    receiver = Receiver().start(tls=(cert, key))
    try:
        for protocol in ("http/protobuf", "grpc"):
            env = _env(receiver, protocol, tmp_path, K6_OTEL_TLS_CERTIFICATE=cert)
            del env["K6_OTEL_GRPC_EXPORTER_INSECURE"], env["K6_OTEL_HTTP_EXPORTER_INSECURE"]
            out = _output(env)
            assert out.config.target.startswith(("https://", "grpcs://"))
            out.start()
            out.add_samples(Requests().batch(3))
            out.stop(None)
            assert out.counts is not None and out.counts.dropped == 0, protocol
        assert {r.protocol for r in receiver.received} == {"http", "grpc"}
        # without the CA the certificate is not trusted: nothing is written, and stop still ends
        env = _env(receiver, "http/protobuf", tmp_path, HORDE_OTEL_STOP_TIMEOUT="1s")
        del env["K6_OTEL_HTTP_EXPORTER_INSECURE"]
        out = _output(env)
        out.start()
        out.add_samples(Requests().batch(3))
        out.stop(None)
        assert out.counts is not None and out.counts.written == 0
        assert "CERTIFICATE_VERIFY_FAILED" in out._delivery.last_error  # type: ignore[union-attr]
    finally:
        receiver.stop()


def test_horde_run_through_an_outage_loses_nothing(receiver: Receiver, tmp_path):
    """``horde run`` while the receiver is down for 3 s mid-run: the last export holds every request."""
    target = CountingTarget()
    script = tmp_path / "script.py"
    script.write_text(
        "from horde import http, env, sleep\n"
        'options = {"vus": 2, "duration": "5s"}\n'
        "async def default(data):\n"
        '    await http.get(env["TARGET"] + "/")\n'
        "    await sleep(0.05)\n"
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("K6_", "HORDE_", "OTEL_"))}
    env = {**clean, **_env(receiver, "grpc", tmp_path)}
    args = [sys.executable, "-c", "import sys; from horde.cli import main; sys.exit(main())"]
    args += ["run", "--quiet", "--no-summary", "-e", f"TARGET={target.url}", "-o", "opentelemetry", str(script)]
    proc = subprocess.Popen(args, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(1.0)
        receiver.stop()
        time.sleep(3.0)
        receiver.start()
        _, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        target.stop()
    assert proc.returncode == 0, stderr[-3000:]
    assert target.counts["/"] > 0
    assert _http_reqs(receiver) == target.counts["/"]


@pytest.mark.parametrize("protocol", ["grpc", "http/protobuf"])
def test_an_export_too_large_for_the_receiver_is_split(protocol, tmp_path):
    receiver = Receiver(max_bytes=20_000).start()
    try:
        out = _output(_env(receiver, protocol, tmp_path, K6_OTEL_EXPORT_INTERVAL="10s"))
        builtin = BuiltinMetrics(MetricRegistry())
        out.start()
        containers = [
            ConnectedSamples(builtin.http_request, REQUEST_VALUES, 1, TagSet.of({"url": f"http://t/{i}"}))
            for i in range(300)
        ]
        out.add_samples(containers)
        out.stop(None)
        assert out.counts is not None and out.counts.dropped == 0 and out.counts.splits > 0
        series = final_series(receiver.of_service("svc"))
        assert len(series["http_reqs"]) == 300
        assert sum(s.count for s in series["http_req_duration"].values()) == 300
        if protocol == "http/protobuf":
            assert receiver.too_large > 0
    finally:
        receiver.stop()
