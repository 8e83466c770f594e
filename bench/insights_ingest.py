"""How many k6 instances one core of horde-insights sustains.

Simulated instances push k6-shaped protocol v2 batches (snappy ``MetricSet``,
built with horde-out-cloud's encoder) into one run: each instance
``--series`` series (counters, rates and trend histograms tagged like k6's
HTTP metrics plus ``instance_id``) every ``--period`` seconds, k6's
aggregation period, on one keep-alive connection, the instances' pushes
spread evenly over the period. The service runs pinned to one core
(``taskset -c --service-cpu``), the pushers and PostgreSQL on the other cores
(PostgreSQL's CPU per push is reported beside the service's).

The CPU time the service used per push gives a second figure that a busy
machine does not distort: period / CPU per push = the instances one whole
core would serve. Each step starts with one push per instance, not measured (it creates the
series, as when a test starts), and waits until the service and the database are idle again. The instance count grows step by step (``--instances``); a step is
*sustained* when every push was answered 200, no push took as long as the
period, and no instance started a push late by more than a period (no
backlog). The figure is the largest sustained step, per database: SQLite
(a file in a temp dir) and PostgreSQL (a throw-away cluster,
``horde_insights.testing.Postgres``).

    python bench/insights_ingest.py                        # both databases, 25..400 instances
    python bench/insights_ingest.py --db postgresql --instances 100 200 300 --step-seconds 30
    python bench/insights_ingest.py --smoke                # seconds: 2 instances, 20 series, SQLite

Needs: horde-insights, horde-out-cloud (for the encoder), and for PostgreSQL
Debian's postgresql and psycopg. Prints a table and, with ``--json FILE``,
writes every step's figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cramjam
from horde_insights.testing import InsightsProcess, Postgres, api, find_postgres_bin
from horde_out_cloud.protobuf import COUNTER, RATE, TREND, encode_metric_set, encode_series, encode_value


class _Hist:
    """A trend aggregate for the encoder: a few buckets around 20-200 ms."""

    def __init__(self, seed: int) -> None:
        self.buckets = {900 + (seed + k * 7) % 300: 1 + (seed + k) % 5 for k in range(12)}
        self.count = sum(self.buckets.values())
        self.sum = 0.05 * self.count
        self.min = 0.01
        self.max = 0.3
        self.low = 0
        self.high = 0
        self.resolution = 0.001


def instance_body(instance: int, series: int, period: int, t_s: int) -> bytes:
    """One push of instance ``instance``: ``series`` series, one value each (snappy block)."""
    kinds = [
        ("http_reqs", COUNTER),
        ("http_req_duration", TREND),
        ("http_req_failed", RATE),
        ("data_received", COUNTER),
    ]
    per_metric: dict[tuple[str, int], list[bytes]] = {}
    t_ns = t_s * 1_000_000_000
    for i in range(series):
        name, kind = kinds[i % len(kinds)]
        endpoint = i // len(kinds)
        labels = [
            ("instance_id", str(instance)),
            ("method", "GET"),
            ("name", f"http://app.test/api/item/{endpoint}"),
            ("scenario", "default"),
            ("status", "200"),
            ("url", f"http://app.test/api/item/{endpoint}"),
        ]
        agg: list[float] | _Hist
        if kind == TREND:
            agg = _Hist(i)
        elif kind == RATE:
            agg = [1.0, 40.0]
        else:
            agg = [40.0 + i, 40.0]
        per_metric.setdefault((name, kind), []).append(encode_series(kind, labels, [encode_value(kind, t_ns, agg)]))
    raw = encode_metric_set("bench", period, [(n, k, ss) for (n, k), ss in per_metric.items()])
    return bytes(cramjam.snappy.compress_raw(raw))


@dataclass
class Step:
    db: str
    instances: int
    series: int
    period: int
    seconds: float
    pushes: int = 0
    errors: int = 0
    late_starts: int = 0
    max_lag: float = 0.0
    latencies: list[float] = field(default_factory=list)
    service_cpu_s: float = 0.0
    db_cpu_s: float = 0.0
    warmup_s: float = 0.0

    @property
    def sustained(self) -> bool:
        return (
            self.pushes > 0
            and self.errors == 0
            and self.late_starts == 0
            and max(self.latencies, default=0) < self.period
        )

    def summary(self) -> dict:
        lat = sorted(self.latencies) or [0.0]
        d = asdict(self)
        del d["latencies"]
        d.update(
            sustained=self.sustained,
            p50_ms=round(1000 * statistics.median(lat), 1),
            p99_ms=round(1000 * lat[min(len(lat) - 1, int(len(lat) * 0.99))], 1),
            max_ms=round(1000 * lat[-1], 1),
            samples_per_s=round(self.pushes * self.series / self.seconds),
            service_cpu_pct=round(100 * self.service_cpu_s / self.seconds, 1),
            cpu_ms_per_push=round(1000 * self.service_cpu_s / max(1, self.pushes), 2),
            db_cpu_ms_per_push=round(1000 * self.db_cpu_s / max(1, self.pushes), 2),
            instances_per_core_by_cpu=int(self.period * max(1, self.pushes) / max(1e-9, self.service_cpu_s)),
            load_average=round(os.getloadavg()[0], 2),
        )
        return d


async def _http_post(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, head: bytes, body: bytes) -> int:
    writer.write(head + body)
    await writer.drain()
    status_line = await reader.readline()
    length = 0
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b""):
            break
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    if length:
        await reader.readexactly(length)
    return int(status_line.split()[1]) if status_line else 0


async def _instance(
    step: Step, port: int, token: str, run_id: str, instance: int, start: float, end: float, body: bytes
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        due = start + step.period * instance / step.instances  # spread over the period
        while due < end:
            now = time.monotonic()
            if now < due:
                await asyncio.sleep(due - now)
            lag = time.monotonic() - due
            step.max_lag = max(step.max_lag, lag)
            if lag > step.period:
                step.late_starts += 1
            head = (
                f"POST /v2/metrics/{run_id} HTTP/1.1\r\nHost: bench\r\nAuthorization: Token {token}\r\n"
                "Content-Type: application/x-protobuf\r\nContent-Encoding: snappy\r\n"
                f"K6-Metrics-Protocol-Version: 2.0\r\nK6-Idempotency-Key: {secrets.token_hex(8)}\r\n"
                f"Content-Length: {len(body)}\r\n\r\n"
            ).encode()
            t0 = time.monotonic()
            try:
                status = await asyncio.wait_for(_http_post(reader, writer, head, body), step.period * 4)
            except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, ValueError):
                status = 0
            step.latencies.append(time.monotonic() - t0)
            step.pushes += 1
            if status != 200:
                step.errors += 1
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            due += step.period
    finally:
        writer.close()


def _cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        parts = f.read().rsplit(")", 1)[1].split()
    return (int(parts[11]) + int(parts[12])) / os.sysconf("SC_CLK_TCK")


def _tree(root: int) -> list[int]:
    """``root`` and its living descendants (PostgreSQL's postmaster and its backends)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def _tree_cpu_seconds(root: int | None) -> float:
    """CPU seconds of ``root``'s process tree (ended backends are counted by their parent's cutime)."""
    if root is None:
        return 0.0
    total = 0.0
    for pid in _tree(root):
        try:
            total += _cpu_seconds(pid)
        except OSError:
            pass
    return total


def _pin(root: int, cpus: set[int]) -> None:
    """Pin ``root``'s process tree to ``cpus`` (new children inherit it)."""
    for pid in _tree(root):
        try:
            os.sched_setaffinity(pid, cpus)
        except OSError:
            pass


async def _settle(pids: list[int | None], limit: float = 30.0) -> None:
    """Wait (at most ``limit`` s) until the service and the database are idle: the series a test's
    first pushes created leave the database busy for a while (autovacuum's analyze of new rows)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        before = sum(_tree_cpu_seconds(p) for p in pids)
        await asyncio.sleep(0.5)
        if sum(_tree_cpu_seconds(p) for p in pids) - before < 0.05:
            return


async def run_step(srv: InsightsProcess, token: str, step: Step, db_pid: int | None) -> Step:
    """Push from ``step.instances`` instances for ``step.seconds`` into a new run (``db_pid``: PostgreSQL's
    postmaster, whose CPU is measured too)."""
    status, created = api(
        srv.url + "/v1/tests",
        token,
        "POST",
        json.dumps({"name": f"bench {step.instances}", "vus": step.instances, "instances": step.instances}).encode(),
        {"Content-Type": "application/json"},
    )
    assert status == 200, created
    run_id = created["reference_id"]
    bodies = [instance_body(i + 1, step.series, step.period, int(time.time())) for i in range(step.instances)]
    assert srv.proc is not None
    # warm-up: every instance's first push creates its series (as when a test starts); not measured
    t0 = time.monotonic()
    warm = Step(step.db, step.instances, step.series, step.period, 0.0)
    now = time.monotonic()
    await asyncio.gather(
        *(_instance(warm, srv.port, token, run_id, i, now - step.period, now, bodies[i]) for i in range(step.instances))
    )
    await _settle([srv.proc.pid, db_pid])
    step.warmup_s = round(time.monotonic() - t0, 2)
    cpu0 = _cpu_seconds(srv.proc.pid)
    db0 = _tree_cpu_seconds(db_pid)
    start = time.monotonic() + 0.5
    end = start + step.seconds
    await asyncio.gather(
        *(_instance(step, srv.port, token, run_id, i, start, end, bodies[i]) for i in range(step.instances))
    )
    step.service_cpu_s = _cpu_seconds(srv.proc.pid) - cpu0
    step.db_cpu_s = _tree_cpu_seconds(db_pid) - db0
    return step


class PinnedInsights(InsightsProcess):
    """``horde-insights serve`` pinned to one CPU with taskset."""

    def __init__(self, db: str, cpu: int | None, **kw: object) -> None:
        super().__init__(db, **kw)  # type: ignore[arg-type]
        self.cpu = cpu

    def _cmd(self, *args: str) -> list[str]:
        cmd = super()._cmd(*args)
        if self.cpu is not None and shutil.which("taskset"):
            return ["taskset", "-c", str(self.cpu), *cmd]
        return cmd


def bench_db(kind: str, args: argparse.Namespace, workdir: Path) -> list[Step]:
    """Every step on one database kind, stopping after the first one not sustained."""
    pg = None
    db_pid = None
    # the service on its CPU; the database and the pushers (this process) on the others
    others = set(range(os.cpu_count() or 1)) - {args.service_cpu} if args.service_cpu is not None else set()
    if others:
        os.sched_setaffinity(0, others)
    if kind == "sqlite":
        db = str(workdir / "bench.db")
    else:
        bindir = find_postgres_bin()
        if bindir is None:
            raise SystemExit("PostgreSQL server binaries not found (Debian package postgresql)")
        pg = Postgres(bindir).start()
        db = pg.new_database()
        db_pid = int((pg.dir / "data" / "postmaster.pid").read_text().split()[0])
        if others:
            _pin(db_pid, others)
    srv = PinnedInsights(db, args.service_cpu, log=workdir / f"insights-{kind}.log").start()
    steps: list[Step] = []
    try:
        token = srv.token("bench")
        for n in args.instances:
            step = asyncio.run(run_step(srv, token, Step(kind, n, args.series, args.period, args.step_seconds), db_pid))
            steps.append(step)
            s = step.summary()
            print(
                f"{kind:10} {n:5} instances: {'ok ' if step.sustained else 'NO '} pushes={s['pushes']} "
                f"errors={s['errors']} late={s['late_starts']} p50={s['p50_ms']}ms p99={s['p99_ms']}ms "
                f"max={s['max_ms']}ms service_cpu={s['service_cpu_pct']}% samples/s={s['samples_per_s']} "
                f"cpu/push={s['cpu_ms_per_push']}ms (one whole core: {s['instances_per_core_by_cpu']} instances) "
                f"db_cpu/push={s['db_cpu_ms_per_push']}ms "
                f"load={s['load_average']}",
                flush=True,
            )
            if not step.sustained:
                break
    finally:
        srv.stop()
        if pg is not None:
            pg.stop()
    return steps


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--db", nargs="+", choices=["sqlite", "postgresql"], default=["sqlite", "postgresql"])
    p.add_argument("--instances", nargs="+", type=int, default=[25, 50, 100, 150, 200, 250, 300, 400])
    p.add_argument("--series", type=int, default=500, help="series per instance and push (default 500)")
    p.add_argument("--period", type=int, default=3, help="seconds between an instance's pushes (default 3)")
    p.add_argument("--step-seconds", type=float, default=30.0, help="length of each step (default 30)")
    p.add_argument("--service-cpu", type=int, default=(os.cpu_count() or 1) - 1, help="CPU the service is pinned to")
    p.add_argument("--json", type=Path, help="write every step's figures here")
    p.add_argument("--smoke", action="store_true", help="tiny numbers, SQLite only: checks the harness")
    args = p.parse_args(argv)
    if args.smoke:
        args.db, args.instances, args.series, args.period, args.step_seconds = ["sqlite"], [2], 20, 1, 2.0
    if args.service_cpu is not None and args.service_cpu < 0:
        args.service_cpu = None
    results: dict[str, list[dict]] = {}
    with tempfile.TemporaryDirectory(prefix="insights-bench-") as tmp:
        for kind in args.db:
            steps = bench_db(kind, args, Path(tmp))
            results[kind] = [s.summary() for s in steps]
    print()
    print(
        f"| database | instances sustained ({args.series} series every {args.period} s) "
        "| service CPU per push | instances one whole core serves (period / CPU per push) |"
    )
    print("|---|---|---|---|")
    for kind, steps in results.items():
        ok = [s["instances"] for s in steps if s["sustained"]]
        # the figures of the largest sustained step (of the last one when none was sustained)
        best = max((s for s in steps if s["sustained"]), key=lambda s: s["instances"], default=None) or (
            steps[-1] if steps else None
        )
        cpu = f"{best['cpu_ms_per_push']} ms" if best else "-"
        by_cpu = best["instances_per_core_by_cpu"] if best else 0
        print(
            f"| {kind} | {max(ok) if ok else 0}{'+' if steps and steps[-1]['sustained'] else ''} | {cpu} | {by_cpu} |"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0 if all(any(s["sustained"] for s in steps) for steps in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
