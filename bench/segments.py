"""Time to compute execution segments for many instances (issue 16: 1,000 instances).

For ``--instances N`` equal instances (``--instance I/N``), measures the
wall time to build the striped sequence, the tuple of every instance, and
the scaled scenario set of every instance (the k6 scenarios a typical test
has: shared-iterations, per-vu-iterations, constant-vus, ramping-vus and
both arrival rates, cut with :func:`horde.engine.segment.segment_scenarios`).
This is the whole fleet's work on one machine (the striped sequence is
built once and shared); a real instance computes only its own, from
nothing, which is reported too ("one instance alone"). Also checks that the
instances' shares add up to the whole test.

\b
    python bench/segments.py [--instances 1000] [--json]
"""

from __future__ import annotations

import json
import time
from typing import Any

import click
from horde.engine.scenarios import scenarios_from_options
from horde.engine.segment import segment_scenarios
from horde.segments import SegmentSequence, Share, execution_tuple, instance_segment

TYPICAL = {
    "scenarios": {
        "si": {"executor": "shared-iterations", "vus": 5000, "iterations": 1_000_000},
        "pv": {"executor": "per-vu-iterations", "vus": 3000, "iterations": 10},
        "cv": {"executor": "constant-vus", "vus": 2000, "duration": "10m"},
        "rv": {
            "executor": "ramping-vus",
            "startVUs": 0,
            "stages": [{"duration": "5m", "target": 10000}, {"duration": "5m", "target": 0}],
        },
        "car": {"executor": "constant-arrival-rate", "rate": 50000, "duration": "10m", "preAllocatedVUs": 4000},
        "rar": {
            "executor": "ramping-arrival-rate",
            "preAllocatedVUs": 3000,
            "maxVUs": 6000,
            "stages": [{"duration": "10m", "target": 80000}],
        },
    }
}


def measure(instances: int) -> dict[str, Any]:
    """Seconds to compute every instance's tuple and scaled scenarios, and a check of the totals."""
    scenarios = scenarios_from_options(TYPICAL)
    _segments_cache_clear()
    t0 = time.perf_counter()
    tuples = []
    for i in range(1, instances + 1):
        segment, sequence = instance_segment(i, instances)
        tuples.append(execution_tuple(segment, sequence))
    t1 = time.perf_counter()
    parts = [segment_scenarios(scenarios, Share((t,))) for t in tuples]
    t2 = time.perf_counter()
    cold = []
    for i in range(1, instances + 1, max(1, instances // 10)):  # one instance alone, as in its own process
        _segments_cache_clear()
        c0 = time.perf_counter()
        segment, sequence = instance_segment(i, instances)
        segment_scenarios(scenarios, Share((execution_tuple(segment, sequence),)))
        cold.append(time.perf_counter() - c0)
    vus = sum(s.max_vus_needed for p in parts for s in p)
    iterations = sum(s.iterations for p in parts for s in p if s.executor == "shared-iterations")
    whole = sum(s.max_vus_needed for s in scenarios)
    return {
        "instances": instances,
        "tuples_s": round(t1 - t0, 4),
        "scenarios_s": round(t2 - t1, 4),
        "total_s": round(t2 - t0, 4),
        "per_instance_ms": round((t2 - t0) / instances * 1000, 4),
        "one_instance_cold_ms": round(sum(cold) / len(cold) * 1000, 3),
        "max_vus_sum": vus,
        "max_vus_whole": whole,
        "shared_iterations_sum": iterations,
        "ok": vus == whole and iterations == TYPICAL["scenarios"]["si"]["iterations"],
    }


def _segments_cache_clear() -> None:
    from horde import segments

    segments._striped.cache_clear()


@click.command()
@click.option("--instances", default=1000, show_default=True, help="Equal instances (segments) to compute.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def main(instances: int, as_json: bool) -> None:
    """Time the execution segments of ``--instances`` instances."""
    result = measure(instances)
    if as_json:
        click.echo(json.dumps(result))
        return
    click.echo(
        f"{instances} instances: tuples {result['tuples_s']:.3f}s, scaled scenarios {result['scenarios_s']:.3f}s, "
        f"total {result['total_s']:.3f}s ({result['per_instance_ms']:.3f} ms per instance; one instance alone, "
        f"from nothing: {result['one_instance_cold_ms']:.1f} ms); "
        f"shares add up: {'yes' if result['ok'] else 'NO'}"
    )
    if str(SegmentSequence.even(1)) != "0,1":  # pragma: no cover - a sanity check of the import
        raise SystemExit(1)


if __name__ == "__main__":
    main()
