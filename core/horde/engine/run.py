"""One test run, from loading the script to the exit code (what ``horde run`` does)."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import signal
import threading
import time
from collections.abc import Mapping
from typing import Any

from .. import execution
from ..durations import option_seconds as seconds
from ..errors import AbortReason, ExitCode, RunError, ScriptAbort, UserError
from ..groups import GroupTree
from ..metrics import BuiltinMetrics, ConnectedSamples, MetricRegistry, MetricStore, TagSet, parse_system_tags
from ..output import OutputStopError, Params
from ..output.binding import create_output, new_plugin_manager
from ..output.extensions import prepare_registry
from ..output.manager import Manager
from ..output.spec import resolve_out_specs
from ..restapi import ExecutionStatus
from ..restapi.server import AddressError, ApiServer
from ..runstatus import RunStatus
from ..summary import (
    parse_trend_stats,
    validate_summary_mode,
    validate_time_unit,
)
from ..summary_full import GroupedSummary
from ..thresholds import PeriodicEvaluator, parse_thresholds
from ..vustate import current_vu
from . import display, unawaited
from .archive import is_archive, open_archive
from .catalogue import inert_options, refuse_unsupported, unknown_options
from .configfile import config_file_for
from .console import attach_console_file
from .control import LIFECYCLE_TIMEOUT, RunControl
from .end_report import EndReport, isatty
from .errorlog import ErrorKey, ErrorLog, error_key
from .executors import ScenarioRunner
from .gcpolicy import run_gc_policy
from .iteration import VUFactory
from .loop import close_loop, new_loop
from .options import env_options, load_config_file, merge_options, parse_stop_timeouts, with_k6_aliases
from .pacing import (
    BACKLOG_LIMIT,
    BEAT_PERIOD,
    IDLE_BEAT_PERIOD,
    MEMORY_BUDGET,
    OUTPUT_BACKLOG_LIMIT,
    Pacer,
    memory_growth,
    over,
)
from .pump import CLOSE_TIMEOUT, Pump
from .request import RunRequest
from .scenarios import Scenario, execution_plan, scenarios_from_options
from .script import Script, ScriptError, load_script, prepare_call, script_traceback
from .segment import segment_scenarios, share_from_options, split_scenarios
from .shared_lifecycle import SharedLifecycle, SharedLifecycleError
from .watchdog import Watchdog
from .worker import WorkerSpec
from .workers import WorkerPool, auto_workers

__all__ = ["RunRequest", "TestRun", "run_test"]

_log = logging.getLogger("horde.run")

VUS_PERIOD = 1.0

EMERGENCY_STOP = 0.7
"""Seconds the outputs get to close their files after a second Ctrl-C/SIGTERM, before the process exits."""

TIMER_SLACK = 0.05
"""Seconds the loop's timers may fire before a deadline by the clock."""

PUBLISH_TIMEOUT = 30.0
"""Seconds the first instance of a distributed run may take to publish setup()'s data (or its failure)."""

WORKER_GRACE = 3.0
"""Seconds past the scenarios' end plus gracefulStop a worker gets to send its last samples before it is ended."""


