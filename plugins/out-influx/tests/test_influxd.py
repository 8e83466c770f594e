"""The output against a real influxd 1.x: nothing lost, k6's schema, outages, 413 splits, auth, errors."""

from __future__ import annotations

import logging
import math
import os
import random
import time
import urllib.request

import pytest
from conftest import FIXTURES
from horde.errors import UserError
from horde.metrics import BuiltinMetrics, ConnectedSamples, MetricRegistry, MetricType, Sample, TagSet
from horde.output import OutputStartError, Params
from horde.output.binding import create_output, new_plugin_manager
from horde.output.manager import Manager
from horde.output.registry import load_registry
from horde.testing import free_port
from test_lineproto import parse_line

FAST = "pushInterval=100ms&retryInterval=50ms&maxRetryInterval=400ms"


def feed(out, emitter, requests: int, per_call: int = 25) -> None:
    """Hand ``requests`` requests' containers to ``out`` the way the engine does: small lists, often."""
    for start in range(0, requests, per_call):
        batch = []
        for _ in range(min(per_call, requests - start)):
            batch.extend(emitter.request(status=200 if start % 3 else 404))
        batch.append(emitter.counter(2.5))
        out.add_samples(batch)
        out.add_samples([])
        time.sleep(0.002)


def total_points(server, db: str) -> int:
    return sum(int(s["values"][0][1]) for s in server.rows('SELECT count("value") FROM /.*/', db))


