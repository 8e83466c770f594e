"""The output driven hook by hook, sending to a real HTTP server (the ``receiver`` fixture).

Retries, an outage (the server down, then up again on the same port), spilling to disk, refusals and
the stop deadline: in each case every sample is either delivered once, in order, or counted as dropped.
"""

from __future__ import annotations

import logging
import time

import pytest

from horde.metrics import BuiltinMetrics, ConnectedSamples, MetricRegistry, Sample, TagSet
from horde.output import AbortReason, Params, RunError

from {{ cookiecutter.__package }} import {{ cookiecutter.__class_name }}

T0 = 1_700_000_000_000_000_000
TAGS = TagSet.of({"scenario": "default", "name": "ünï, \"quoted\"=x y"})


@pytest.fixture(scope="module")
def builtin():
    return BuiltinMetrics(MetricRegistry())


def samples(builtin, first, count):
    """``count`` iterations samples whose values number them: first, first+1, ..."""
    return [Sample(builtin.iterations, T0 + i, float(i), TAGS) for i in range(first, first + count)]


def make(receiver, **settings):
    settings = {"url": receiver.url, "interval": "50ms", "retry_max": "200ms", "stop_timeout": "10s", **settings}
    arg = ",".join(f"{key}={value}" for key, value in settings.items())
    return {{ cookiecutter.__class_name }}(Params("{{ cookiecutter.name }}", config_argument=arg))


def values(receiver):
    return [record["value"] for record in receiver.records()]


def wait_until(condition, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_every_sample_arrives_once_in_order_as_one_json_line(receiver, builtin):
    out = make(receiver, batch_size=10)
    assert out.description() == f"{{ cookiecutter.name }} ({receiver.url})"
    out.start()
    out.add_samples([])
    out.add_samples(samples(builtin, 0, 25))
    request = ConnectedSamples(builtin.http_request, (1.0, 12.5, 0.1, 0.0, 0.0, 0.2, 12.2, 0.1, 0.0), T0 + 99,
                               TagSet.of({"status": "200"}), {"trace_id": "abc"})
    out.add_samples([request])
    out.stop(None)

    records = list(receiver.records())
    assert [r["value"] for r in records[:25]] == [float(i) for i in range(25)]
    assert records[0] == {"metric": "iterations", "type": "counter", "time": T0, "value": 0.0, "tags": dict(TAGS)}
    duration = next(r for r in records if r["metric"] == "http_req_duration")
    assert duration == {"metric": "http_req_duration", "type": "trend", "time": T0 + 99, "value": 12.5,
                        "tags": {"status": "200"}, "metadata": {"trace_id": "abc"}}
    assert len(records) == 25 + 9
    assert [batch_id for batch_id, _ in receiver.batches][:3] == ["1", "2", "3"] and receiver.repeats == 0
    assert out.report() == {"written": 34, "retried": 0, "spilled": 0, "dropped": 0}


def test_server_errors_are_retried_and_everything_arrives_once(receiver, builtin):
    receiver.fail_next(2, 503, retry_after=0)
    receiver.fail_next(1, 429)
    out = make(receiver, batch_size=5)
    out.start()
    out.add_samples(samples(builtin, 0, 20))
    out.stop(None)
    assert values(receiver) == [float(i) for i in range(20)]
    assert receiver.repeats == 0 and receiver.requests == 4 + 3
    report = out.report()
    assert report["written"] == 20 and report["dropped"] == 0 and report["retried"] == 5


def test_an_outage_spills_to_disk_and_replays_in_order_once(receiver, builtin, tmp_path):
    spool = tmp_path / "spool"
    spool.mkdir()
    out = make(receiver, batch_size=10, memory_limit=1, spool_dir=spool)
    out.start()
    out.add_samples(samples(builtin, 0, 30))
    assert receiver.wait_for(30) == 30

    receiver.stop()  # the endpoint goes down
    out.add_samples(samples(builtin, 30, 50))
    wait_until(lambda: out.delivery.failures >= 2)  # connection refused, retried with backoff
    out.add_samples(samples(builtin, 80, 20))
    wait_until(lambda: out.delivery.counts().spilled > 0)  # past memory_limit: on disk
    receiver.start()  # and comes back on the same port
    out.add_samples(samples(builtin, 100, 10))
    out.stop(None)

    assert values(receiver) == [float(i) for i in range(110)]
    assert receiver.repeats == 0
    report = out.report()
    assert report["written"] == 110 and report["dropped"] == 0
    assert report["retried"] >= 10 and report["spilled"] >= 10
    assert list(spool.iterdir()) == []  # spill files are removed once replayed


def test_a_rejected_batch_is_dropped_and_counted(receiver, builtin):
    receiver.fail_next(1, 400)
    out = make(receiver, batch_size=10)
    out.start()
    out.add_samples(samples(builtin, 0, 30))
    out.stop(None)
    assert values(receiver) == [float(i) for i in range(10, 30)]
    assert out.report() == {"written": 20, "retried": 0, "spilled": 0, "dropped": 10}
    assert out.counts.dropped_reasons == {"HTTP 400": 10}


def test_a_batch_too_large_is_split_and_sent_in_order(receiver, builtin):
    out = make(receiver, batch_size=40)
    out.start()
    receiver.max_body = 2500  # a sample's line is about 150 bytes: 40 of them are too many
    out.add_samples(samples(builtin, 0, 40))
    out.stop(None)
    assert values(receiver) == [float(i) for i in range(40)]
    assert all("." in batch_id for batch_id, _ in receiver.batches)
    assert out.report()["written"] == 40 and out.counts.splits >= 1


def test_a_refusing_endpoint_stops_sending_and_everything_is_counted(receiver, builtin):
    receiver.status = 401
    out = make(receiver, batch_size=10)
    out.start()
    out.add_samples(samples(builtin, 0, 30))
    out.stop(None)
    assert receiver.requests == 1
    assert out.report() == {"written": 0, "retried": 0, "spilled": 0, "dropped": 30}


def test_stop_gives_up_at_its_deadline_and_counts_what_was_lost(receiver, builtin, caplog):
    receiver.stop()
    out = make(receiver, stop_timeout="500ms")
    out.start()
    out.add_samples(samples(builtin, 0, 15))
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="horde.output.{{ cookiecutter.name }}"):
        out.stop(RunError("script error", reason=AbortReason.SCRIPT_ERROR))
    assert time.monotonic() - started < 10
    assert out.report() == {"written": 0, "retried": 15, "spilled": 0, "dropped": 15}
    assert "15 of 15 samples were not delivered" in caplog.text


def test_samples_after_stop_are_ignored(receiver, builtin):
    out = make(receiver)
    out.start()
    out.add_samples(samples(builtin, 0, 3))
    out.stop(None)
    out.add_samples(samples(builtin, 3, 3))
    out.stop(None)
    assert values(receiver) == [0.0, 1.0, 2.0]
