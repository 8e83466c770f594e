"""Micro-benchmark of the influxdb output's encoding: CPU microseconds per HTTP request.

One request is what a VU emits for one GET per iteration: a 9-sample http
container and a 4-sample iteration container, with k6's default system tags,
k6's default ``tagsAsFields`` (``url`` becomes a field) and ``vu``/``iter``
metadata. Timings are full-precision floats, as horde measures them
(``perf_counter`` differences times 1000). Batches of ``--requests`` requests
go through ``LineEncoder.batches``, timed with ``time.process_time``; the
median of ``--repeat`` runs is printed.

\b
    PYTHONPATH=core:plugins/out-influx/src python plugins/out-influx/bench_encode.py [--precision ms]

For a noise-free count, run it under ``valgrind --tool=callgrind`` with two
``--rounds`` values (and ``--repeat 1``) and divide the difference in
instructions by the difference in requests. About 60% of what is left is
``repr`` of the values (the shortest digits that read back, as k6 writes
them): some 7,600 instructions for each 17-digit float, half that for one
rounded to whole nanoseconds (``0.232383``).
"""

from __future__ import annotations

import random
import statistics
import time

import click
from horde.metrics import BuiltinMetrics, ConnectedSamples, MetricRegistry, TagSet
from horde_out_influx.config import Config
from horde_out_influx.lineproto import LineEncoder


def batch(requests: int, seed: int = 1) -> list:
    """``requests`` http + iteration container pairs from 10 VUs, spread over ~0.5 s."""
    rng = random.Random(seed)
    builtin = BuiltinMetrics(MetricRegistry())
    base = {"scenario": "default", "testid": "bench"}
    url = "http://127.0.0.1:8080/"
    http_tags = TagSet.of(
        base, method="GET", name=url, url=url, proto="HTTP/1.1", status="200", expected_response="true"
    )
    iter_tags = TagSet.of(base)
    t = 1_795_303_223_537_028_460
    clock = 12_345.678
    out = []
    for i in range(requests):
        md = {"iter": str(i // 10), "vu": str(i % 10 + 1)}
        t0 = clock
        ready = t0 + rng.uniform(2e-6, 9e-6)
        sent = ready + rng.uniform(1e-5, 4e-5)
        first = sent + rng.uniform(1e-4, 5e-4)
        end = first + rng.uniform(1e-5, 6e-5)
        clock = end + rng.uniform(1e-5, 5e-5)
        s, w, r = (sent - ready) * 1000.0, (first - sent) * 1000.0, (end - first) * 1000.0
        t += rng.randrange(200_000, 800_000)
        out.append(
            ConnectedSamples(
                builtin.http_request, (1.0, s + w + r, (ready - t0) * 1000.0, 0.0, 0.0, s, w, r, 0.0), t, http_tags, md
            )
        )
        t += rng.randrange(1_000, 20_000)
        out.append(
            ConnectedSamples(
                builtin.iteration_end,
                (rng.randrange(60, 120), rng.randrange(200, 400), (clock - t0) * 1000.0, 1.0),
                t,
                iter_tags,
                md,
            )
        )
    return out


def run(precision: str, requests: int, rounds: int) -> float:
    """CPU microseconds per request of encoding ``rounds`` times one batch, each time with a new encoder
    (made before timing starts), so that every round sees the same times."""
    containers = batch(requests)
    cfg = Config(precision=precision)
    encoders = [
        LineEncoder(cfg.tags_as_fields, cfg.divisor, cfg.max_batch_bytes, cfg.max_batch_points) for _ in range(rounds)
    ]
    start = time.process_time()
    for encoder in encoders:
        for _ in encoder.batches(containers):
            pass
    spent = time.process_time() - start
    return spent / (rounds * requests) * 1e6


@click.command(help=__doc__, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--precision", type=click.Choice(["ns", "us", "ms", "s", "m", "h"]), default="ns", show_default=True)
@click.option("--requests", type=int, default=1000, show_default=True, help="requests per batch")
@click.option("--rounds", type=int, default=20, show_default=True, help="batches encoded per run")
@click.option("--repeat", type=int, default=3, show_default=True, help="runs; their median is printed")
def main(precision: str, requests: int, rounds: int, repeat: int) -> None:
    """Encodes the batch ``repeat`` times and prints the median CPU µs per request."""
    runs = [run(precision, requests, rounds) for _ in range(repeat)]
    print(
        f"precision={precision}: {statistics.median(runs):.2f} us/request (runs: {', '.join(f'{r:.2f}' for r in runs)})"
    )


if __name__ == "__main__":
    main()
