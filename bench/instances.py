"""Scale across instances: the same total test as 1, 2 and 4 local horde instances against nginx.

Each instance is ``horde run --instance I/N`` (its execution segment, one
worker, no REST API), all N started together; the total work is fixed
(``--vus`` and ``--iterations`` of one shared-iterations scenario, split by
the segments), so the instances together send exactly ``--iterations``
requests. Reported per N: requests nginx served, CPU seconds of all
instances (``os.wait4``: user + sys of each process tree), wall time, and
requests per CPU-second as a ratio to one instance (goal: within 5%).

nginx runs pinned to the first CPU and every instance to the others (``--no-pin``
lets the OS place them). N instances run in two ways (``--mode``): ``apart``,
one after another, each alone on those CPUs as each pod has its own node or CPU
limit in a cluster (the goal's measure: what splitting a test costs), and
``together``, all at once on the same CPUs (what co-locating them costs on top:
the instances' interpreters take turns on one core and evict each other's
caches, ~10% on a 2-core machine). The sequence runs ``--repeat`` times,
interleaved; each row shows the repetition with the median figure, and the ratio
is the median of each repetition's ratio to its own one-instance run (the
machine's speed drifts over minutes; neighbours share the drift). The default
test (160 VUs) keeps each of 4 instances' event loops busy (40 VUs each): an
instance with only a few VUs waits on the target between responses and handles
fewer per wake-up, which costs it about a fifth of its efficiency whether it
runs alone or beside others (one instance of 10 VUs does 0.79x the requests per
CPU-second of one of 40 VUs).

Each instance is a Python process whose start (imports, script load) costs
about half a CPU-second however little it sends, so every set is also run
once with one iteration per instance, and ``net`` figures subtract that
start-up CPU: ``net req/CPU-s`` is what the instances spend per request
once running, ``req/CPU-s`` what a short test pays in total.

    python bench/instances.py                          # 200000 requests, 160 VUs, 1/2/4 instances, 3 times
    python bench/instances.py --iterations 2000 --instances 1 2 --repeat 1   # a smoke run
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from services import Nginx, tool_path  # noqa: E402

SCRIPT = Path(__file__).resolve().parent / "scripts" / "horde_get.py"
RESULTS = Path(__file__).resolve().parent / "results"
MODES = ("apart", "together")
"""How the instances of one measurement run: see :func:`run_instances`."""
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
    """net_req_per_cpu_s relative to one instance: the median over repetitions of the ratio to the one
    instance of the same repetition."""
    mode: str = "together"
    """``together``: all instances at once on the same CPUs; ``apart``: one after another."""
    all_net_req_per_cpu_s: list[float] = field(default_factory=list)
    """net_req_per_cpu_s of every repetition (the row shows the median one)."""


def instance_command(index: int, count: int, vus: int, iterations: int, target: str) -> list[str]:
    """The command of instance ``index`` (1-based) of ``count``."""
    command = [tool_path("horde"), "run", "-q", "--no-summary", "--workers", "1", "--address", ""]
    if count > 1:
        command += ["--instance", f"{index}/{count}"]
    return command + ["--vus", str(vus), "--iterations", str(iterations), "-e", f"TARGET={target}", str(SCRIPT)]


def run_instances(
    count: int,
    vus: int,
    iterations: int,
    nginx: Nginx,
    workdir: Path,
    cpus: set[int] | None = None,
    apart: bool = False,
) -> Scale:
    """Run ``count`` instances (on ``cpus`` when given) and measure them: all at once, or ``apart``,
    one after another, each alone on the CPUs as on a machine of its own."""
    served0 = nginx.requests()
    t0 = time.monotonic()
    cpu, codes = 0.0, []
    batches = [[i] for i in range(1, count + 1)] if apart else [list(range(1, count + 1))]
    for batch in batches:
        procs = [_start(i, count, vus, iterations, nginx, workdir, cpus) for i in batch]
        batch_cpu, batch_codes = _wait(procs)
        cpu += batch_cpu
        codes += batch_codes
    wall = time.monotonic() - t0
    requests = nginx.requests() - served0 - 1  # minus the stub_status request that reads the count
    per_cpu = round(requests / cpu, 1) if cpu else 0.0
    mode = "apart" if apart and count > 1 else "together"
    return Scale(count, requests, round(cpu, 3), round(wall, 2), codes, req_per_cpu_s=per_cpu, mode=mode)


def _start(
    index: int, count: int, vus: int, iterations: int, nginx: Nginx, workdir: Path, cpus: set[int] | None
) -> subprocess.Popen[bytes]:
    with open(workdir / f"instance-{count}-{index}.log", "wb") as log:
        return subprocess.Popen(
            instance_command(index, count, vus, iterations, nginx.url + "/"),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=(lambda: os.sched_setaffinity(0, cpus)) if cpus else None,
        )


def _wait(procs: list[subprocess.Popen[bytes]]) -> tuple[float, list[int]]:
    """Wait for ``procs`` (killed after :data:`TIMEOUT`); their CPU seconds and exit codes."""
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
    return cpu, codes


def _kill(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def split_cpus(pin: bool) -> tuple[set[int], set[int]] | None:
    """(nginx's CPUs, the instances' CPUs) when pinning on a machine of two CPUs or more: nginx on the
    first, every instance on the others, so that 1, 2 or 4 instances all get the same CPUs and the same
    target, and differ only in how they share them."""
    cpus = sorted(os.sched_getaffinity(0))
    if not pin or len(cpus) < 2:
        return None
    return {cpus[0]}, set(cpus[1:])


def measure(
    counts: list[int], vus: int, iterations: int, pin: bool = True, repeat: int = 1, modes: tuple[str, ...] = MODES
) -> list[Scale]:
    """Run each number of instances in ``counts`` in each mode against one nginx, the whole sequence
    ``repeat`` times (interleaved, so that a busier minute of the machine touches every count alike);
    each (count, mode) is reported by its repetition of median net requests per CPU-second."""
    split = split_cpus(pin)
    runs: dict[tuple[int, str], list[Scale]] = {}
    with tempfile.TemporaryDirectory(prefix="horde-bench-instances-") as tmp, Nginx(Path(tmp)) as nginx:
        cpus = None
        if split is not None:
            for pid in nginx.pids():
                os.sched_setaffinity(pid, split[0])
            cpus = split[1]
        for _ in range(repeat):
            for n in counts:
                for mode in modes if n > 1 else ("together",):
                    apart = mode == "apart"
                    # the same instances sending one request each: their start-up and end
                    idle = run_instances(n, n, n, nginx, Path(tmp), cpus, apart)
                    r = run_instances(n, vus, iterations, nginx, Path(tmp), cpus, apart)
                    r.startup_cpu_s = idle.cpu_s
                    net = r.cpu_s - idle.cpu_s
                    r.net_req_per_cpu_s = round(r.requests / net, 1) if net > 0 else 0.0
                    runs.setdefault((n, r.mode), []).append(r)
    results = []
    for rs in runs.values():
        r = sorted(rs, key=lambda x: x.net_req_per_cpu_s)[len(rs) // 2]
        r.all_net_req_per_cpu_s = [x.net_req_per_cpu_s for x in rs]
        r.exit_codes = [c for x in rs for c in x.exit_codes]
        wrong = [x.requests for x in rs if x.requests != iterations]
        r.requests = wrong[0] if wrong else iterations  # a repetition that missed requests shows
        results.append(r)
    # each repetition's figure against the same repetition's one instance, then the median of those
    # ratios: the machine's speed drifts over minutes, and a ratio of neighbours cancels the drift
    one = next((x for (n, _), x in runs.items() if n == 1), None)
    for r in results:
        mine = runs[(r.instances, r.mode)]
        if one is None:
            r.ratio = 0.0
            continue
        ratios = sorted(x.net_req_per_cpu_s / b.net_req_per_cpu_s for x, b in zip(mine, one) if b.net_req_per_cpu_s)
        r.ratio = round(statistics.median(ratios), 3) if ratios else 0.0
    return results


def table(results: list[Scale]) -> str:
    """The results as a Markdown table."""
    lines = [
        "| instances | run | requests | CPU s | start-up CPU s | wall s | req/CPU-s | net req/CPU-s "
        "| net vs 1 instance |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r.instances} | {r.mode} | {r.requests} | {r.cpu_s:.2f} | {r.startup_cpu_s:.2f} | {r.wall_s:.2f} "
            f"| {r.req_per_cpu_s:.0f} | {r.net_req_per_cpu_s:.0f} | {r.ratio:.3f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Measure, print the table, write bench/results/instances-<time>.json; exit 1 if a run failed."""
    parser = argparse.ArgumentParser(prog="bench/instances.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--instances", type=int, nargs="+", default=[1, 2, 4], help="numbers of instances")
    parser.add_argument("--vus", type=int, default=160, help="VUs of the whole test (split among the instances)")
    parser.add_argument("--iterations", type=int, default=200000, help="requests of the whole test")
    parser.add_argument("--results", type=Path, default=RESULTS, help="directory for the JSON results")
    parser.add_argument(
        "--mode", nargs="+", choices=MODES, default=list(MODES), help="apart, together or both (default both)"
    )
    parser.add_argument("--repeat", type=int, default=3, help="repetitions of the sequence; medians are shown")
    parser.add_argument(
        "--no-pin", action="store_true", help="let the OS place nginx and the instances (default: pinned apart)"
    )
    a = parser.parse_args(argv)
    results = measure(a.instances, a.vus, a.iterations, pin=not a.no_pin, repeat=a.repeat, modes=tuple(a.mode))
    print(table(results))
    a.results.mkdir(parents=True, exist_ok=True)
    out = a.results / f"instances-{time.strftime('%Y%m%d-%H%M%S')}.json"
    doc = {
        "vus": a.vus,
        "iterations": a.iterations,
        "pinned": split_cpus(not a.no_pin) is not None,
        "results": [asdict(r) for r in results],
    }
    out.write_text(json.dumps(doc, indent=2) + "\n")
    print(f"\nwritten: {out}")
    failed = [r for r in results if any(r.exit_codes) or r.requests != a.iterations]
    for r in failed:
        print(f"{r.instances} instance(s): exit codes {r.exit_codes}, {r.requests} requests", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
