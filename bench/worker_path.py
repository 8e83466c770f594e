"""What the worker path itself costs: default workers against ``--workers 1``, the network taken out.

    python bench/worker_path.py [--vus 100] [--duration 6] [--repeats 3] [--out csv]

``bench/run.py``'s ``req/CPU-s horde/horde-1`` column measures against a local
nginx, which on a small machine competes with the worker processes for the same
cores. Here every request goes through horde's whole path but its connection
answers in-process (scripts/horde_fake_socket.py), so what differs between the
two runs is the worker path alone: the workers' local aggregation, the batches
they send and the coordinator's merge (and, with ``--out``, the samples crossing
to the coordinator's output). Prints iterations per CPU-second of all of horde's
processes per run and, per repetition, workers/one process (goal: at least 0.9).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from services import Nginx, run_counted, tool_path  # noqa: E402

SCRIPT = Path(__file__).resolve().parent / "scripts" / "horde_fake_socket.py"
OUTPUTS = ("csv", "json")
"""The outputs a comparison can run with (``--out``)."""

__all__ = ["measure", "compare", "OUTPUTS"]


def measure(target: str, workers: int, vus: int, duration: int, work: Path, out: str | None = None) -> dict[str, float]:
    """Iterations, CPU seconds (its workers included) and iterations per CPU-second of one ``horde run``."""
    export = work / f"summary-{workers}.json"
    cmd = [tool_path("horde"), "run", str(SCRIPT), "--vus", str(vus), "--duration", f"{duration}s"]
    cmd += ["--workers", str(workers), "-e", f"TARGET={target}", "--quiet", "--summary-export", str(export)]
    if out:
        cmd += ["--out", f"{out}={work / ('out.' + out)}"]
    iterations, user, system = run_counted(cmd, export, cwd=work, timeout=duration + 120)
    cpu = user + system
    return {"iterations": iterations, "cpu_s": cpu, "per_cpu_s": iterations / cpu}


def compare(vus: int, duration: int, repeats: int, out: str | None = None, workers: int = 2) -> dict[str, Any]:
    """Print both runs of each repetition and their ratio.

    Returns ``runs`` (per repetition the two :func:`measure` results), ``ratios``
    (workers over one process), their medians ``ratio``, ``one_per_cpu_s`` and
    ``workers_per_cpu_s``, and ``nginx_requests`` (what reached the server: the
    first GET of each VU of each run).
    """
    ratios, runs = [], []
    with tempfile.TemporaryDirectory(prefix="horde-worker-path-") as tmp:
        work = Path(tmp)
        nginx = Nginx(work / "nginx")
        nginx.start()
        try:
            print(f"{vus} VUs, {duration} s, output {out or 'none'}; iterations per CPU-second of all processes")
            print(f"| repeat | --workers 1 | --workers {workers} | ratio |")
            print("|---:|---:|---:|---:|")
            served = nginx.requests()
            for i in range(repeats):
                one = measure(nginx.url + "/", 1, vus, duration, work, out)
                many = measure(nginx.url + "/", workers, vus, duration, work, out)
                runs.append((one, many))
                ratios.append(many["per_cpu_s"] / one["per_cpu_s"])
                print(f"| {i + 1} | {one['per_cpu_s']:.0f} | {many['per_cpu_s']:.0f} | {ratios[-1]:.2f} |", flush=True)
            served = nginx.requests() - served - 1
        finally:
            nginx.stop()
    ratio = statistics.median(ratios)
    print(f"median --workers {workers}/--workers 1: {ratio:.2f} (goal: at least 0.9)")
    print(f"nginx served {served} requests (the first of each VU of each run)")
    return {
        "runs": runs,
        "ratios": ratios,
        "ratio": ratio,
        "one_per_cpu_s": statistics.median(one["per_cpu_s"] for one, _ in runs),
        "workers_per_cpu_s": statistics.median(many["per_cpu_s"] for _, many in runs),
        "nginx_requests": served,
    }


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--vus", type=int, default=100)
    p.add_argument("--duration", type=int, default=6, help="seconds per run")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--out", choices=OUTPUTS, default=None, help="an output (default: none)")
    p.add_argument("--workers", type=int, default=2, help="worker processes of the compared run")
    args = p.parse_args(argv)
    compare(args.vus, args.duration, args.repeats, args.out, args.workers)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
