"""Run one tool once and measure it: requests, requests/s, CPU, peak RSS, samples lost.

CPU and peak RSS come from ``os.wait4`` on the tool's process: user+sys seconds
of the process and every descendant it reaped, and the largest resident set of
them (each tool here is one process). The summed RSS of the whole process tree
(horde's workers too) is sampled every 0.2 s and reported at the start (10% in),
the middle and the end (95% in) of the run, and its peak. Requests come from each tool's own export
(``--summary-export`` for horde, k6 and the bare ceiling, the final table Locust prints). For the
csv/json/influxdb cases the samples the output stored are counted and compared
with what the run produced: 9 per request and 4 per iteration.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import psutil
from horde.testing import free_port
from interpreter import speed_index
from services import InfluxD, Nginx, OtlpSink, Prometheus, tool_path

SCRIPTS = Path(__file__).resolve().parent / "scripts"
REQUEST_METRICS = (
    "http_reqs",
    "http_req_duration",
    "http_req_blocked",
    "http_req_connecting",
    "http_req_tls_handshaking",
    "http_req_sending",
    "http_req_waiting",
    "http_req_receiving",
    "http_req_failed",
)
ITERATION_METRICS = ("data_sent", "data_received", "iteration_duration", "iterations")
COUNTED = frozenset(REQUEST_METRICS + ITERATION_METRICS)

__all__ = ["Result", "run_once", "wait_for_quiet"]


@dataclass
class Result:
    """One run of one tool."""

    tool: str
    case: str
    vus: int
    repeat: int
    exit_code: int = 0
    requests: int = 0
    iterations: int = 0
    rps: float = 0.0
    wall_s: float = 0.0
    cpu_s: float = 0.0
    req_per_cpu_s: float = 0.0
    rss_mb: float = 0.0
    rss_start_mb: float = 0.0  # summed RSS of the tool's process tree 1 s in, at the middle, at the end
    rss_mid_mb: float = 0.0
    rss_end_mb: float = 0.0
    rss_tree_peak_mb: float = 0.0
    med_ms: float = 0.0  # http_req_duration (Locust: response time), from the tool's export
    p95_ms: float = 0.0
    samples_expected: int | None = None
    samples_stored: int | None = None
    samples_lost: int | None = None
    nginx_requests: int = 0  # what nginx served during the run: a check on the tool's own count
    others_cpu_s: float = 0.0  # CPU used by other processes of the machine during the run
    before: dict = field(default_factory=dict)  # how busy the machine was before the run
    host: dict = field(default_factory=dict)  # the host's speed before and after the run (host_speed)

    def as_dict(self) -> dict:
        return asdict(self)


WORKERS_PER_CORE = max(2, os.cpu_count() or 1)
"""horde-w's worker processes, and bench/run.py's for the worker path without the network: one per core,
at least two (one would run every VU in the coordinator)."""

HOST_TOLERANCE = 0.8
"""A run counts as on a slowed host when host_speed() before or after it is below this share of the sitting's
best (the probe itself varies by about ±10 % on a quiet host; a busy tenant takes it to about half)."""

HOST_RETRIES = 2
"""How many times a run on a slowed host is run again; the last one is kept (and counted as slow if it was)."""


def host_speed() -> float:
    """The pure-Python speed index right now, in 0.1 s: it drops while another tenant of a shared host
    takes the cores' time, which this machine's CPU counters do not show (no steal time)."""
    return speed_index(loops=100_000, repeats=2)


def slowed(before: float, after: float, reference: float) -> bool:
    """Whether a run whose :func:`host_speed` was ``before`` and ``after`` it ran on a slowed host, against the
    sitting's best ``reference``."""
    return min(before, after) < reference * HOST_TOLERANCE


def wait_for_host(reference: float, max_wait: float) -> float:
    """Wait (≤ ``max_wait`` s) until :func:`host_speed` is back within :data:`HOST_TOLERANCE` of
    ``reference``; the last speed seen."""
    t0 = time.monotonic()
    while True:
        speed = host_speed()
        if speed >= reference * HOST_TOLERANCE or time.monotonic() - t0 >= max_wait:
            return speed
        time.sleep(2.0)


