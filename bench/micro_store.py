"""Micro-benchmark of MetricStore.add: CPU cost per HTTP request.

Feeds k6-shaped traffic (per request: one 9-sample HTTP container tagged
``expected_response:true`` and one 4-sample iteration-end container) to a
:class:`MetricStore` in batches, as the pump thread does every 50 ms. The
store has the ``http_req_duration{expected_response:true}`` sub-metric that
``parse_thresholds`` adds to every run. Reports the median over ``--repeats``
fresh stores of CPU µs per request (``time.process_time``).

\b
    python bench/micro_store.py [--requests 100000] [--batch 1000] [--repeats 3]
"""

from __future__ import annotations

import random
import statistics
import time

import click
from horde.metrics import BuiltinMetrics, ConnectedSamples, MetricRegistry, MetricStore, TagSet
from horde.thresholds import parse_thresholds


def traffic(b: BuiltinMetrics, n_requests: int, seed: int = 1) -> list:
    """Containers of ``n_requests`` one-GET iterations from 10 VUs over 4 URLs, in emission order."""
    rng = random.Random(seed)
    lognorm = rng.lognormvariate
    vu_tags = [TagSet.of(scenario="default", group="", vu_label=str(v)) for v in range(10)]
    req_tags = [
        [
            t.with_tags(
                {
                    "method": "GET",
                    "url": f"http://127.0.0.1:8080/{p}",
                    "name": f"http://127.0.0.1:8080/{p}",
                    "status": "200",
                    "proto": "HTTP/1.1",
                    "expected_response": "true",
                }
            )
            for p in ("", "a", "b", "c")
        ]
        for t in vu_tags
    ]
    t = 1_795_303_223_000_000_000
    out = []
    for i in range(n_requests):
        vu = i % 10
        t += 5_000
        blocked, sending, waiting, receiving = lognorm(-4, 0.5), lognorm(-4, 0.3), lognorm(-1.5, 0.4), lognorm(-4, 0.3)
        out.append(
            ConnectedSamples(
                b.http_request,
                (1.0, sending + waiting + receiving, blocked, 0.0, 0.0, sending, waiting, receiving, 0.0),
                t,
                req_tags[vu][i % 4],
            )
        )
        out.append(ConnectedSamples(b.iteration_end, (151.0, 224.0, lognorm(-1, 0.4), 1.0), t + 1_000, vu_tags[vu]))
    return out


def run_once(b: BuiltinMetrics, batches: list) -> float:
    """CPU seconds one fresh store spends adding ``batches``."""
    store = MetricStore()
    add = store.add
    c0 = time.process_time()
    for batch in batches:
        add(batch)
    return time.process_time() - c0


@click.command(help=__doc__, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--requests", type=int, default=100_000, show_default=True, help="requests of traffic")
@click.option("--batch", type=int, default=1000, show_default=True, help="requests per store.add call")
@click.option("--repeats", type=int, default=3, show_default=True, help="fresh stores to time")
def main(requests: int, batch: int, repeats: int) -> None:
    """Times the store over the traffic and prints the median CPU µs per request."""
    registry = MetricRegistry()
    b = BuiltinMetrics(registry)
    parse_thresholds({}, registry)  # adds http_req_duration{expected_response:true}, as every run does
    containers = traffic(b, requests)
    step = 2 * batch
    batches = [containers[i : i + step] for i in range(0, len(containers), step)]
    times = [run_once(b, batches) for _ in range(repeats)]
    per_req = [s / requests * 1e6 for s in times]
    print(
        f"MetricStore.add: {statistics.median(per_req):.2f} µs/request (median of {repeats}: "
        f"{', '.join(f'{x:.2f}' for x in per_req)}), {requests} requests in batches of {batch}"
    )


if __name__ == "__main__":
    main()
