"""A worker process: runs its share of the scenarios and streams samples to the coordinator.

Messages to the coordinator (pickled tuples): ``("ready",)`` once the script
is loaded; batches ``("c", defs, groups, order, stats, aggregates)`` every
50 ms (see :mod:`horde.metrics.wire`): the worker's own aggregates of the batch
and the samples as columns (only when the coordinator wants samples); ``("abort", message)`` when the script called
``abort()``; ``("done", stats)`` at the end. From the coordinator: ``("go",)``
to start, ``("stop",)`` to stop now (interrupting iterations) and
``("pace", flag)`` when the outputs fall behind or catch up (VUs that do not
await then wait). A worker
whose coordinator disappears exits at once.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import pickle
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from ..metrics import BuiltinMetrics, MetricRegistry, MetricStore, TagSet
from ..metrics.wire import Encoder
from . import unawaited
from .console import attach_console_file
from .errorlog import ErrorCounts, error_key
from .executors import ScenarioRunner
from .gcpolicy import run_gc_policy
from .iteration import VUFactory
from .loop import new_loop
from .pacing import BACKLOG_LIMIT, PUMP_PERIOD, Pacer
from .scenarios import Scenario
from .script import load_script, prepare_call
from .watchdog import Watchdog

__all__ = ["WorkerSpec", "worker_main", "child_main"]


@dataclasses.dataclass
class WorkerSpec:
    """What one worker runs."""

    index: int
    script: Path
    env_vars: dict[str, str]
    options: dict[str, Any]
    system_tags: frozenset[str]
    base_tags: tuple[tuple[str, str], ...]
    scenarios: list[Scenario]
    first_vu_id: int
    data: Any
    verbose: bool = False
    samples: bool = True
    """Send the samples themselves (an output or the full summary wants them)."""
    submetrics: tuple[tuple[str, str, tuple[tuple[str, str], ...]], ...] = ()
    """(metric name, suffix, tags) of every sub-metric the coordinator aggregates (thresholds, summary)."""


class _Checks:
    """Check results and groups seen since the last batch (the coordinator keeps the totals)."""

    def __init__(self) -> None:
        self.checks: dict[tuple[str, str], list[int]] = {}
        self.groups: set[str] = set()

    def record_check(self, group_path: str, name: str, passed: bool) -> None:
        counts = self.checks.setdefault((group_path, name), [0, 0])
        counts[0 if passed else 1] += 1

    def group(self, path: str) -> None:
        self.groups.add(path)

    def take(self) -> tuple[list, list]:
        checks = [(g, n, p, f) for (g, n), (p, f) in self.checks.items()]
        groups = sorted(self.groups)
        self.checks, self.groups = {}, set()
        return checks, groups


class _WorkerRun:
    """What VUs of a worker report to (the ``run`` of their VUState)."""

    def __init__(self) -> None:
        self.groups = _Checks()
        self.errors = ErrorCounts()

    def record_check(self, group_path: str, name: str, passed: bool) -> None:
        self.groups.record_check(group_path, name, passed)


_stopping = [False]


def _on_sigterm(signum: int, frame: Any) -> None:
    if _stopping[0]:
        os._exit(1)


def child_main(fd: int) -> None:
    """Entry point of a worker process started by the coordinator: ``fd`` is its end of a socket pair.

    The first message is ``(sys.path, spec)``: the coordinator's import path, then what to run.
    """
    from multiprocessing.connection import Connection

    conn = Connection(fd)
    try:
        data = conn.recv_bytes()
    except (EOFError, OSError):
        return  # the coordinator is gone before it sent anything
    path, spec = pickle.loads(data)
    sys.path[:] = path  # before the spec: unpickling it may need a module only the coordinator's path finds
    worker_main(conn, pickle.loads(spec))


def worker_main(conn: Any, spec: WorkerSpec) -> None:
    """Entry point of a worker process (multiprocessing ``spawn`` target)."""
    # The coordinator handles Ctrl-C and SIGTERM sent to the whole process group and tells us; a SIGTERM
    # after its stop request is the coordinator ending a worker that did not stop in time.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _on_sigterm)
    logging.basicConfig(
        level=logging.DEBUG if spec.verbose else logging.INFO,
        stream=sys.stderr,
        format="%(levelname).4s[w%(process)d] %(message)s",
    )
    attach_console_file(spec.options.get("consoleOutput"))
    from .. import custom_metrics, execution

    execution.env.clear()
    execution.env.update(spec.env_vars)
    registry = MetricRegistry()
    builtin = BuiltinMetrics(registry)
    custom_metrics.init_registry = registry
    try:
        script = load_script(spec.script)
    except Exception as exc:  # the coordinator loaded it already: this is unexpected
        conn.send_bytes(pickle.dumps(("abort", f"worker {spec.index} cannot load the script: {exc}")))
        return
    finally:
        custom_metrics.init_registry = None
    try:
        loop = new_loop()  # the same loop choice as the coordinator (uvloop if installed)
        asyncio.set_event_loop(loop)
        with run_gc_policy():
            loop.run_until_complete(_run(conn, spec, script, registry, builtin))
    finally:
        conn.close()


def _add_submetrics(registry: MetricRegistry, missing: list[tuple[str, str, tuple[tuple[str, str], ...]]]) -> None:
    """Add the sub-metrics of ``missing`` whose metric is registered by now, and remove them from it."""
    for entry in list(missing):
        metric = registry.get(entry[0])
        if metric is not None:
            metric.add_submetric(entry[1], dict(entry[2]))
            missing.remove(entry)


async def _run(conn: Any, spec: WorkerSpec, script: Any, registry: MetricRegistry, builtin: BuiltinMetrics) -> None:
    loop = asyncio.get_running_loop()
    run = _WorkerRun()
    pending: list[Any] = []
    outputs_behind = [0]  # set from the coordinator's ("pace", flag) messages
    pacer = Pacer(pending.__len__, BACKLOG_LIMIT, lambda: outputs_behind[0], 0)
    watchdog = Watchdog(pacer, script.file)
    factory = VUFactory(
        builtin=builtin,
        registry=registry,
        emit=pending.append,
        system_tags=spec.system_tags,
        base_tags=TagSet.of(spec.base_tags),
        options=spec.options,
        run=run,
        pacer=pacer,
        watchdog=watchdog,
    )
    factory.initialized = spec.first_vu_id - 1
    first = factory.initialized
    encoder = Encoder()
    go = loop.create_future()
    main: asyncio.Task | None = None

    def on_error(exc: BaseException) -> None:  # counted here, logged once for the run by the coordinator
        run.errors.add(error_key(exc, script.file))

    aborted: list[str] = []

    def on_abort(exc: BaseException) -> None:
        if not aborted:
            aborted.append(str(exc) or "test aborted")
            send(("abort", aborted[0]))
        if main is not None:
            main.cancel()

    def send(msg: tuple) -> None:
        conn.send_bytes(pickle.dumps(msg, protocol=pickle.HIGHEST_PROTOCOL))

    runners = [
        ScenarioRunner(sc, factory, prepare_call(script.function(sc.exec), None), spec.data, on_error, on_abort)
        for sc in spec.scenarios
    ]

    interrupted_sent = [0]

    def stats() -> dict[str, Any]:
        checks, groups = run.groups.take()
        interrupted = sum(r.interrupted_iterations for r in runners)
        new_interrupted, interrupted_sent[0] = interrupted - interrupted_sent[0], interrupted
        return {
            "active": factory.active,
            "initialized": factory.initialized - first,
            "completed": sum(r.completed_iterations for r in runners),
            "error_kinds": run.errors.take(),
            "interrupted": new_interrupted,
            "checks": checks,
            "groups": groups,
        }

    missing_subs = list(spec.submetrics)  # added to the registry once their metric exists

    def flush() -> None:
        batch = pending[:]
        pending.clear()
        if missing_subs:
            _add_submetrics(registry, missing_subs)
        store = MetricStore()  # the sinks of this batch alone: the coordinator merges them into its own
        conn.send_bytes(encoder.encode_columns(batch, store, stats(), samples=spec.samples))

    def on_control(msg: tuple) -> None:
        if msg[0] == "go" and not go.done():
            if len(msg) > 1:  # the setup data, known only now (the workers start before a --paused run's wait)
                for r in runners:
                    r.data = msg[1]
            go.set_result(None)
        elif msg[0] == "stop":
            if main is not None:
                main.cancel()
            elif not go.done():  # stopped before the start: no scenario runs
                go.set_result(None)

    def read_control() -> None:
        # A thread, not loop.add_reader: that would make the socket non-blocking, and then a batch
        # sent while the coordinator is busy fails with EAGAIN instead of waiting (back-pressure).
        while True:
            try:
                msg = pickle.loads(conn.recv_bytes())
            except (EOFError, OSError):
                os._exit(1)  # the coordinator is gone
            if msg[0] == "stop":
                _stopping[0] = True
                watchdog.interrupt_all()  # script code holding the loop is interrupted too
            elif msg[0] == "pace":
                outputs_behind[0] = int(msg[1])
                continue
            loop.call_soon_threadsafe(on_control, msg)

    threading.Thread(target=read_control, name="horde-worker-control", daemon=True).start()
    send(("ready",))
    await go
    if _stopping[0]:
        send(("done", stats()))
        return

    async def ticker() -> None:
        while True:
            await asyncio.sleep(PUMP_PERIOD)
            flush()

    tick = asyncio.ensure_future(ticker())
    main = asyncio.ensure_future(asyncio.gather(*(r.run() for r in runners)))
    pacer.start(loop)
    watchdog.start()
    uninstall = unawaited.install(run.errors.add)
    try:
        await main
    except asyncio.CancelledError:
        pass
    finally:
        uninstall()
        watchdog.stop()
        pacer.stop()
        tick.cancel()
        await asyncio.gather(tick, return_exceptions=True)
    flush()
    send(("done", stats()))
