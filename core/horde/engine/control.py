"""Pause, resume and stop of one run, and what k6's REST API reads of it (the run's ControlSurface)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Callable
from typing import Any, TextIO

from ..durations import option_seconds
from ..groups import GroupTree
from ..metrics import CounterSink, GaugeSink, RateSink, TrendSink, new_sink
from ..restapi import ApiError, ExecutionStatus, MetricView, StatusView

__all__ = ["RunControl", "k6_sample"]

POLL = 0.02
"""Seconds between looks at the pause and linger flags while waiting (only then: never on the hot path)."""

LIFECYCLE_TIMEOUT = "60s"
"""k6's default setupTimeout and teardownTimeout."""

API_CALL_GRACE = 5.0
"""Seconds an API call to setup()/teardown() waits past the function's own timeout."""

LINGER_MESSAGE = "The test is done, but --linger was enabled, so horde is waiting for Ctrl+C to continue..."


def k6_sample(sink: Any, elapsed_s: float) -> dict[str, float]:
    """k6's ``Sink.Format``: what ``/v1/metrics`` shows of a sink at ``elapsed_s`` seconds of test time."""
    if isinstance(sink, CounterSink):
        return {"count": sink.count, "rate": sink.count / elapsed_s if elapsed_s > 0 else 0.0}
    if isinstance(sink, GaugeSink):
        return {"value": sink.value}
    if isinstance(sink, RateSink):
        return {"rate": sink.trues / sink.total if sink.total else 0.0}
    if isinstance(sink, TrendSink):
        agg = sink.aggregates(elapsed_s)
        return {k: agg[k] for k in ("avg", "max", "med", "min", "p(90)", "p(95)")}
    return {}


