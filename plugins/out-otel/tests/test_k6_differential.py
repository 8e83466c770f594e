"""Differential: real k6 v1.1.0's ``experimental-opentelemetry`` and horde's ``opentelemetry`` into one receiver.

The same receiver (decoding with ``opentelemetry-proto``) takes, in one test,
what k6 sends for a script and what horde sends for the equivalent script,
over gRPC and over HTTP/protobuf. Metric names, types, temporality,
monotonicity, value kinds, units and attribute names must match, and the
counts must equal the requests the target served.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from opentelemetry.proto.metrics.v1 import metrics_pb2
from receiver import Receiver, final_series, resource, scope_names, summed_series

HORDE = [sys.executable, "-c", "import sys; from horde.cli import main; sys.exit(main())"]
ITERATIONS = 24

K6_SCRIPT = f"""
import http from "k6/http";
import {{ check, group, sleep }} from "k6";
import {{ Counter, Gauge }} from "k6/metrics";
const items = new Counter("cart_items");
const size = new Gauge("cart_size", true);
export const options = {{ vus: 3, iterations: {ITERATIONS} }};
export default function () {{
  group("shop", function () {{
    const res = http.get(__ENV.TARGET + "/k6");
    check(res, {{ "status is 200": (r) => r.status === 200 }});
    items.add(2);
    size.add(120);
  }});
  sleep(0.25);
}}
"""

HORDE_SCRIPT = f"""
from horde import Counter, Gauge, check, env, group, http, sleep

items = Counter("cart_items")
size = Gauge("cart_size", True)
options = {{"vus": 3, "iterations": {ITERATIONS}}}

async def default(data):
    with group("shop"):
        res = await http.get(env["TARGET"] + "/horde")
        check(res, {{"status is 200": lambda r: r.status == 200}})
        items.add(2)
        size.add(120)
    await sleep(0.25)
