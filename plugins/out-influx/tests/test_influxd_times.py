"""In a real influxd, every sample is stored at its own time; points InfluxDB would merge are all kept.

InfluxDB's series is measurement + tag set: two points that differ only in a
field (``url`` by default) at one timestamp are one point, the later one
winning. The output moves such a point one time unit later (until free), and
only such a point.
"""

from __future__ import annotations

import random
import time
import urllib.request

import pytest
from horde.metrics import BuiltinMetrics, ConnectedSamples, MetricRegistry, Sample, TagSet

FAST = "pushInterval=100ms&retryInterval=50ms&maxRetryInterval=400ms"
DIVISOR = {"ns": 1, "ms": 1_000_000, "s": 1_000_000_000}
TAGS = {
    "scenario": "default",
    "testid": "t1",
    "method": "GET",
    "name": "product",
    "proto": "HTTP/1.1",
    "status": "200",
    "expected_response": "true",
    "group": "",
}


def stored(influxd, db: str, measurement: str) -> list[dict]:
    """Every point of ``measurement`` as a dict of its columns (``time`` in ns), in time order."""
    out = []
    for series in influxd.rows(f'SELECT * FROM "{measurement}" ORDER BY time', db):
        out += [dict(zip(series["columns"], row)) for row in series["values"]]
    return out


def requests_at_one_time(t: int, n: int) -> tuple[BuiltinMetrics, list]:
    """``n`` requests with the same tags and time, differing only in ``url`` (a field), each with a check."""
    b = BuiltinMetrics(MetricRegistry())
    containers: list = []
    for i in range(n):
        url = f"http://127.0.0.1:8080/product/{i}"
        values = (1.0, 10.0 + i, 0.01, 0.0, 0.0, 0.02, 9.0 + i, 0.5, 0.0)
        containers.append(
            ConnectedSamples(b.http_request, values, t, TagSet.of({**TAGS, "url": url}), {"vu": str(i), "iter": "0"})
        )
        containers.append(Sample(b.checks, t, float(i % 2), TagSet.of({**TAGS, "check": "ok"})))
    return b, containers


@pytest.mark.parametrize("precision", ["ns", "ms", "s"])
def test_points_differing_only_in_url_at_one_time_are_all_read_back(influxd, make_output, precision):
    n = 40
    t = time.time_ns() - 3600 * 10**9
    b, containers = requests_at_one_time(t, n)
    unit = t // DIVISOR[precision]
    db = f"same_{precision}"

    # what InfluxDB does with them as they are: one point left per measurement
    influxd.query(f"CREATE DATABASE raw_{precision}")
    body = "".join(
        f'http_reqs,method=GET,name=product,scenario=default url="http://h/{i}",value=1 {unit}\n' for i in range(n)
    ).encode()
    req = urllib.request.Request(
        f"{influxd.addr}/write?db=raw_{precision}&precision={precision}", data=body, method="POST"
    )
    assert urllib.request.urlopen(req, timeout=10).status == 204
    assert influxd.count("http_reqs", f"raw_{precision}") == 1

    out = make_output(f"{influxd.addr}/{db}?{FAST}&precision={precision}")
    out.start()
    out.add_samples(containers)
    out.stop(None)
    assert out.written == n * 10 and out.undelivered == 0
    assert out.report()["moved_to_avoid_overwrite"] == (n - 1) * 10 == out.encoder.moved

    step = DIVISOR[precision]
    for metric in b.http_request:
        rows = stored(influxd, db, metric.name)
        # every request is there, with its url and value, a time unit after the one before
        assert [r["url"] for r in rows] == [f"http://127.0.0.1:8080/product/{i}" for i in range(n)], metric.name
        assert [r["time"] for r in rows] == [(unit + i) * step for i in range(n)]
        want = [c.values[b.http_request.index(metric)] for c in containers[::2]]
        assert [r["value"] for r in rows] == want
    checks = stored(influxd, db, "checks")
    assert [r["value"] for r in checks] == [float(i % 2) for i in range(n)]
    assert [r["time"] for r in checks] == [(unit + i) * step for i in range(n)]


def test_out_of_order_samples_keep_their_exact_time(influxd, make_output):
    """Two streams (as from two worker processes) interleaved out of order: nothing collides, nothing moves,
    every stored time is the sample's time to the nanosecond."""
    rng = random.Random(11)
    b = BuiltinMetrics(MetricRegistry())
    tags = TagSet.of({**TAGS, "url": "http://127.0.0.1:8080/product"})
    start = time.time_ns() - 600 * 10**9  # read once: two readings can be an odd number of ns apart
    clocks = [start, start + 1]
    out = make_output(f"{influxd.addr}/ooo?{FAST}")
    out.start()
    sent: list[int] = []
    for _ in range(20):
        for w in (0, 1):
            flush = []
            for _ in range(30):
                clocks[w] += rng.randrange(2, 300_000, 2)  # the streams never meet: one even, one odd
                flush.append(Sample(b.http_reqs, clocks[w], 1.0, tags))
                sent.append(clocks[w])
            out.add_samples(flush)
    out.stop(None)
    assert out.encoder.moved == 0 and "moved_to_avoid_overwrite" not in out.report()
    assert [r["time"] for r in stored(influxd, "ooo", "http_reqs")] == sorted(sent)
