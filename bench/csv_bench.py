"""Micro-benchmark of the csv output's write path: CPU cost per sample.

Feeds k6-shaped traffic (per iteration: one 9-sample HTTP container and one
4-sample iteration-end container, a few URLs/statuses, times rising ~5 µs
apart) through ``CsvOutput`` exactly as the engine would (add_samples every
"50 ms" worth, flusher thread writes), and reports CPU µs per sample for the
formatter alone and for the whole output (plain file, gzip).

\b
    python bench/csv_bench.py [--iterations 100000]
"""

from __future__ import annotations

import os
import tempfile
import time

import click
from horde.metrics import DEFAULT_SYSTEM_TAGS, BuiltinMetrics, ConnectedSamples, MetricRegistry, TagSet
from horde.output import Params
from horde_out_csv import CsvOutput
from horde_out_csv.rows import RowFormatter


def traffic(n_iterations: int) -> list:
    b = BuiltinMetrics(MetricRegistry())
    base = TagSet.of(scenario="default", group="", testid="bench")
    req_tags = [
        base.with_tags(
            {
                "method": "GET",
                "url": f"http://127.0.0.1:8080/{p}",
                "name": f"http://127.0.0.1:8080/{p}",
                "status": s,
                "proto": "HTTP/1.1",
                "expected_response": "true" if s == "200" else "false",
            }
        )
        for p in ("", "a", "b", "c")
        for s in ("200", "404")
    ]
    t = 1_795_303_223_000_000_000
    out = []
    for i in range(n_iterations):
        t += 5_000
        out.append(
            ConnectedSamples(
                b.http_request,
                (1.0, 0.19 + i % 7 / 100, 0.01, 0.0, 0.0, 0.02, 0.15, 0.02, 0.0),
                t,
                req_tags[i % len(req_tags)],
            )
        )
        out.append(ConnectedSamples(b.iteration_end, (151.0, 224.0, 0.4 + i % 5 / 10, 1.0), t + 1_000, base))
    return out


def per_sample_us(cpu_s: float, samples: int) -> float:
    return cpu_s / samples * 1e6


@click.command(help=__doc__, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--iterations", type=int, default=100_000, show_default=True, help="iterations of traffic to write")
def main(iterations: int) -> None:
    """Formats and writes the traffic, printing the cost per sample of each stage."""
    containers = traffic(iterations)
    samples = sum(len(c.values) for c in containers)
    batches = [containers[i : i + 2000] for i in range(0, len(containers), 2000)]
    print(f"{samples} samples in {len(containers)} containers, {len(batches)} batches")

    f = RowFormatter(DEFAULT_SYSTEM_TAGS, binary=True)  # as for a file
    c0 = time.process_time()
    size = sum(len(f.rows(b)) for b in batches)
    fmt_us = per_sample_us(time.process_time() - c0, samples)
    print(f"format only:       {fmt_us:6.2f} µs/sample  ({size / samples:.0f} B/row)")

    with tempfile.TemporaryDirectory() as tmp:
        for name in ("out.csv", "out.csv.gz"):
            path = os.path.join(tmp, name)
            out = CsvOutput(Params("csv", config_argument=f"fileName={path},saveInterval=200ms"))
            out.start()
            c0, w0 = time.process_time(), time.perf_counter()
            add_cpu = 0.0
            for b in batches:
                a0 = time.thread_time()
                out.add_samples(b)
                add_cpu += time.thread_time() - a0
            out.stop(None)
            cpu, wall = time.process_time() - c0, time.perf_counter() - w0
            print(
                f"output {name:11s} {per_sample_us(cpu, samples):6.2f} µs/sample CPU, "
                f"add_samples {per_sample_us(add_cpu, samples) * 1000:6.1f} ns/sample on the caller, "
                f"{samples / wall / 1000:6.0f}k samples/s wall, {os.path.getsize(path) / samples:.1f} B/sample on disk"
            )


if __name__ == "__main__":
    main()
