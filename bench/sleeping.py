"""Memory at many sleeping VUs: the summed RSS of all of a tool's processes, horde (default workers) vs k6.

    python bench/sleeping.py [--vus 10000] [--duration 20]      (or: python bench/run.py --sleeping 10000)

Each tool runs a script whose VUs only sleep 1 s per iteration, for ``duration``
seconds; the RSS of the tool's process tree (horde's workers included) is
sampled every 0.2 s and its peak and end are printed, with horde/k6 (goal: at
most 0.1).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from measure import _TreeRSS  # noqa: E402
from services import tool_path  # noqa: E402

SCRIPTS = Path(__file__).resolve().parent / "scripts"

__all__ = ["compare", "measure"]


def measure(tool: str, vus: int, duration: int, work: Path) -> dict[str, float]:
    """One run of ``tool`` (horde or k6) at ``vus`` sleeping VUs: peak and end RSS of its processes (MB)."""
    script = SCRIPTS / ("horde_sleep.py" if tool == "horde" else "k6_sleep.js")
    cmd = [tool_path(tool), "run", str(script), "--vus", str(vus), "--duration", f"{duration}s", "--quiet"]
    if tool == "k6":
        cmd.append("--no-usage-report")
    env = {**os.environ, "K6_NO_USAGE_REPORT": "true"}
    with open(work / f"{tool}.log", "wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=work, start_new_session=True)
    watchdog = threading.Timer(duration + 120, os.killpg, (proc.pid, signal.SIGKILL))
    watchdog.start()
    rss = _TreeRSS(proc.pid)
    try:
        code = proc.wait()
    finally:
        watchdog.cancel()
    res = rss.stop(duration)
    return {"exit_code": code, "peak_mb": res.get("rss_tree_peak_mb", 0.0), "end_mb": res.get("rss_end_mb", 0.0)}


def compare(vus: int, duration: int) -> int:
    """Run horde then k6 and print their peak RSS and the ratio; 0 if both ran."""
    with tempfile.TemporaryDirectory(prefix="horde-sleeping-") as tmp:
        got = {tool: measure(tool, vus, duration, Path(tmp)) for tool in ("horde", "k6")}
    h, k = got["horde"], got["k6"]
    print(f"{vus} sleeping VUs, {duration} s; RSS of all processes of the tool (MB)")
    print("| tool | peak RSS MB | RSS near the end (95% in) MB | exit |")
    print("|---|---:|---:|---:|")
    for tool, r in got.items():
        print(f"| {tool} | {r['peak_mb']:.0f} | {r['end_mb']:.0f} | {r['exit_code']} |")
    ratio = h["peak_mb"] / k["peak_mb"] if k["peak_mb"] else float("nan")
    print(f"peak RSS horde/k6: {ratio:.3f} (goal <= 0.1)")
    return 0 if h["exit_code"] == 0 and k["exit_code"] == 0 else 1


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vus", type=int, default=10_000)
    ap.add_argument("--duration", type=int, default=20)
    a = ap.parse_args()
    sys.exit(compare(a.vus, a.duration))
