"""Where a request's CPU goes: rungs from the bare ceiling down to horde, against one local nginx.

    python bench/request_path.py [--vus 10] [--duration 5] [--repeats 3]

Each rung adds one layer to the one before and runs as its own process, one
after another, on the same nginx (one keep-alive connection per VU, one GET
per iteration):

- ``bare``: the ceiling (scripts/bare_get.py), callbacks, no task, no metrics;
- ``task``: one asyncio task per VU awaiting a future per response;
- ``k6-minimal``: plus what k6 records of a request, in as little Python as it takes;
- ``horde-transport``: that, with horde's HTTP/1.1 transport (scripts/request_rungs.py);
- ``horde-engine``: ``horde run`` with the script sending on the VU's transport
  (engine, VU loop, iteration metrics; no ``http.get`` bookkeeping);
- ``horde``: ``horde run`` of bench/scripts/horde_get.py, the bench's own script.

Prints requests per CPU-second (medians) and each rung's share of the ceiling,
so the cost of every layer is one difference in the table. bench/run.py's
``ceiling share`` is the last row's.
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

SCRIPTS = Path(__file__).resolve().parent / "scripts"
RUNGS = ("bare", "task", "k6-minimal", "horde-transport", "horde-engine", "horde")
"""From the ceiling down: each adds one layer to the one before."""

__all__ = ["RUNGS", "ladder", "measure"]


def _command(rung: str, url: str, vus: int, duration: int, export: Path) -> list[str]:
    if rung == "bare":
        return [sys.executable, str(SCRIPTS / "bare_get.py"), url, "--vus", str(vus), "--duration", str(duration)] + [
            "--summary-export",
            str(export),
        ]
    if rung in ("task", "k6-minimal", "horde-transport"):
        script = [sys.executable, str(SCRIPTS / "request_rungs.py"), rung, url]
        return script + ["--vus", str(vus), "--duration", str(duration), "--summary-export", str(export)]
    script = SCRIPTS / ("horde_transport_only.py" if rung == "horde-engine" else "horde_get.py")
    return [tool_path("horde"), "run", str(script), "--vus", str(vus), "--duration", f"{duration}s", "--quiet"] + [
        "-e",
        f"TARGET={url}",
        "--summary-export",
        str(export),
    ]


def measure(rung: str, url: str, vus: int, duration: int, work: Path) -> dict[str, float]:
    """Requests, user and system CPU seconds and requests per CPU-second of one rung's process (and children)."""
    export = work / f"summary-{rung}.json"
    cmd = _command(rung, url, vus, duration, export)
    requests, user, system = run_counted(cmd, export, cwd=work, timeout=duration + 120)
    return {"requests": requests, "user_s": user, "sys_s": system, "per_cpu_s": requests / (user + system)}


def ladder(vus: int, duration: int, repeats: int) -> dict[str, Any]:
    """Run every rung ``repeats`` times (rung order, repetition after repetition) and print the table.

    Returns ``runs`` (rung -> its :func:`measure` results), ``medians`` (rung ->
    median requests per CPU-second) and ``nginx_requests`` (what nginx served).
    """
    runs: dict[str, list[dict[str, float]]] = {r: [] for r in RUNGS}
    with tempfile.TemporaryDirectory(prefix="horde-request-path-") as tmp:
        work = Path(tmp)
        nginx = Nginx(work / "nginx")
        nginx.start()
        try:
            served = nginx.requests()
            for _ in range(repeats):
                for rung in RUNGS:
                    runs[rung].append(measure(rung, nginx.url + "/", vus, duration, work))
            served = nginx.requests() - served - 1
        finally:
            nginx.stop()
    medians = {r: statistics.median(x["per_cpu_s"] for x in runs[r]) for r in RUNGS}
    print(f"{vus} VUs, {duration} s, medians of {repeats}; CPU of each rung's processes per request")
    print("| rung | req/CPU-s | share of bare | user µs/req | system µs/req |")
    print("|---|---:|---:|---:|---:|")
    for r in RUNGS:
        mid = sorted(runs[r], key=lambda x: x["per_cpu_s"])[len(runs[r]) // 2]
        user_us, sys_us = (1e6 * mid[k] / mid["requests"] for k in ("user_s", "sys_s"))
        share = medians[r] / medians["bare"]
        print(f"| {r} | {medians[r]:.0f} | {share:.2f} | {user_us:.1f} | {sys_us:.1f} |")
    print(f"nginx served {served} requests")
    return {"runs": runs, "medians": medians, "nginx_requests": served}


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--vus", type=int, default=10)
    p.add_argument("--duration", type=int, default=5, help="seconds per run")
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args(argv)
    ladder(args.vus, args.duration, args.repeats)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