class RunControl:
    """The state k6's REST API reads and the three things it may do to a run: resume, stop, run setup/teardown.

    The engine drives the phases (:meth:`wait_resumed`, :meth:`mark_started`,
    :meth:`set_phase`, :meth:`mark_ended`, :meth:`linger`); the API's threads
    call the :class:`~horde.restapi.ControlSurface` methods. ``run`` is the
    :class:`~horde.engine.run.TestRun` (its store, thresholds, groups, script
    and loop); ``stop_run`` ends it as a stop through the API does.
    """

    def __init__(self, run: Any, *, paused: bool, stop_run: Callable[[], None]) -> None:
        self.run = run
        self.paused = paused
        self.phase = ExecutionStatus.CREATED
        self.started = False
        self.ended = False
        self.stopped = False
        """The run was told to end early (a stop through the API, a signal, an abort): k6's ``stopped``."""
        self.lingering = False
        self._stop_run = stop_run
        self._lock = threading.Lock()
        self._resumed = threading.Event()
        if not paused:
            self._resumed.set()
        self._linger_end = threading.Event()

    # -- the engine's side ---------------------------------------------------

    def hold(self) -> None:
        """Start paused after all (the ``paused`` option of the script, config or environment)."""
        with self._lock:
            if not self.started:
                self.paused = True
                self._resumed.clear()

    def set_phase(self, phase: ExecutionStatus) -> None:
        """Record where the run stands (the ``status`` number of ``/v1/status``)."""
        self.phase = phase

    async def wait_resumed(self) -> None:
        """Wait while the run is paused before its start (until resumed, or cancelled by a stop or a signal)."""
        if self._resumed.is_set():
            return
        self.phase = ExecutionStatus.PAUSED_BEFORE_RUN
        while not self._resumed.is_set():
            await asyncio.sleep(POLL)

    def mark_started(self) -> None:
        """The test starts (after the pause, before setup())."""
        self.started = True
        self.phase = ExecutionStatus.STARTED

    def mark_ended(self) -> None:
        """The scenarios and teardown are over: ENDED, or INTERRUPTED when the run was stopped (as k6)."""
        if self.stopped:
            self.phase = ExecutionStatus.INTERRUPTED
        else:
            self.ended = True
            self.phase = ExecutionStatus.ENDED

    async def linger(self, out: TextIO | None) -> None:
        """``--linger``: keep the run (and its API) up after the end until :meth:`end_linger` (the first signal)."""
        with self._lock:
            if self._linger_end.is_set():
                return
            self.lingering = True
        if out is not None:
            try:
                out.write("\n" + LINGER_MESSAGE + "\n")
                out.flush()
            except (OSError, ValueError):
                pass
        while not self._linger_end.is_set():
            await asyncio.sleep(POLL * 5)

    def end_linger(self) -> bool:
        """End the linger (or skip a later one); True if the run was lingering, so the signal is spent on it."""
        with self._lock:
            was = self.lingering and not self._linger_end.is_set()
            self._linger_end.set()
            return was

    # -- the REST API's side (ControlSurface) ---------------------------------

    def status(self) -> StatusView:
        """The run's status right now."""
        active, initialized = self.run.vu_counts()
        thresholds = getattr(self.run, "thresholds", None) or ()
        return StatusView(
            status=int(self.phase),
            paused=self.paused,
            vus=int(active),
            vus_max=int(initialized),
            stopped=self.stopped,
            running=self.started and not self.ended,
            tainted=any(e.tainted for e in thresholds),
        )

    def set_paused(self, paused: bool) -> None:
        """Resume a run paused before its start; anything else is k6's "Pause error" (no executor pauses midway)."""
        with self._lock:
            if not self.started and self.paused:
                if paused:
                    raise ApiError("Pause error", "execution is already paused")
                self.paused = False
                self._resumed.set()
                return
        first = min(self.run.scenarios, key=lambda sc: (sc.start_time, sc.name))
        raise ApiError(
            "Pause error",
            f"{first.executor} executor '{first.name}' doesn't support pause and resume operations after its start",
        )

    def scale(self, vus: int | None, vus_max: int | None) -> None:
        """horde has no externally-controlled executor: k6's answer for a test without one."""
        raise ApiError(
            "Execution config error",
            "an externally-controlled executor needs to be configured for live configuration updates",
        )

    def stop(self) -> None:
        """Stop the run as k6's ``PATCH /v1/status {stopped: true}`` does (exit code 103)."""
        self.stopped = True
        self._stop_run()

    def metrics(self) -> list[MetricView]:
        """Every metric that has samples, and every metric or sub-metric with thresholds (k6's observed metrics)."""
        run = self.run
        elapsed = run.elapsed()
        entries = {e.name: e for e in run.thresholds}
        store = run.store
        out: list[MetricView] = []
        seen: set[str] = set()

        def add(target: Any, metric: Any, sink: Any) -> None:
            entry = entries.get(target.name)
            out.append(
                MetricView(
                    name=target.name,
                    type=str(metric.type),
                    contains=str(metric.contains),
                    tainted=entry.tainted if entry is not None else None,
                    sample=k6_sample(sink if sink is not None else new_sink(metric.type), elapsed),
                )
            )
            seen.add(target.name)

        with store.locked():
            for metric, sink in list(store.sinks.items()):
                add(metric, metric, sink)
            for entry in run.thresholds:
                for target, metric in ((entry.metric, entry.metric), (entry.target, entry.metric)):
                    if target.name not in seen:
                        add(target, metric, store.sink(target))
        return out

    def group_tree(self) -> GroupTree:
        """The run's groups and checks."""
        tree: GroupTree = self.run.groups
        return tree

    def setup_data(self) -> Any:
        """The data setup() returned, or what ``PUT /v1/setup`` set (None: none)."""
        return self.run.setup_data

    def set_setup_data(self, data: Any) -> None:
        """Replace the setup data (``PUT /v1/setup``)."""
        self.run.setup_data = data

    def run_setup(self) -> None:
        """Run setup() now on the run's loop (``POST /v1/setup``); keep what it returns."""
        run = self.run
        if run.script.setup is None:
            run.setup_data = None
            return
        run.setup_data = self._call_lifecycle("setup", run.script.setup)

    def run_teardown(self) -> None:
        """Run teardown(setup data) now on the run's loop (``POST /v1/teardown``)."""
        run = self.run
        if run.script.teardown is not None:
            self._call_lifecycle("teardown", run.script.teardown, run.setup_data)

    def _call_lifecycle(self, name: str, fn: Any, *args: Any) -> Any:
        run = self.run
        loop = run._loop
        if loop is None or loop.is_closed() or run.factory is None:
            raise ApiError("", "the test run is not running")
        timeout = option_seconds(run.options.get(f"{name}Timeout") or LIFECYCLE_TIMEOUT, f"{name}Timeout")
        try:
            future = asyncio.run_coroutine_threadsafe(run._lifecycle(name, fn, run.factory, *args), loop)
        except RuntimeError as exc:  # the loop closed meanwhile
            raise ApiError("", f"the test run is not running: {exc}") from exc
        try:
            return future.result(timeout + API_CALL_GRACE)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise ApiError("", f"{name}() execution timed out after {timeout:g} seconds") from None
        except (asyncio.CancelledError, concurrent.futures.CancelledError):
            raise ApiError("", f"{name}() was interrupted") from None
        except Exception as exc:
            raise ApiError("", str(exc)) from exc