def wait_for_quiet(max_wait: float, busy_pct: float) -> dict:
    """Wait (≤ ``max_wait`` s) until the machine's CPU use stays under ``busy_pct`` % for 1 s.

    Returns the last look: load average, CPU % of the whole machine, the
    busiest other processes, the seconds waited and ``busy`` when it never got quiet.
    """
    t0 = time.monotonic()
    while True:
        procs = list(psutil.process_iter(["name"]))
        for p in procs:
            try:
                p.cpu_percent(None)
            except psutil.Error:
                pass
        cpu = psutil.cpu_percent(interval=1.0)
        top = []
        for p in procs:
            try:
                pct = p.cpu_percent(None)
            except psutil.Error:
                continue
            if pct >= 5 and p.pid != os.getpid():
                top.append((pct, p.info["name"]))
        top.sort(reverse=True)
        waited = time.monotonic() - t0
        if cpu < busy_pct or waited >= max_wait:
            return {
                "load1": round(os.getloadavg()[0], 2),
                "cpu_pct": cpu,
                "waited_s": round(waited, 1),
                "busy": cpu >= busy_pct,
                "top": [f"{name} {pct:.0f}%" for pct, name in top[:4]],
            }


def _command(tool: str, case: str, vus: int, duration: int, target: str, out: str | None, work: Path) -> list[str]:
    if tool == "bare":  # the ceiling: a bare asyncio protocol on uvloop, same GET, keep-alive, no metrics
        assert case == "none", "the bare ceiling runs only without an output"
        return [
            sys.executable,
            str(SCRIPTS / "bare_get.py"),
            f"{target}/",
            "--vus",
            str(vus),
            "--duration",
            str(duration),
            "--summary-export",
            str(work / "summary.json"),
        ]
    if tool == "locust":
        assert case == "none", "Locust runs only without an output"
        return [
            tool_path("locust"),
            "-f",
            str(SCRIPTS / "locust_get.py"),
            "--headless",
            "-u",
            str(vus),
            "-r",
            str(vus),
            "-t",
            f"{duration}s",
            "--host",
            target,
            "--only-summary",
            "--loglevel",
            "WARNING",
            "--stop-timeout",
            "5",
        ]
    script = {"horde": "horde_get.py", "horde-w": "horde_get.py", "horde-1": "horde_get.py", "k6": "k6_get.js"}[tool]
    cmd = [
        tool_path("horde" if tool.startswith("horde") else tool),
        "run",
        str(SCRIPTS / script),
        "--vus",
        str(vus),
        "--duration",
        f"{duration}s",
        "-e",
        f"TARGET={target}/",
        "--summary-export",
        str(work / "summary.json"),
        "--quiet",
    ]
    if tool == "k6":
        cmd.append("--no-usage-report")
    elif tool == "horde-w":
        cmd += ["--workers", str(WORKERS_PER_CORE)]
    elif tool == "horde-1":  # every VU in one process, however many
        cmd += ["--workers", "1"]
    # horde: its defaults (one process up to 99 VUs, a worker per 50 VUs beyond, at most one per core)
    if out:
        cmd += ["--out", out]
    return cmd


def _output_arg(case: str, work: Path, influx: InfluxD | None, db: str) -> str | None:
    if case == "csv":
        return f"csv={work / 'out.csv'}"
    if case == "json":
        return f"json={work / 'out.json'}"
    if case == "influxdb":
        assert influx is not None
        return f"influxdb={influx.url}/{db}"
    return None


def _otel_env(otlp: OtlpSink, service: str) -> dict[str, str]:
    """k6's OpenTelemetry settings (read by both tools): gRPC to the sink, plain text, ``service.name``."""
    return {
        "K6_OTEL_EXPORTER_TYPE": "grpc",  # k6 v1.1.0's name; horde reads it too (and K6_OTEL_EXPORTER_PROTOCOL)
        "K6_OTEL_GRPC_EXPORTER_ENDPOINT": otlp.endpoint,
        "K6_OTEL_GRPC_EXPORTER_INSECURE": "true",
        "K6_OTEL_SERVICE_NAME": service,
    }