def wait_until(predicate, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_points_stored_equal_samples_emitted(influxd, make_output, emitter):
    out = make_output(f"{influxd.addr}/k6db?{FAST}&maxBatchPoints=700&concurrentWrites=3")
    out.start()
    feed(out, emitter, 1500)
    out.stop(None)
    assert influxd.count("http_reqs", "k6db") == emitter.requests == 1500
    assert total_points(influxd, "k6db") == emitter.emitted == out.written == out.emitted
    assert out.undelivered == 0 and out.undelivered_file is None
    assert out.report()["written"] == emitter.emitted


def test_database_created_at_start_with_a_name_that_needs_quoting(influxd, make_output):
    out = make_output(f"{influxd.addr}/my-db.1?{FAST}")
    out.start()
    series = influxd.rows("SHOW DATABASES", None)
    assert "my-db.1" in {v[0] for v in series[0]["values"]}
    out.stop(None)


def test_schema_matches_k6(influxd, make_output):
    """Samples of k6's sample run, written by horde, give the measurements, tag keys and fields k6's lines give."""
    lines = (FIXTURES / "k6_sample.lp").read_text()
    now = time.time_ns()
    k6_lines = []
    samples = []
    registry = MetricRegistry()
    for i, line in enumerate(lines.splitlines()):
        name, tags, fields, _ = parse_line(line)
        ts = now + i * 1000
        head = line.rsplit(" ", 1)[0]
        k6_lines.append(f"{head} {ts}")
        if "url" in fields:
            tags["url"] = fields["url"].strip('"')
        tags.setdefault("group", "")
        metric = registry.get_or_new(name, MetricType.TREND)
        samples.append(Sample(metric, ts, float(fields["value"]), TagSet.of(tags), {"vu": "1", "iter": "0"}))
    influxd.query("CREATE DATABASE k6")
    req = urllib.request.Request(
        f"{influxd.addr}/write?db=k6&precision=ns", data="\n".join(k6_lines).encode(), method="POST"
    )
    assert urllib.request.urlopen(req, timeout=10).status == 204

    out = make_output(f"{influxd.addr}/horde?{FAST}")
    out.start()
    out.add_samples(samples)
    out.stop(None)
    assert out.written == len(samples) == 30
    assert influxd.measurements("horde") == influxd.measurements("k6") >= {"http_reqs", "checks", "my_trend"}
    assert influxd.tag_keys("horde") == influxd.tag_keys("k6")
    assert influxd.tag_keys("horde")["http_reqs"] == {
        "error_code",
        "expected_response",
        "group",
        "method",
        "name",
        "page",
        "proto",
        "scenario",
        "status",
        "testid",
    }
    assert influxd.field_keys("horde") == influxd.field_keys("k6")
    assert influxd.field_keys("horde")["http_reqs"] == {"url": "string", "value": "float"}
    q = 'SELECT * FROM "http_req_duration" ORDER BY time'
    assert influxd.rows(q, "horde") == influxd.rows(q, "k6")


def test_server_stopped_mid_run_and_restarted_loses_nothing(influxd, make_output, emitter, caplog):
    caplog.set_level(logging.INFO, "horde.output.influxdb")
    out = make_output(f"{influxd.addr}/k6?{FAST}&concurrentWrites=2")
    out.start()
    feed(out, emitter, 200)
    assert wait_until(lambda: out._delivery.counts().written > 0)
    influxd.stop()
    feed(out, emitter, 300)
    assert wait_until(lambda: out._delivery.failing and out._delivery.failures >= 3)
    feed(out, emitter, 100)
    influxd.start()
    feed(out, emitter, 200)
    out.stop(None)
    assert influxd.count("http_reqs", "k6") == emitter.requests == 800
    assert total_points(influxd, "k6") == emitter.emitted == out.written
    assert out.retried > 0 and out.undelivered == 0
    warnings = [r.getMessage() for r in caplog.records if "cannot send to" in r.getMessage()]
    assert any("connection refused" in w and "errors in a row" in w and "points waiting" in w for w in warnings)
    assert any("connection to" in r.getMessage() and "restored after" in r.getMessage() for r in caplog.records)
    assert any("points written" in r.getMessage() and "retried" in r.getMessage() for r in caplog.records)


def test_outage_beyond_memory_limit_spills_to_disk_and_still_delivers(influxd, make_output, emitter, tmp_path):
    out = make_output(f"{influxd.addr}/k6?{FAST}&memoryLimit=20kB&maxBatchBytes=8kB")
    out.start()
    influxd.stop()
    feed(out, emitter, 400)
    assert wait_until(lambda: out._delivery.disk_bytes > 0)
    spool = tmp_path / "spool"
    assert [f for f in os.listdir(spool) if f.endswith(".spill")]
    assert out._delivery.memory_size <= 20_000  # the limit: batches held by the 4 writers are out of the queue
    influxd.start()
    out.stop(None)
    assert out.spilled > 0 and out.report()["spilled"] == out.spilled
    assert total_points(influxd, "k6") == emitter.emitted == out.written and out.undelivered == 0
    assert not [f for f in os.listdir(spool) if f.endswith(".spill")]


def test_small_max_body_size_413_splits_and_nothing_is_lost(influxd_factory, make_output, emitter, caplog):
    caplog.set_level(logging.INFO, "horde.output.influxdb")
    server = influxd_factory(max_body_size=30_000)
    out = make_output(f"{server.addr}/k6?{FAST}")  # default batches (5 MB) are far above the server's limit
    out.start()
    feed(out, emitter, 600)
    out.stop(None)
    assert out._delivery.counts().splits > 0
    assert any("413" in r.getMessage() and "splitting" in r.getMessage() for r in caplog.records)
    assert total_points(server, "k6") == emitter.emitted == out.written and out.undelivered == 0


def test_stop_timeout_reports_and_keeps_what_was_not_delivered(influxd, make_output, emitter, caplog):
    caplog.set_level(logging.INFO, "horde.output.influxdb")
    out = make_output(f"{influxd.addr}/k6?{FAST}&stopTimeout=500ms")
    out.start()
    feed(out, emitter, 100)
    assert wait_until(lambda: out._delivery.counts().written == emitter.emitted)
    influxd.stop()
    feed(out, emitter, 150)
    out.stop(None)
    assert out.undelivered == 150 * 10 + 6 and out.written == 100 * 10 + 4
    assert out.written + out.undelivered == out.emitted == emitter.emitted
    path = out.undelivered_file
    body = open(path, "rb").read()
    assert body.count(b"\n") == out.undelivered
    error = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert any(f"{out.undelivered} points were NOT delivered" in e and path in e and "curl" in e for e in error)
    # the file is plain line protocol: replaying it completes the data
    influxd.start()
    req = urllib.request.Request(f"{influxd.addr}/write?db=k6&precision=ns", data=body, method="POST")
    assert urllib.request.urlopen(req, timeout=10).status == 204
    assert total_points(influxd, "k6") == emitter.emitted


def test_points_the_server_refuses_are_isolated_and_reported(influxd, make_output, emitter):
    influxd.query("CREATE DATABASE k6")
    req = urllib.request.Request(
        f"{influxd.addr}/write?db=k6", data=b'my_counter value="text" %d' % time.time_ns(), method="POST"
    )
    assert urllib.request.urlopen(req, timeout=10).status == 204  # my_counter's value is a string field in this shard
    out = make_output(f"{influxd.addr}/k6?{FAST}")
    out.start()
    feed(out, emitter, 100)
    out.stop(None)
    counters = 4  # one my_counter sample per feed() call
    assert out.undelivered == counters and out.written == emitter.emitted - counters
    assert open(out.undelivered_file, "rb").read().count(b"my_counter,") == counters
    assert influxd.count("http_reqs", "k6") == 100
    assert total_points(influxd, "k6") == emitter.emitted - counters


def test_precision_ms(influxd, make_output, emitter):
    out = make_output(f"{influxd.addr}/k6?{FAST}&precision=ms")
    out.start()
    samples = emitter.request()
    out.add_samples(samples)
    out.stop(None)
    (series,) = influxd.rows('SELECT "value" FROM "checks"', "k6")
    assert series["values"][0][0] == samples[1].time // 1_000_000 * 1_000_000


def test_basic_auth_and_a_wrong_password(influxd_factory, make_output, emitter):
    server = influxd_factory(auth=("admin", "s3cret"))
    port = server.port
    bad = make_output(f"http://admin:wrong@127.0.0.1:{port}/k6?{FAST}")
    with pytest.raises(UserError) as info:
        bad.start()
    text = str(info.value)
    assert text == (
        f"InfluxDB at http://127.0.0.1:{port} refused the credentials (user 'admin'): "
        "401 Unauthorized: authorization failed"
    )
    anonymous = make_output(f"http://127.0.0.1:{port}/k6?{FAST}")
    with pytest.raises(UserError, match="refused the credentials"):
        anonymous.start()
    good = make_output(f"http://admin:s3cret@127.0.0.1:{port}/k6?{FAST}")
    good.start()
    feed(good, emitter, 50)
    good.stop(None)
    assert total_points(server, "k6") == emitter.emitted == good.written


def test_unreachable_server_is_one_clear_line(make_output):
    port = free_port()
    out = make_output(f"http://127.0.0.1:{port}/k6")
    with pytest.raises(UserError) as info:
        out.start()
    assert str(info.value) == f"cannot reach InfluxDB at http://127.0.0.1:{port}: connection refused"


def test_found_by_entry_point_and_driven_by_the_manager(influxd, emitter, tmp_path):
    registry = load_registry()
    plugin = registry.get("influxdb")
    assert plugin.provider.distribution == "horde-out-influx"
    pm = new_plugin_manager()
    params = Params(
        output_type="influxdb",
        config_argument=f"{influxd.addr}/viaman?{FAST}",
        environment={"HORDE_INFLUXDB_SPOOL_DIR": str(tmp_path)},
    )
    inst = create_output(plugin, params, pm)
    manager = Manager([inst])
    assert manager.descriptions() == [f"InfluxDBv1 ({influxd.addr})"]
    manager.start()
    for _ in range(10):
        manager.add_samples(emitter.request())
    manager.stop(None)
    assert total_points(influxd, "viaman") == emitter.emitted == inst.obj.written

    # a refused start names the output, on one line
    params = Params(output_type="influxdb", config_argument=f"http://127.0.0.1:{free_port()}/x")
    manager = Manager([create_output(plugin, params, new_plugin_manager())])
    with pytest.raises(OutputStartError) as info:
        manager.start()
    assert str(info.value).startswith("output influxdb failed to start: cannot reach InfluxDB at http://127.0.0.1:")


def test_https_with_insecure_and_a_clear_error_without(influxd_factory, make_output, emitter):
    server = influxd_factory(tls=True)
    strict = make_output(f"{server.addr}/k6?{FAST}")
    with pytest.raises(UserError) as info:
        strict.start()
    assert str(info.value) == (
        f"cannot reach InfluxDB at {server.addr}: TLS error: CERTIFICATE_VERIFY_FAILED "
        "(self-signed certificate); insecure=true (HORDE_INFLUXDB_INSECURE) skips verification"
    )
    out = make_output(f"{server.addr}/k6?{FAST}&insecure=true")
    out.start()
    feed(out, emitter, 30)
    out.stop(None)
    assert total_points(server, "k6") == emitter.emitted == out.written


def test_points_of_one_series_at_one_time_are_all_kept(influxd, make_output, emitter):
    """Two workers can end requests in the same nanosecond (and ms precision merges far more): InfluxDB
    would keep one point per series and time, so horde writes the later ones a time unit apart."""
    emitter.step_ns = 0  # every request of the same page at the very same time
    for precision, db in (("ns", "same_ns"), ("ms", "same_ms")):
        out = make_output(f"{influxd.addr}/{db}?{FAST}&precision={precision}")
        out.start()
        batch = [c for _ in range(50) for c in emitter.request()]
        out.add_samples(batch)
        out.stop(None)
        assert influxd.count("http_reqs", db) == 50, precision
        assert out.encoder.moved == 49 * 10 == out.report()["moved_to_avoid_overwrite"]


def test_fast_path_points_are_stored_as_the_per_sample_encoders(influxd, make_output):
    """Containers written by the output land in InfluxDB exactly as the lines of the per-sample encoder
    (tests/reference_encoder.py) posted as they are: values of every form, tags that need escaping."""
    from reference_encoder import ReferenceEncoder

    registry = MetricRegistry()
    b = BuiltinMetrics(registry)
    trend = registry.get_or_new("my_trend", MetricType.TREND)
    base = TagSet.of({"scenario": "default", "testid": "t"})
    tag_sets = [
        base.with_tags({"method": "GET", "name": u, "url": u, "status": s, "expected_response": "true"})
        for u in ("http://h/a b", "http://h/x,y=z", 'http://h/"é"%s')
        for s in ("200", "404")
    ]
    tag_sets.append(base.with_tags({"k k": "v,v", "q": "a=b", "pct": "100%"}))
    odd = [
        0.0,
        -0.0,
        1.0,
        42,
        1e21,
        2.5e16,
        1e-5,
        1.5e-7,
        9007199254740993,
        True,
        math.nan,
        math.inf,
        123.0,
        0.30000000000000004,
        1e15 + 0.5,
    ]
    rng = random.Random(5)
    t = time.time_ns() - 10**12
    containers = []
    for i in range(600):
        t += rng.choice([0, 1, 250_000])  # some points of one series at one time: moved apart
        tags = tag_sets[i % len(tag_sets)]
        values = [rng.uniform(1e-4, 5e-4) * 1000.0 for _ in range(9)]
        if i % 7 == 0:
            values[rng.randrange(9)] = rng.choice(odd)
        containers.append(ConnectedSamples(b.http_request, tuple(values), t, tags, {"vu": "1", "iter": str(i)}))
        containers.append(
            ConnectedSamples(
                b.iteration_end,
                (rng.randrange(100), rng.randrange(900), values[1], 1.0),
                t,
                base,
                {"vu": "1", "iter": str(i)},
            )
        )
        if i % 50 == 0:
            containers.append(Sample(trend, t, rng.choice(odd), tags))

    ref = ReferenceEncoder({"vu": "string", "iter": "string", "url": "string"})
    body = b"".join(batch.body for batch in ref.batches(containers))
    influxd.query("CREATE DATABASE ref")
    req = urllib.request.Request(f"{influxd.addr}/write?db=ref&precision=ns", data=body, method="POST")
    assert urllib.request.urlopen(req, timeout=10).status == 204

    out = make_output(f"{influxd.addr}/horde?{FAST}")
    out.start()
    for start in range(0, len(containers), 100):
        out.add_samples(containers[start : start + 100])
    out.stop(None)
    assert out.written == body.count(b"\n") == total_points(influxd, "ref") > 7000
    assert (out.encoder.invalid, out.encoder.moved) == (ref.invalid, ref.moved) and ref.moved > 0
    assert influxd.measurements("horde") == influxd.measurements("ref")
    for m in influxd.measurements("ref"):
        q = f'SELECT * FROM "{m}" ORDER BY time'
        assert influxd.rows(q, "horde") == influxd.rows(q, "ref"), m
