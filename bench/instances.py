"""Scale across instances: the same total test as 1, 2 and 4 local horde instances against nginx.

Each instance is ``horde run --instance I/N`` (its execution segment, one
worker, no REST API), all N started together; the total work is fixed
(``--vus`` and ``--iterations`` of one shared-iterations scenario, split by
the segments), so the instances together send exactly ``--iterations``
requests. Reported per N: requests nginx served, CPU seconds of all
instances (``os.wait4``: user + sys of each process tree), wall time, and
requests per CPU-second as a ratio to one instance (goal: within 5%).

Each instance is a Python process whose start (imports, script load) costs
about half a CPU-second however little it sends, so every set is also run
once with one iteration per instance, and ``net`` figures subtract that
start-up CPU: ``net req/CPU-s`` is what the instances spend per request
once running, ``req/CPU-s`` what a short test pays in total.

    python bench/instances.py                          # 20000 requests, 8 VUs, 1/2/4 instances
    python bench/instances.py --iterations 2000 --instances 1 2   # a smoke run
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from services import Nginx, tool_path  # noqa: E402

SCRIPT = Path(__file__).resolve().parent / "scripts" / "horde_get.py"
RESULTS = Path(__file__).resolve().parent / "results"
TIMEOUT = 600.0
"""Seconds a whole set of instances may run before it is killed."""


@dataclass
class Scale:
    """One measurement: ``instances`` horde processes sharing one test."""

    instances: int
    requests: int
    cpu_s: float
    wall_s: float
    exit_codes: list[int]
    startup_cpu_s: float = 0.0
    """CPU seconds of the same instances sending one request each (start, load, end)."""
    req_per_cpu_s: float = 0.0
    net_req_per_cpu_s: float = 0.0
    """Requests per CPU-second once started: requests / (cpu_s - startup_cpu_s)."""
    ratio: float = 0.0
    """net_req_per_cpu_s relative to one instance."""


def instance_command(index: int, count: int, vus: int, iterations: int, target: str) -> list[str]:
    """The command of instance ``index`` (1-based) of ``count``."""
    command = [tool_path("horde"), "run", "-q", "--no-summary", "--workers", "1", "--address", ""]
    if count > 1:
        command += ["--instance", f"{index}/{count}"]
    return command + ["--vus", str(vus), "--iterations", str(iterations), "-e", f"TARGET={target}", str(SCRIPT)]


def run_instances(count: int, vus: int, iterations: int, nginx: Nginx, workdir: Path) -> Scale:
    """Start ``count`` instances at once, wait for all, and measure them."""
    served0 = nginx.requests()
    procs = []
    t0 = time.monotonic()
    for i in range(1, count + 1):
        log = open(workdir / f"instance-{count}-{i}.log", "wb")
        procs.append(
            subprocess.Popen(
                instance_command(i, count, vus, iterations, nginx.url + "/"),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )
        log.close()
    killers = [threading.Timer(TIMEOUT, _kill, (p.pid,)) for p in procs]
    for k in killers:
        k.start()
    cpu, codes = 0.0, []
    try:
        for proc in procs:
            _, status, usage = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
            codes.append(proc.returncode)
            cpu += usage.ru_utime + usage.ru_stime
    except BaseException:
        for proc in procs:
            _kill(proc.pid)
        raise
    finally:
        for k in killers:
            k.cancel()
    wall = time.monotonic() - t0
    requests = nginx.requests() - served0 - 1  # minus the stub_status request that reads the count
    per_cpu = round(requests / cpu, 1) if cpu else 0.0
    return Scale(count, requests, round(cpu, 3), round(wall, 2), codes, req_per_cpu_s=per_cpu)


def _kill(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def measure(counts: list[int], vus: int, iterations: int) -> list[Scale]:
    """Run each number of instances in ``counts`` (one after another) against one nginx."""
    results = []
    with tempfile.TemporaryDirectory(prefix="horde-bench-instances-") as tmp, Nginx(Path(tmp)) as nginx:
        for n in counts:
            idle = run_instances(n, n, n, nginx, Path(tmp))  # one VU and one request per instance
            r = run_instances(n, vus, iterations, nginx, Path(tmp))
            r.startup_cpu_s = idle.cpu_s
            net = r.cpu_s - idle.cpu_s
            r.net_req_per_cpu_s = round(r.requests / net, 1) if net > 0 else 0.0
            results.append(r)
    base = next((r.net_req_per_cpu_s for r in results if r.instances == 1), results[0].net_req_per_cpu_s)
    for r in results:
        r.ratio = round(r.net_req_per_cpu_s / base, 3) if base else 0.0
    return results


def table(results: list[Scale]) -> str:
    """The results as a Markdown table."""
    lines = [
        "| instances | requests | CPU s | start-up CPU s | wall s | req/CPU-s | net req/CPU-s | net vs 1 instance |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r.instances} | {r.requests} | {r.cpu_s:.2f} | {r.startup_cpu_s:.2f} | {r.wall_s:.2f} "
            f"| {r.req_per_cpu_s:.0f} | {r.net_req_per_cpu_s:.0f} | {r.ratio:.3f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Measure, print the table, write bench/results/instances-<time>.json; exit 1 if a run failed."""
    parser = argparse.ArgumentParser(prog="bench/instances.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--instances", type=int, nargs="+", default=[1, 2, 4], help="numbers of instances")
    parser.add_argument("--vus", type=int, default=8, help="VUs of the whole test (split among the instances)")
    parser.add_argument("--iterations", type=int, default=20000, help="requests of the whole test")
    parser.add_argument("--results", type=Path, default=RESULTS, help="directory for the JSON results")
    a = parser.parse_args(argv)
    results = measure(a.instances, a.vus, a.iterations)
    print(table(results))
    a.results.mkdir(parents=True, exist_ok=True)
    out = a.results / f"instances-{time.strftime('%Y%m%d-%H%M%S')}.json"
    doc = {"vus": a.vus, "iterations": a.iterations, "results": [asdict(r) for r in results]}
    out.write_text(json.dumps(doc, indent=2) + "\n")
    print(f"\nwritten: {out}")
    failed = [r for r in results if any(r.exit_codes) or r.requests != a.iterations]
    for r in failed:
        print(f"{r.instances} instance(s): exit codes {r.exit_codes}, {r.requests} requests", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