def _stored(case: str, work: Path, influx: InfluxD | None, db: str) -> int:
    """Samples of the 13 request/iteration metrics that the output stored."""
    counts: Counter = Counter()
    if case == "csv":
        with open(work / "out.csv", "rb") as f:
            next(f, None)  # header
            for line in f:
                counts[line[: line.find(b",")].decode()] += 1
    elif case == "json":
        point, metric = re.compile(rb'"type":"Point"'), re.compile(rb'"metric":"([^"]+)"')
        with open(work / "out.json", "rb") as f:
            for line in f:
                if point.search(line):
                    counts[metric.search(line).group(1).decode()] += 1
    elif case == "influxdb":
        assert influx is not None
        counts.update(influx.counts(db))
        influx.query_json(f'DROP DATABASE "{db}"')
    return sum(n for name, n in counts.items() if name in COUNTED)


def _requests(tool: str, work: Path, duration: int) -> tuple[int, int, float, float, float]:
    """(requests, iterations, requests/s, median ms, p95 ms) from the tool's own export."""
    if tool == "locust":
        # the final table Locust prints: its --csv stats file is written up to a second before the end
        rows = [ln.split() for ln in (work / "stdout.log").read_text().splitlines() if ln.split()[:1] == ["Aggregated"]]
        n = int(rows[0][1])  # Aggregated  <requests>  <fails>(<pct>) | avg min max med | req/s fail/s
        pct = rows[1][1:]  # Aggregated  50% 66% 75% 80% 90% 95% ... (whole ms)
        return n, n, n / duration, float(pct[0]), float(pct[5])  # Locust's own req/s leaves out the spawn time
    metrics = json.loads((work / "summary.json").read_text())["metrics"]
    d = metrics["http_req_duration"]
    return (
        int(metrics["http_reqs"]["count"]),
        int(metrics["iterations"]["count"]),
        float(metrics["http_reqs"]["rate"]),
        d["med"],
        d["p(95)"],
    )


def _busy_cpu_s() -> float:
    t = psutil.cpu_times()
    return t.user + t.nice + t.system + getattr(t, "irq", 0) + getattr(t, "softirq", 0) + getattr(t, "steal", 0)


def _server_cpu_s(servers: list) -> float:
    total = 0.0
    for server in servers:
        for pid in server.pids():
            try:
                t = psutil.Process(pid).cpu_times()
                total += t.user + t.system
            except psutil.Error:
                pass
    return total


class _TreeRSS:
    """Samples the summed RSS of a process and its descendants every :data:`PERIOD` s on a thread."""

    PERIOD = 0.2

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.samples: list[tuple[float, float]] = []  # (seconds since start, MB)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._t0 = time.monotonic()
        self._thread.start()

    def _poll(self) -> None:
        try:
            root = psutil.Process(self.pid)
        except psutil.Error:
            return
        while not self._stop.wait(self.PERIOD):
            total = 0
            try:
                procs = [root, *root.children(recursive=True)]
            except psutil.Error:
                return
            for p in procs:
                try:
                    total += p.memory_info().rss
                except psutil.Error:
                    pass
            if total:
                self.samples.append((time.monotonic() - self._t0, total / 2**20))

    def stop(self, duration: float) -> dict[str, float]:
        """Stop sampling; the RSS (MB) at the start, middle and end of a run of ``duration`` s, and the peak.

        Times count from 1 s after the launch (a tool's start-up): the start is 10% into
        the run, the end 95% (before the tool's processes exit).
        """
        self._stop.set()
        self._thread.join(2)
        s = self.samples
        if not s:
            return {}

        def at(t: float) -> float:
            return round(min(s, key=lambda x: abs(x[0] - min(t, s[-1][0])))[1], 1)

        return {
            "rss_start_mb": at(1.0 + 0.1 * duration),
            "rss_mid_mb": at(1.0 + 0.5 * duration),
            "rss_end_mb": at(1.0 + 0.95 * duration),
            "rss_tree_peak_mb": round(max(x[1] for x in s), 1),
        }


