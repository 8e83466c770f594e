"""Micro-benchmark of the csv output's flush path: CPU microseconds per HTTP request.

One request is what a VU emits for one GET per iteration: a 9-sample http
container and a 4-sample iteration container, with k6's default system tags
and no metadata (``--metadata``: ``vu``/``iter``, as with those system tags
on). Batches of ``--requests`` requests go through ``CsvOutput._flush``
(format, encode, write to a temporary file), timed with ``time.process_time``;
the median of ``--repeat`` runs is printed.

    PYTHONPATH=core:plugins/out-csv/src python plugins/out-csv/bench_format.py [--time-format unix]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time

from horde.metrics import DEFAULT_SYSTEM_TAGS, BuiltinMetrics, ConnectedSamples, MetricRegistry, TagSet
from horde.output import Params

from horde_out_csv import CsvOutput


def batch(requests: int, seed: int = 1, metadata: bool = False) -> list:
    """``requests`` http + iteration container pairs, spread over ~1 s, with realistic float values;
    with ``metadata``, each pair shares a ``{"vu", "iter"}`` dict, as a VU's iteration does."""
    rng = random.Random(seed)
    builtin = BuiltinMetrics(MetricRegistry())
    base = {"scenario": "default", "testid": "bench"}
    http_tags = TagSet.of(base, method="GET", name="http://127.0.0.1:8080/", url="http://127.0.0.1:8080/",
                          proto="HTTP/1.1", status="200", expected_response="true")
    iter_tags = TagSet.of(base)
    t = 1_795_303_223_537_028_460
    out = []
    for i in range(requests):
        md = {"iter": str(i // 10), "vu": str(i % 10 + 1)} if metadata else None
        w, s, r = rng.random() * 0.2, rng.random() * 0.01, rng.random() * 0.05
        t += rng.randrange(200_000, 800_000)
        out.append(ConnectedSamples(builtin.http_request, (1.0, w + s + r, 0.0, 0.0, 0.0, s, w, r, 0.0),
                                    t, http_tags, md))
        t += rng.randrange(1_000, 20_000)
        out.append(ConnectedSamples(builtin.iteration_end, (rng.randrange(60, 120), rng.randrange(200, 400),
                                                            rng.random() * 0.5 + 0.2, 1.0), t, iter_tags, md))
    return out


def run(time_format: str, requests: int, rounds: int, metadata: bool = False) -> float:
    """CPU microseconds per request of ``rounds`` flushes of one batch each."""
    containers = batch(requests, metadata=metadata)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "out.csv")
        params = Params("csv", config_argument=f"fileName={path},saveInterval=1h,timeFormat={time_format}",
                        environment={}, script_options={"systemTags": list(DEFAULT_SYSTEM_TAGS)})
        out = CsvOutput(params)
        out.start()
        try:
            start = time.process_time()
            for _ in range(rounds):
                out.add_samples(containers)
                out._flush()
            spent = time.process_time() - start
        finally:
            out.stop(None)
    return spent / (rounds * requests) * 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--time-format", default="unix")
    ap.add_argument("--requests", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=50)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--metadata", action="store_true", help="vu/iter metadata on every container")
    a = ap.parse_args()
    runs = [run(a.time_format, a.requests, a.rounds, a.metadata) for _ in range(a.repeat)]
    print(f"{a.time_format}{' +metadata' if a.metadata else ''}: {statistics.median(runs):.2f} us/request (runs: {', '.join(f'{r:.2f}' for r in runs)})")


if __name__ == "__main__":
    main()