class TestRun:
    """Prepares, executes and ends one run; :meth:`execute` returns the exit code."""

    __test__ = False  # not a pytest class

    def __init__(self, req: RunRequest) -> None:
        self.req = req
        self.registry = MetricRegistry()
        self.builtin = BuiltinMetrics(self.registry)
        self.store = MetricStore()
        self.error: RunError | None = None
        self.status = RunStatus.CREATED
        self.script_errors = 0
        self.started_at = 0.0
        self.ended_at = 0.0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._main: asyncio.Task | None = None
        self._interrupts = 0
        self.runners: list[ScenarioRunner] = []
        self.pool: WorkerPool | None = None
        self.factory: VUFactory | None = None
        self._stats_lock = threading.Lock()
        self.groups = GroupTree()
        self.setup_data: Any = None
        self.errors = ErrorLog()
        self._errors_lock = threading.Lock()
        self.watchdog: Watchdog | None = None
        self.interrupted_iterations = 0
        self._ci_progress: display.CIProgress | None = None
        self._grouped: GroupedSummary | None = None
        self.planned_vus = 0
        """VUs the scenarios need (vus-max before the start, as k6 initializes them before its pause)."""
        self.control = RunControl(self, paused=req.paused, stop_run=self._stop_from_api)
        self.api: ApiServer | None = None
        self._scenarios_task: asyncio.Future | None = None
        self._aborting = False
        self._pending_stop: RunError | None = None
        self.shared = SharedLifecycle(None, True)
        """setup() and teardown() shared with the other instances of a distributed run (none by default)."""

    # -- preparation -------------------------------------------------------

    def prepare(self) -> None:
        """Load the script, merge options, parse thresholds and create the outputs."""
        req = self.req
        execution.env.clear()
        execution.env.update(req.env_vars)
        config = load_config_file(config_file_for(req.config_file, req.environ))
        self.config = config
        from .. import custom_metrics

        custom_metrics.init_registry = self.registry
        try:
            self.script: Script = load_script(req.script)
        finally:
            custom_metrics.init_registry = None
        file_options = {k: v for k, v in config.items() if k not in ("out", "collectors")}
        cli = dict(req.cli_options)
        if req.no_thresholds:
            cli["noThresholds"] = True
        script_options = self.script.options if req.script_options is None else req.script_options
        for warning in unknown_options({**file_options, **script_options}):
            _log.warning("%s", warning)
        self.options = merge_options(file_options, script_options, env_options(req.environ), cli)
        refuse_unsupported(self.options)
        for warning in inert_options(self.options):
            _log.warning("%s", warning)
        from ..http.netrules import NetRules

        attach_console_file(self.options.get("consoleOutput"))
        NetRules(self.options)  # hosts, dns, blockHostnames, blacklistIPs, localIPs, tlsVersion, tlsAuth: 104 now
        self.system_tags = parse_system_tags(self.options.get("systemTags"))
        tags = self.options.get("tags") or {}
        if not isinstance(tags, Mapping):
            raise UserError("options.tags must be an object of name: value", ExitCode.INVALID_CONFIG)
        self.base_tags = TagSet.of(tags)
        if self.options.get("paused"):
            self.control.hold()
        self.all_scenarios: list[Scenario] = scenarios_from_options(self.options)
        self.share = share_from_options(self.options)
        self.scenarios: list[Scenario] = segment_scenarios(self.all_scenarios, self.share)
        """What this instance runs: its execution segment of every scenario (``all_scenarios``)."""
        for sc in self.all_scenarios:
            self.script.function(sc.exec)  # exit 104 now if a scenario's function is missing
        self.thresholds = self._parse_thresholds()
        self.trend_stats = parse_trend_stats(self.options.get("summaryTrendStats"))
        self.time_unit = validate_time_unit(self.options.get("summaryTimeUnit"))
        self.summary_mode = validate_summary_mode(self.req.summary_mode or self.options.get("summaryMode"))
        stop_timeouts = req.output_stop_timeouts or [req.environ.get("HORDE_OUTPUT_STOP_TIMEOUT", "")]
        self.manager = Manager(
            self._create_outputs(), registry=self.registry, stop_timeouts=parse_stop_timeouts(stop_timeouts)
        )
        total_vus = sum(s.max_vus_needed for s in self.scenarios)
        self.planned_vus = sum(
            s.pre_allocated_vus if s.executor.endswith("arrival-rate") else s.max_vus_needed for s in self.scenarios
        )
        requested = self.req.workers
        if requested is None:
            requested = auto_workers(total_vus, os.cpu_count() or 1)
            _log.debug("workers: %d (by default, for %d VUs)", requested, total_vus)
        self.workers = max(1, min(requested, total_vus))

    def _parse_thresholds(self):
        raw = {} if self.options.get("noThresholds") else (self.options.get("thresholds") or {})
        return parse_thresholds(raw, self.registry, expected_response_submetric="expected_response" in self.system_tags)

    def _create_outputs(self) -> list:
        req = self.req
        specs = resolve_out_specs(req.outs, req.environ, self.config.get("out"))
        registry = req.registry or prepare_registry(
            req.environ, req.plugins, outputs=[s.type for s in specs], search_path=[str(req.script.resolve().parent)]
        )
        if not specs:
            return []
        pm = new_plugin_manager()
        collectors = self.config.get("collectors") or {}
        plan = execution_plan(self.scenarios)
        outputs = []
        for spec in specs:
            plugin = registry.get(spec.type)
            params = Params(
                output_type=spec.type,
                config_argument=spec.argument,
                json_config=collectors.get(spec.type),
                environment=with_k6_aliases(req.environ),
                stdout=req.stdout,
                stderr=req.stderr,
                script_path=req.script,
                script_options=self.options,
                runtime_options={"env": dict(req.env_vars), "noThresholds": bool(self.options.get("noThresholds"))},
                execution_plan=plan,
            )
            outputs.append(create_output(plugin, params, pm))
        return outputs

    # -- the run -------------------------------------------------------------

    def record_check(self, group_path: str, name: str, passed: bool) -> None:
        """Count a check result for the summary's group tree."""
        self.groups.record_check(group_path, name, passed)

    def abort(self, error: RunError) -> None:
        """End the run early with ``error`` (the first error wins); safe from any thread."""
        loop = self._loop
        if self.watchdog is not None:
            self.watchdog.interrupt_all()  # script code holding the loop cannot delay the abort
        if loop is None or not loop.is_running():
            self._abort(error)
        else:
            try:  # also from the loop's thread: this may run in a signal handler, inside the loop
                loop.call_soon_threadsafe(self._abort, error)
            except RuntimeError:  # the loop closed meanwhile: the run is over
                pass

    def _abort(self, error: RunError) -> None:
        if self.error is None:
            self.error = error
        self.control.stopped = True
        if self._main is not None and not self._main.done():
            self._aborting = True
            self._main.cancel()

    def _stop_from_api(self) -> None:
        """``PATCH /v1/status {stopped: true}`` (any thread): end the run as k6 does, exit code 103."""
        error = RunError(
            "test run stopped from REST API", reason=AbortReason.USER, exit_code=ExitCode.SCRIPT_STOPPED_FROM_REST_API
        )
        loop = self._loop
        if loop is None or not loop.is_running():
            self._stop_scenarios(error)
            return
        try:
            loop.call_soon_threadsafe(self._stop_scenarios, error)
        except RuntimeError:  # the loop closed meanwhile: the run is over
            pass

    def _stop_scenarios(self, error: RunError) -> None:
        """Stop as k6: running scenarios end now and teardown() still runs; paused or in setup(), nothing more runs."""
        if self.control.phase in (ExecutionStatus.ENDED, ExecutionStatus.INTERRUPTED):
            return  # over already (lingering): only ``stopped`` changes
        task = self._scenarios_task
        if self.control.phase < ExecutionStatus.RUNNING:
            task = None  # paused or in setup(): the run ends without teardown(), as k6's
        if self._main is None:  # the loop has not started the run yet: it stops as soon as it does
            self.control.stopped = True
            self._pending_stop = error
            return
        if task is None:
            self._abort(error)
            return
        if self.error is None:
            self.error = error
        if not task.done():
            task.cancel()

    def _on_signal(self, signum: int, frame: Any = None) -> None:
        """SIGINT/SIGTERM: the first stops gracefully, the second exits within a second.

        A plain signal handler (not the loop's), so it runs even when script
        code blocks the event loop. The first interrupts running iterations
        (the watchdog interrupts script code that holds the loop); the second
        gives the outputs :data:`EMERGENCY_STOP` to close their files and
        exits 105.
        """
        if self.control.end_linger():  # the run is over and lingering: the signal only ends the linger
            return
        self._interrupts += 1
        if self._interrupts > 1:
            self._exit_now()
        if self.watchdog is not None:
            self.watchdog.interrupt_all()  # first: script code holding the loop is interrupted from now on
        self.abort(RunError("test run aborted by signal", reason=AbortReason.USER, exit_code=ExitCode.EXTERNAL_ABORT))
        try:
            self.req.stderr.write("\nStopping the test gracefully (interrupt again to exit at once)...\n")
            self.req.stderr.flush()
        except (OSError, ValueError):
            pass

    def _exit_now(self) -> None:
        """The second signal: end the workers, give the outputs :data:`EMERGENCY_STOP` to close, exit 105."""
        try:
            self.req.stderr.write("\nStopping now (second interrupt).\n")
            self.req.stderr.flush()
        except (OSError, ValueError):
            pass
        self._emergency_exit(
            RunError("test run aborted by a second signal", reason=AbortReason.USER, exit_code=ExitCode.EXTERNAL_ABORT)
        )

    def _give_up(self) -> None:
        """Script code went on holding the loop although interrupted (it swallows the interruption): exit."""
        _log.error("script code did not stop when interrupted (does it catch BaseException?): exiting now")
        code = self.error.exit_code if self.error is not None else ExitCode.GENERIC_TIMEOUT
        self._emergency_exit(
            RunError("script code could not be interrupted", reason=AbortReason.TIMEOUT, exit_code=code)
        )

    def _emergency_exit(self, error: RunError) -> None:
        """End the workers, give the outputs :data:`EMERGENCY_STOP` to close their files, and exit the process."""
        try:
            if self.watchdog is not None:
                self.watchdog.disarm()  # its interruption must not end this wait
            if self.pool is not None:
                self.pool.kill()
            deadline = time.monotonic() + EMERGENCY_STOP
            stopper = threading.Thread(
                target=_stop_outputs, args=(self.manager, error, deadline), daemon=True, name="horde-emergency-stop"
            )
            stopper.start()
            stopper.join(max(0.0, deadline - time.monotonic()) + 0.1)
        finally:
            os._exit(error.exit_code)

    def _set_status(self, status: RunStatus) -> None:
        if status != self.status:
            self.status = status
            self.manager.set_run_status(status)

    def _on_script_error(self, exc: BaseException) -> None:
        self._count_error(error_key(exc, self.script.file))

    def _count_error(self, key: ErrorKey) -> None:
        with self._errors_lock:
            self.script_errors += 1
            self.errors.add(key)

    def vu_counts(self) -> tuple[int, int]:
        """(active VUs, initialized VUs) right now, across every worker."""
        src: Any = self.pool or self.factory
        active, initialized = (src.active, src.initialized) if src is not None else (0, 0)
        if not self.started_at:  # before the start (paused, setup): the VUs k6 would have initialized
            initialized = max(initialized, self.planned_vus)
        return active, initialized

    def completed_iterations(self) -> int:
        """Iterations completed so far, across every worker."""
        return self.pool.completed if self.pool else sum(r.completed_iterations for r in self.runners)

    def _vus_sample(self) -> ConnectedSamples:
        b = self.builtin
        active, initialized = self.vu_counts()
        return ConnectedSamples(
            (b.vus, b.vus_max), (float(active), float(initialized)), time.time_ns(), self.base_tags, None
        )

    async def _emit_vus(self, pump: Pump) -> None:
        """``vus`` and ``vus_max`` every second, with the test-wide tags only."""
        while True:
            await asyncio.sleep(VUS_PERIOD)
            pump.emit(self._vus_sample())

    def elapsed(self) -> float:
        """Seconds of test run time: from the scenarios' start to now, or to the end once over."""
        if not self.started_at:
            return 0.0
        return (self.ended_at or time.monotonic()) - self.started_at

    async def _run_scenarios(self, factory: VUFactory) -> None:
        control = self.control
        if self._pending_stop is not None:  # stopped through the API before the loop ran
            self._abort(self._pending_stop)
            await asyncio.sleep(0)  # the cancellation lands here
        if self.workers > 1:  # the workers start (VUs built) before the pause and setup(), as k6's VUs
            task = self._scenarios_task = asyncio.ensure_future(self._run_workers(factory))
        else:
            data = await self._start_test(factory)
            task = self._scenarios_task = asyncio.ensure_future(self._run_local(factory, data))
        try:
            await task
        except asyncio.CancelledError:
            if self._aborting or not control.stopped:
                raise  # aborted: no teardown; stopped through the API: teardown still runs (as k6)
        if self.script.teardown is not None and not self.options.get("noTeardown") and self.shared.first:
            control.set_phase(ExecutionStatus.TEARDOWN)
            await self.shared.wait_for_peers(self._lifecycle_timeout("teardown"))
            await self._lifecycle("teardown", self.script.teardown, factory, self.setup_data)

    async def _start_test(self, factory: VUFactory) -> Any:
        """The --paused wait, then setup() (unless noSetup); the data the VUs get."""
        control = self.control
        await control.wait_resumed()
        control.mark_started()
        if self.script.setup is not None and not self.options.get("noSetup"):
            control.set_phase(ExecutionStatus.SETUP)
            self.setup_data = await self._setup(factory)
        control.set_phase(ExecutionStatus.RUNNING)
        return self.setup_data  # None, or what the REST API set (PUT/POST /v1/setup)

    async def _setup(self, factory: VUFactory) -> Any:
        """setup()'s data: run here (and published to the other instances of a distributed run), or received."""
        shared = self.shared
        if not shared.first:
            return await shared.receive(self._lifecycle_timeout("setup"))
        try:
            data = await self._lifecycle("setup", self.script.setup, factory)
        except (ScriptError, _LifecycleTimeout) as exc:
            await shared.publish_error(str(exc).removeprefix("setup() failed: "), PUBLISH_TIMEOUT)
            raise
        return await shared.publish(data, PUBLISH_TIMEOUT)

    async def _run_local(self, factory: VUFactory, data: Any) -> None:
        self.started_at = time.monotonic()
        self._set_status(RunStatus.RUNNING)
        runners = [
            ScenarioRunner(
                sc,
                factory,
                prepare_call(self.script.function(sc.exec), None),
                data,
                self._on_script_error,
                self._on_script_abort,
            )
            for sc in self.scenarios
        ]
        self.runners = runners
        tasks = [asyncio.ensure_future(r.run()) for r in runners]
        try:
            results = await asyncio.gather(*tasks, return_exceptions=True)
        except asyncio.CancelledError:
            for t in tasks:
                t.cancel()
            results = await asyncio.gather(*tasks, return_exceptions=True)
            self._raise_errors(results)
            raise
        finally:
            self.interrupted_iterations += sum(r.interrupted_iterations for r in runners)
        self._raise_errors(results)

    async def _run_workers(self, factory: VUFactory) -> None:
        req = self.req
        specs, first = [], 1
        rps = self.options.get("rps")  # the instance's limit, shared by its workers
        worker_options = {**self.options, "rps": float(rps) / self.workers} if rps else self.options
        submetrics = tuple((m.name, sub.suffix, sub.tags.items()) for m in self.registry.all() for sub in m.submetrics)
        for i, scenarios in enumerate(split_scenarios(self.all_scenarios, self.share, self.workers)):
            if not scenarios:
                continue
            specs.append(
                WorkerSpec(
                    index=i,
                    script=req.script.resolve(),
                    env_vars=dict(req.env_vars),
                    options=worker_options,
                    system_tags=self.system_tags,
                    base_tags=self.base_tags.items(),
                    scenarios=scenarios,
                    first_vu_id=first,
                    data=None,  # sent with ``go``, after setup()
                    verbose=logging.getLogger("horde").isEnabledFor(logging.DEBUG),
                    samples=self._grouped is not None or self.manager.wants_samples,
                    submetrics=submetrics,
                )
            )
            first += sum(s.max_vus_needed for s in scenarios)
        self.pool = pool = WorkerPool(
            specs,
            self.registry,
            self._pump,
            self._on_worker_abort,
            self._on_worker_stats,
            backlog=self._pacer.behind,
            outputs_behind=self._pacer.outputs_behind,
        )
        try:
            pool.start()
            await pool.wait_ready()
            data = await self._start_test(factory)
            self.started_at = time.monotonic()
            self._set_status(RunStatus.RUNNING)
            pool.go(data)
            hard_end = max(sc.start_time + sc.total_duration + sc.graceful_stop for sc in self.scenarios)
            await pool.wait_done(deadline=self.started_at + hard_end + WORKER_GRACE)
        except BaseException:  # cancelled, or setup() failed while the workers wait for ``go``
            await pool.stop()
            raise
        finally:
            pool.close()
            self.interrupted_iterations += pool.interrupted

    def _on_worker_abort(self, message: str, by_script: bool) -> None:
        if by_script:
            self._on_script_abort(ScriptAbort(message))
        else:
            self._abort(RunError(message, exit_code=ExitCode.GENERIC))

    def _on_worker_stats(self, stats: dict) -> None:
        errors = stats.get("error_kinds")
        if errors:
            with self._errors_lock:
                self.script_errors += sum(n for _, n in errors)
                self.errors.merge(errors)
        with self._stats_lock:
            for path in stats.get("groups", ()):
                self.groups.group(path)
            for group_path, name, passes, fails in stats.get("checks", ()):
                self.groups.record_checks(group_path, name, passes, fails)

    @staticmethod
    def _raise_errors(results: list[Any]) -> None:
        """Re-raise what a scenario task failed with (script aborts reach ``_on_script_abort`` instead)."""
        for r in results:
            if isinstance(r, BaseException) and not isinstance(r, asyncio.CancelledError):
                raise r

    def _on_script_abort(self, exc: BaseException) -> None:
        self._abort_by_script(exc)
        self._abort(self.error)

    def _abort_by_script(self, exc: BaseException) -> None:
        if self.error is None:
            self.error = RunError(
                f"test aborted: {exc}", reason=AbortReason.SCRIPT_ABORT, exit_code=ExitCode.SCRIPT_ABORTED
            )

    def _lifecycle_timeout(self, name: str) -> float:
        """setupTimeout or teardownTimeout in seconds (k6's default 60s)."""
        option = f"{name}Timeout"
        return seconds(self.options.get(option) or LIFECYCLE_TIMEOUT, option)

    async def _lifecycle(self, name: str, fn: Any, factory: VUFactory, *args: Any) -> Any:
        timeout = self._lifecycle_timeout(name)
        vu = factory.new_vu(Scenario(name=name, executor="shared-iterations"), counted=False)
        vu.deadline = time.monotonic() + timeout
        if self.watchdog is not None:
            self.watchdog.arm(vu.deadline)
        token = current_vu.set(vu)
        try:
            return await asyncio.wait_for(prepare_call(fn, *args)(*args), timeout)
        except (asyncio.TimeoutError, asyncio.CancelledError) as exc:
            if time.monotonic() < vu.deadline - TIMER_SLACK or self.error is not None:
                if isinstance(exc, asyncio.TimeoutError):  # raised by the script itself
                    raise ScriptError(f"{name}() failed: {script_traceback(exc, self.req.script)}") from exc
                raise  # stopped
            code = ExitCode.SETUP_TIMEOUT if name == "setup" else ExitCode.TEARDOWN_TIMEOUT
            raise _LifecycleTimeout(f"{name}() execution timed out after {timeout:g} seconds", code) from exc
        except ScriptAbort as exc:
            self._abort_by_script(exc)
            raise asyncio.CancelledError from exc
        except Exception as exc:
            raise ScriptError(f"{name}() failed: {script_traceback(exc, self.req.script)}") from exc
        finally:
            current_vu.reset(token)
            vu.close()

    async def _main_task(self, factory: VUFactory, pump: Pump) -> None:
        periodic = asyncio.ensure_future(self._emit_vus(pump))
        ticker = asyncio.ensure_future(pump.tick())
        progress = display.start_progress(self) if not self.req.quiet else None
        if progress is None and not self.req.quiet and not isatty(self.req.stdout):  # k6's CI-log blocks
            self._ci_progress = display.CIProgress(self, self.req.stdout)
            progress = asyncio.ensure_future(self._ci_progress.loop())
        try:
            self._main = asyncio.ensure_future(self._run_scenarios(factory))
            try:
                await self._main
            except asyncio.CancelledError:
                if self.error is None:
                    raise
        except _LifecycleTimeout as exc:
            self.error = RunError(str(exc), reason=AbortReason.TIMEOUT, exit_code=exc.exit_code)
        except SharedLifecycleError as exc:
            self.error = RunError(str(exc), reason=exc.reason, exit_code=exc.exit_code)
        except ScriptError as exc:
            self.error = RunError(str(exc), reason=AbortReason.SCRIPT_ERROR, exit_code=ExitCode.SCRIPT_EXCEPTION)
        finally:
            self.control.mark_ended()
            if self.req.linger:
                self.ended_at = time.monotonic()  # rates stop at the end, not at the signal
                await self.control.linger(None if self.req.quiet else self.req.stdout)
            for t in (periodic, ticker, progress):
                if t is not None:
                    t.cancel()
            await asyncio.gather(periodic, ticker, *([progress] if progress else []), return_exceptions=True)
            pump.emit(self._vus_sample())  # one last vus/vus_max so outputs see the end state

    def execute(self) -> int:
        """Run everything and return the process exit code."""
        previous: dict[int, Any] = {}
        try:
            return self._execute(previous)
        finally:
            if self.api is not None:
                self.api.close()
            # only now: a second signal must work until the outputs are stopped
            if not self._interrupts:  # once signalled, the next signal exits at once until the process ends
                for sig, handler in previous.items():
                    signal.signal(sig, handler)

    def _execute(self, previous: dict[int, Any]) -> int:
        self.prepare()
        req = self.req
        if not req.quiet:
            display.banner(
                req.stdout,
                req.script,
                self.manager.descriptions(),
                self.scenarios,
                float(self.share.segment.length),
            )
        self._start_api()
        loop = self._loop = new_loop()
        self.manager.set_thresholds(self.thresholds.by_key)
        try:
            self.manager.start(self.abort)
        except BaseException:
            loop.close()
            raise
        first = self.share.segment.start == 0  # the instance whose execution segment starts at 0
        self.shared = SharedLifecycle(self.manager.setup_coordinator(), first)
        if self.summary_mode == "full" and not (req.no_summary or self.options.get("noSummary")):
            self._grouped = GroupedSummary()  # full mode: every sample also by group and scenario
        pump = self._pump = Pump(self.manager, self.store, self._grouped.add if self._grouped else None)
        outputs_backlog = over((self.manager.backlog, OUTPUT_BACKLOG_LIMIT), (memory_growth(), MEMORY_BUDGET))
        beat = IDLE_BEAT_PERIOD if self.workers > 1 else BEAT_PERIOD  # with workers, no VU runs here
        pacer = self._pacer = Pacer(pump.backlog, BACKLOG_LIMIT, outputs_backlog, 0, period=beat)
        watchdog = self.watchdog = Watchdog(pacer, self.script.file, self._give_up)
        factory = self.factory = VUFactory(
            builtin=self.builtin,
            registry=self.registry,
            emit=pump.emit,
            system_tags=self.system_tags,
            base_tags=self.base_tags,
            options=self.options,
            run=self,
            pacer=pacer,
            watchdog=watchdog,
        )
        pump.start()
        evaluator = PeriodicEvaluator(self.thresholds, self.store, self.elapsed, self.abort)
        evaluator.start()
        self._set_status(RunStatus.INITIALIZING)
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                previous[sig] = signal.signal(sig, self._on_signal)
            except ValueError:  # not the main thread: the embedding program handles signals
                pass
        uninstall = unawaited.install(self._count_error)
        watchdog.start()
        try:
            if self.error is None:  # an output may have stopped the run while starting
                with run_gc_policy():
                    loop.run_until_complete(self._run_paced(factory, pump))
        except Exception as exc:  # a bug must still leave every output stopped and flushed
            _log.debug("the run failed", exc_info=exc)
            self.error = RunError(f"internal error: {type(exc).__name__}: {exc}", exit_code=ExitCode.GENERIC)
        finally:
            watchdog.stop()
            uninstall()
            close_loop(loop)
            if not pump.close():
                _log.error(
                    "the metric pump did not finish within %gs: samples still in it are not in the "
                    "summary nor the outputs",
                    CLOSE_TIMEOUT,
                )
        self.ended_at = self.ended_at or time.monotonic()
        elapsed = self.elapsed()
        final = evaluator.finish()
        if self.error is None and not final.ok:
            self.error = final.error()
        self._set_status(self.error.run_status if self.error else RunStatus.FINISHED)
        stop_error: OutputStopError | None = None
        try:
            self.manager.stop(self.error)
        except OutputStopError as exc:
            stop_error = exc
        for line in self.manager.failure_report():
            _log.warning("%s", line)
        self._report_errors()
        if stop_error is not None:
            _log.error("%s", stop_error)
        reports = self.manager.reports()
        EndReport(
            req=self.req,
            options=self.options,
            store=self.store,
            thresholds=self.thresholds,
            groups=self.groups,
            trend_stats=self.trend_stats,
            time_unit=self.time_unit,
            summary_mode=self.summary_mode,
            grouped=self._grouped,
            setup_data=self.setup_data,
            has_setup=self.script.setup is not None,
            handle_summary=self.script.handle_summary,
        ).write(elapsed, reports)
        if self._ci_progress is not None:
            self._ci_progress.close()
        losses = [r for r in reports if r.lost]
        for r in losses:
            _log.warning("output %s lost %d samples: %s", r.label, r.lost, r.loss_text())
        if self.error is not None:
            if self.error.reason not in (AbortReason.THRESHOLDS_AFTER_TEST_END, None) or self.error.exit_code:
                _log.error("%s", self.error)
            return self.error.exit_code
        if losses and not req.allow_output_loss:
            return ExitCode.OUTPUT_LOSS
        return ExitCode.OK

    def _start_api(self) -> None:
        """Serve k6's REST API on ``--address`` (exit 106 when it is taken, unless it is the default address)."""
        if not self.req.address:
            return
        server = ApiServer(self.req.address, self.control)
        try:
            server.start()
        except AddressError as exc:
            if self.req.address_explicit:
                raise
            _log.debug("the REST API is off: %s", exc)
            return
        self.api = server
        self.control.set_phase(ExecutionStatus.INIT_DONE)

    async def _run_paced(self, factory: VUFactory, pump: Pump) -> None:
        self._pacer.start(asyncio.get_running_loop())
        try:
            await self._main_task(factory, pump)
        finally:
            self._pacer.stop()

    def _report_errors(self) -> None:
        """The run's script errors by kind, and the iterations the clock interrupted."""
        with self._errors_lock:
            lines = self.errors.report()
        for line in lines:
            _log.error("%s", line)
        if self.interrupted_iterations:
            _log.warning(
                "%d iteration(s) were interrupted (stopped by the clock or a signal before they ended)",
                self.interrupted_iterations,
            )


class _LifecycleTimeout(Exception):
    """setup() or teardown() ran past setupTimeout/teardownTimeout (exit 100/101)."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def _stop_outputs(manager: Manager, error: RunError, deadline: float) -> None:
    """Stop the outputs at once for an emergency exit: what is still queued is counted, not delivered."""
    try:
        manager.stop(error, deadline=deadline, drain=False)
    except Exception as exc:  # exiting anyway: say what was lost, never a traceback
        _log.error("stopping the outputs failed: %s", exc)


def run_test(req: RunRequest) -> int:
    """Run the test ``req`` describes (a script or an archive) and return the exit code."""
    if not is_archive(req.script):
        return TestRun(req).execute()
    with open_archive(req.script) as opened:
        meta = opened.metadata
        env = {**meta.env, **req.env_vars}
        return TestRun(
            dataclasses.replace(req, script=opened.script, script_options=meta.options, env_vars=env)
        ).execute()