"""

# k6 v1.1.0 names the protocol K6_OTEL_EXPORTER_TYPE; horde also reads it
PROTOCOLS = {
    "grpc": lambda r: {
        "K6_OTEL_EXPORTER_TYPE": "grpc",
        "K6_OTEL_GRPC_EXPORTER_ENDPOINT": r.grpc_endpoint,
        "K6_OTEL_GRPC_EXPORTER_INSECURE": "true",
    },
    "http": lambda r: {
        "K6_OTEL_EXPORTER_TYPE": "http",
        "K6_OTEL_HTTP_EXPORTER_ENDPOINT": r.http_endpoint,
        "K6_OTEL_HTTP_EXPORTER_INSECURE": "true",
    },
}


DELTA = metrics_pb2.AGGREGATION_TEMPORALITY_DELTA
HORDE_NAMES = {"grpc": "opentelemetry", "http": "experimental-opentelemetry"}


def _env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("K6_", "HORDE_", "OTEL_"))}
    env.update(K6_OTEL_EXPORT_INTERVAL="300ms", K6_OTEL_FLUSH_INTERVAL="100ms", K6_NO_USAGE_REPORT="true")
    env.update(extra)
    return env


def _run(args: list[str], env: dict[str, str], cwd) -> None:
    proc = subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"{args[0]} exited {proc.returncode}\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"


def _shape(series: dict) -> dict[str, tuple]:
    """Per metric: kind, unit, monotonicity, temporality, value kind, and the attribute names of its series."""
    out = {}
    for name, per in series.items():
        first = next(iter(per.values()))
        keys = frozenset(k for attrs in per for k, _ in attrs)
        out[name] = (first.kind, first.unit, first.monotonic, first.temporality, first.value_kind, keys)
    return out


def _bounds(exports) -> set[tuple[str, tuple[float, ...]]]:
    return {
        (m.name, tuple(dp.explicit_bounds))
        for r in exports
        for rm in r.request.resource_metrics
        for sm in rm.scope_metrics
        for m in sm.metrics
        if m.WhichOneof("data") == "histogram"
        for dp in m.histogram.data_points
    }


def _total(series: dict, name: str) -> float:
    return sum(s.value if s.kind != "histogram" else s.count for s in series.get(name, {}).values())


def _run_both(
    k6_bin: str, receiver: Receiver, target: str, protocol: str, tmp_path, extra: dict[str, str]
) -> tuple[list, list]:
    """Run the k6 script through k6 and the horde script through horde into ``receiver``; their exports."""
    conf = {**PROTOCOLS[protocol](receiver), **extra}
    (tmp_path / "script.js").write_text(K6_SCRIPT)
    (tmp_path / "script.py").write_text(HORDE_SCRIPT)
    _run(
        [k6_bin, "run", "--quiet", "--no-summary", "-e", target, "-o", "experimental-opentelemetry", "script.js"],
        _env({**conf, "K6_OTEL_SERVICE_NAME": "k6-ref"}),
        tmp_path,
    )
    _run(
        # over HTTP through the alias k6 v1.1.0 knows the output by
        [*HORDE, "run", "--quiet", "--no-summary", "-e", target, "-o", HORDE_NAMES[protocol], "script.py"],
        _env({**conf, "K6_OTEL_SERVICE_NAME": "horde-run"}),
        tmp_path,
    )
    k6_exports, horde_exports = receiver.of_service("k6-ref"), receiver.of_service("horde-run")
    assert k6_exports and horde_exports
    assert {r.protocol for r in k6_exports + horde_exports} == {"grpc" if protocol == "grpc" else "http"}
    return k6_exports, horde_exports


@pytest.mark.parametrize("protocol", sorted(PROTOCOLS))
def test_k6_and_horde_send_the_same_metrics(protocol, receiver: Receiver, counting_target, k6_bin, tmp_path):
    target = f"TARGET={counting_target.url}"
    k6_exports, horde_exports = _run_both(k6_bin, receiver, target, protocol, tmp_path, {})
    k6, horde = final_series(k6_exports), final_series(horde_exports)

    # the same metrics, each of the same type, temporality, value kind, unit and attribute names
    k6_shape, horde_shape = _shape(k6), _shape(horde)
    assert sorted(horde_shape) == sorted(k6_shape)
    for name in k6_shape:
        assert horde_shape[name] == k6_shape[name], name

    # the counts are the target's
    assert counting_target.counts["/k6"] == counting_target.counts["/horde"] == ITERATIONS
    # horde: every sample, exactly. k6 shuts its meter provider down before its last flush, so the
    # samples of its last flush interval (the final iterations) never leave it: at most as many.
    expected = {
        "http_reqs": ITERATIONS,
        "iterations": ITERATIONS,
        "http_req_duration": ITERATIONS,
        "checks.total": ITERATIONS,
        "checks.occurred": ITERATIONS,
        "http_req_failed.total": ITERATIONS,
        "cart_items": 2 * ITERATIONS,
    }
    assert {name: _total(horde, name) for name in expected} == expected
    assert _total(k6, "http_reqs") == ITERATIONS  # a sleep follows each request: flushed in time
    for name, n in expected.items():
        assert 0 < _total(k6, name) <= n, name
    for series in (k6, horde):
        assert "http_req_failed.occurred" not in series  # no failure: the SDK exports no series
        assert {s.value for s in series["cart_size"].values()} == {120.0}
    # attribute values agree too, but for the URL each side requested
    for name in ("http_reqs", "checks.total"):
        k6_attrs = {frozenset((k, v.replace("/k6", "/")) for k, v in a) for a in k6[name]}
        horde_attrs = {frozenset((k, v.replace("/horde", "/")) for k, v in a) for a in horde[name]}
        assert horde_attrs == k6_attrs, name

    # trends: the same explicit bucket bounds (the SDK's defaults)
    assert _bounds(horde_exports) == _bounds(k6_exports) != set()

    # one scope named k6; the resource names the service and its version
    assert scope_names(horde_exports) == scope_names(k6_exports) == {"k6"}
    k6_res, horde_res = resource(k6_exports[-1].request), resource(horde_exports[-1].request)
    assert set(k6_res) <= set(horde_res) | {"telemetry.sdk.language", "telemetry.sdk.name", "telemetry.sdk.version"}
    assert horde_res["service.name"] == "horde-run" and horde_res["service.version"]


def test_delta_temporality_as_k6_gives_it(receiver: Receiver, counting_target, k6_bin, tmp_path):
    """OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE=delta, which k6's SDK exporters read: delta sums and
    histograms of the series that changed; summed over the exports, the run's counts."""
    target = f"TARGET={counting_target.url}"
    pref = {"OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE": "delta"}
    k6_exports, horde_exports = _run_both(k6_bin, receiver, target, "grpc", tmp_path, pref)
    k6_shape, horde_shape = _shape(final_series(k6_exports)), _shape(final_series(horde_exports))
    assert sorted(horde_shape) == sorted(k6_shape), set(horde_shape) ^ set(k6_shape)
    for name in k6_shape:
        assert horde_shape[name] == k6_shape[name], name
    assert horde_shape["http_reqs"][3] == horde_shape["http_req_duration"][3] == DELTA
    k6, horde = summed_series(k6_exports), summed_series(horde_exports)

    def total(series: dict, name: str) -> float:
        return sum(count or value for value, count in series.get(name, {}).values())

    expected = {"http_reqs": ITERATIONS, "iterations": ITERATIONS, "http_req_duration": ITERATIONS}
    expected |= {"checks.total": ITERATIONS, "checks.occurred": ITERATIONS, "cart_items": 2 * ITERATIONS}
    assert counting_target.counts["/horde"] == ITERATIONS
    assert {name: total(horde, name) for name in expected} == expected
    for name, n in expected.items():
        assert 0 < total(k6, name) <= n, name
    # a delta export holds only the series that changed: horde's exports are not all the same size
    assert len({len(r.request.SerializeToString()) for r in horde_exports}) > 1