def run_once(
    tool: str,
    case: str,
    vus: int,
    duration: int,
    repeat: int,
    work: Path,
    nginx: Nginx,
    influx: InfluxD | None = None,
    prometheus: Prometheus | None = None,
    otlp: OtlpSink | None = None,
) -> Result:
    """Run ``tool`` for ``duration`` s with ``vus`` VUs against ``nginx`` and the ``case`` output (influxdb: to
    ``influx``); files go to ``work``."""
    work.mkdir(parents=True, exist_ok=True)
    servers = [s for s in (nginx, influx, prometheus, otlp) if s is not None]
    target = nginx.url
    db = f"bench_{tool}_{case}_{vus}_{repeat}"
    if case == "influxdb":
        assert influx is not None, "the influxdb case needs influxd"
        influx.query_json(f'CREATE DATABASE "{db}"')
    cmd = _command(tool, case, vus, duration, target, _output_arg(case, work, influx, db), work)
    res = Result(tool, case, vus, repeat)
    env = {**os.environ, "K6_NO_USAGE_REPORT": "true"}
    if case == "prometheus-rw":  # k6 reads the URL from the environment only; both tools tag the run
        assert prometheus is not None, "the prometheus-rw case needs Prometheus"
        env["K6_PROMETHEUS_RW_SERVER_URL"] = prometheus.url + "/api/v1/write"
        cmd += ["--tag", f"testid={db}", "--out", "experimental-prometheus-rw"]
    elif case == "opentelemetry":  # both over gRPC (the default) to the sink, each run its own service.name
        assert otlp is not None, "the opentelemetry case needs the OTLP sink"
        env.update(_otel_env(otlp, db))
        cmd += ["--out", "experimental-opentelemetry" if tool == "k6" else "opentelemetry"]
    elif case == "web-dashboard":  # the live dashboard on a free port of 127.0.0.1 (k6's is built in)
        env.update(K6_WEB_DASHBOARD_HOST="127.0.0.1", K6_WEB_DASHBOARD_PORT=str(free_port()))
        cmd += ["--out", "web-dashboard"]
    served0 = nginx.requests()
    busy0, servers0, t0 = _busy_cpu_s(), _server_cpu_s(servers), time.monotonic()
    with open(work / "stdout.log", "wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=work, start_new_session=True)
    watchdog = threading.Timer(duration + 120, os.killpg, (proc.pid, signal.SIGKILL))
    watchdog.start()
    rss = _TreeRSS(proc.pid)
    try:
        _, status, usage = os.wait4(proc.pid, 0)
    except BaseException:  # interrupted: the tool must not outlive the benchmark
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise
    finally:
        watchdog.cancel()
        for name, mb in rss.stop(duration).items():
            setattr(res, name, mb)
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped by wait4: tell Popen
    res.wall_s = round(time.monotonic() - t0, 2)
    res.exit_code = proc.returncode
    res.cpu_s = round(usage.ru_utime + usage.ru_stime, 3)
    res.rss_mb = round(usage.ru_maxrss / 1024, 1)
    res.others_cpu_s = round(max(0.0, _busy_cpu_s() - busy0 - res.cpu_s - (_server_cpu_s(servers) - servers0)), 2)
    res.nginx_requests = nginx.requests() - served0 - 1
    try:
        res.requests, res.iterations, res.rps, res.med_ms, res.p95_ms = _requests(tool, work, duration)
    except (OSError, KeyError, IndexError, ValueError) as exc:
        tail = (work / "stdout.log").read_text(errors="replace")[-800:]
        raise RuntimeError(
            f"{tool} {case} vus={vus}: no result ({exc}); exit {res.exit_code}; output:\n{tail}"
        ) from exc
    res.rps, res.med_ms, res.p95_ms = round(res.rps, 1), round(res.med_ms, 3), round(res.p95_ms, 3)
    res.req_per_cpu_s = round(res.requests / res.cpu_s, 1) if res.cpu_s else 0.0
    if case == "prometheus-rw":  # series hold running totals: the requests k6_http_reqs_total counted
        assert prometheus is not None
        res.samples_expected = res.requests
        res.samples_stored = prometheus.requests_counted(db)
        res.samples_lost = res.samples_expected - res.samples_stored
    elif case == "opentelemetry":  # cumulative sums: the requests the last http_reqs points counted
        assert otlp is not None
        res.samples_expected = res.requests
        res.samples_stored = int(otlp.counts(db)["http_reqs"])
        res.samples_lost = res.samples_expected - res.samples_stored
    elif case not in ("none", "web-dashboard"):  # the dashboard stores nothing to count
        res.samples_expected = len(REQUEST_METRICS) * res.requests + len(ITERATION_METRICS) * res.iterations
        res.samples_stored = _stored(case, work, influx, db)
        res.samples_lost = res.samples_expected - res.samples_stored
    for name in ("out.csv", "out.json"):  # large; the numbers are kept
        (work / name).unlink(missing_ok=True)
    return res
