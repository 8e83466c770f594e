"""The conformance checks: each drives a fresh output through the contract and inspects what it kept."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Iterable
from typing import TypeVar

from ..errors import AbortReason, ExitCode, RunError
from ..metrics import SampleContainer
from ..runstatus import RunStatus
from .checkdata import TAG_CASES, KitData
from .compare import (
    CheckFailed,
    expect_same,
    expect_same_totals,
    read_keys,
    sample_keys,
    totals_of_containers,
    totals_of_reads,
)
from .harness import Driven, Worker, wait
from .readback import OutputUnderTest, ReadSample, SeriesTotal

T = TypeVar("T")

__all__ = ["CHECKS", "Check", "CheckContext", "THREAD_GRACE", "AFTER_STOP_WAIT"]

THREAD_GRACE = 5.0
"""Seconds an output's threads get to end after ``stop`` returned."""

AFTER_STOP_WAIT = 1.0
"""Seconds the kit waits after handing samples to a stopped output, before reading back."""


@dataclasses.dataclass
class CheckContext:
    """What a check runs with: the author's output description, fresh kit data and the bulk size."""

    uut: OutputUnderTest
    bulk_samples: int = 1_000_000
    data: KitData = dataclasses.field(default_factory=KitData)

    hook: str | None = None
    """The optional hook the running check is about."""

    def drive(self) -> Driven:
        """A fresh output, bound; the check is skipped if it lacks the optional hook the check is about."""
        out = Driven(self.uut)
        if self.hook is not None and not out.has(self.hook):
            out.close()
            import pytest

            pytest.skip(f"the output does not implement the optional hook {self.hook}")
        return out


@dataclasses.dataclass(frozen=True)
class Check:
    """One conformance check: ``run(ctx)`` raises :class:`CheckFailed` when the output breaks the contract."""

    name: str
    run: Callable[[CheckContext], None]
    needs: frozenset[str] = frozenset()
    hook: str | None = None
    """The optional hook the check is about: skipped when the output does not implement it."""

    @property
    def doc(self) -> str:
        return (self.run.__doc__ or "").strip().splitlines()[0]


CHECKS: dict[str, Check] = {}
"""Every check by name, in the order they run."""


def _check(
    name: str, needs: Iterable[str] = (), hook: str | None = None
) -> Callable[[Callable[[CheckContext], None]], Callable[[CheckContext], None]]:
    def register(fn: Callable[[CheckContext], None]) -> Callable[[CheckContext], None]:
        CHECKS[name] = Check(name, fn, frozenset(needs) | ({hook} if hook else set()), hook)
        return fn

    return register


def _samples(uut: OutputUnderTest) -> Iterable[ReadSample]:
    assert uut.read_samples is not None
    return uut.read_samples()


def _totals(uut: OutputUnderTest) -> Iterable[SeriesTotal]:
    assert uut.read_totals is not None
    return uut.read_totals()


def _reading(uut: OutputUnderTest, fn: Callable[[], T]) -> T:
    """``fn()`` (which reads the output's data back) on a kit thread, failing after ``uut.read_timeout``."""
    worker = Worker("reader")
    try:
        result: T = worker.call("reading back the output's data", fn, uut.read_timeout)
        return result
    finally:
        worker.close()


def _expect_read_back(ctx: CheckContext, sent: list[SampleContainer], what: str) -> None:
    """Fail unless the output's data, read back, is exactly ``sent`` (per sample, or per series totals)."""
    uut = ctx.uut
    if "read_back" in uut.lacks:
        return
    if uut.read_samples is not None:
        expect_same(sample_keys(sent, uut), _reading(uut, lambda: read_keys(_samples(uut), uut)), what)
        return
    assert uut.read_totals is not None
    got = _reading(uut, lambda: totals_of_reads(None, _totals(uut), uut))
    expect_same_totals(totals_of_containers(sent, uut), got, what, times=False)


def _run_and_compare(ctx: CheckContext, sent: list[SampleContainer], what: str, **run: object) -> Driven:
    out = ctx.drive()
    try:
        out.run(ctx.data.batches(sent), **run)  # type: ignore[arg-type]
    finally:
        out.close()
    _expect_read_back(ctx, sent, what)
    return out


@_check("hooks_in_order_once_each")
def hooks_in_order_once_each(ctx: CheckContext) -> None:
    """The output binds to the hookspecs and survives one call of each hook in the documented order."""
    out = ctx.drive()
    sent = ctx.data.all_types()
    try:
        out.run(ctx.data.batches(sent))
    finally:
        out.close()
    if out.stop_requests:
        raise CheckFailed(f"the output asked to stop a clean run: {out.stop_requests[0]!r}")
    _expect_read_back(ctx, sent, "after one clean run")


@_check("add_samples_while_another_thread_stops")
def add_samples_while_another_thread_stops(ctx: CheckContext) -> None:
    """add_samples keeps coming from the delivery thread while the main thread calls stop: no hang, no
    crash; every sample handed before stop is kept, none handed after stop returned."""
    out = ctx.drive()
    handed: dict[str, list[SampleContainer]] = {"before": [], "during": [], "after": []}
    phase = ["before"]
    enough = threading.Event()
    errors: list[BaseException] = []

    def deliver() -> None:
        calls = 0
        while len(handed["after"]) < 60:
            batch = ctx.data.numbered(calls)
            p = phase[0]
            try:
                out.hooks["add_samples"](batch)
            except Exception as exc:  # refusing during or after stop is allowed
                if p == "before":
                    errors.append(exc)
                    break
            handed[p if p == phase[0] else "during"].extend(batch)
            calls += 1
            if calls == 50:
                enough.set()
            time.sleep(0.001)
        enough.set()

    try:
        out.description()
        out.start()
        out.status(RunStatus.RUNNING)
        reply = out.delivery.submit(deliver)
        if not enough.wait(ctx.uut.stop_timeout):
            raise CheckFailed(f"50 add_samples calls did not return within {ctx.uut.stop_timeout:g} s")
        phase[0] = "during"
        out.stopped = True
        out.main.call("stop(None) from the main thread", lambda: out.hooks["stop"](None), ctx.uut.stop_timeout)
        phase[0] = "after"
        wait(reply, "add_samples after stop", ctx.uut.stop_timeout)
    finally:
        phase[0] = "after"  # a failed check must not leave the delivery loop running
        out.close()
    if errors:
        raise CheckFailed(f"add_samples raised before stop: {errors[0]!r}")
    uut = ctx.uut
    if "read_back" in uut.lacks:
        return
    if uut.read_samples is None:
        assert uut.read_totals is not None
        got = _reading(uut, lambda: totals_of_reads(None, _totals(uut), uut))
        known = [k for k in got.count if k not in got.unknown_count]
        n_got = sum(got.count[k] for k in known)
        lo, hi = (
            sum(totals_of_containers(cs, uut).count[k] for k in known)
            for cs in (handed["before"], handed["before"] + handed["during"])
        )
        if n_got < lo:
            raise CheckFailed(f"read back {n_got} samples of the {lo} handed before stop")
        if n_got > hi:
            raise CheckFailed(f"read back {n_got} samples: more than the {hi} handed before stop returned")
        return
    got_keys = _reading(uut, lambda: read_keys(_samples(uut), uut))
    missing = sample_keys(handed["before"], uut) - got_keys
    if missing:
        raise CheckFailed(
            f"{sum(missing.values())} of the samples handed before stop are missing, e.g. {next(iter(missing))}"
        )
    late = sample_keys(handed["after"], uut) & got_keys
    if late:
        raise CheckFailed(
            f"{sum(late.values())} samples handed after stop returned were stored, e.g. {next(iter(late))}"
        )
    twice = [k for k, n in got_keys.items() if n > 1]
    if twice:
        raise CheckFailed(f"samples were stored twice, e.g. {twice[0]}")


@_check("metric_and_value_types", needs=["read_back"])
def metric_and_value_types(ctx: CheckContext) -> None:
    """Every metric type (counter, gauge, rate, trend) with every value type (default, time, data) reads back."""
    _run_and_compare(ctx, ctx.data.all_types(), "every metric and value type")


def _tag_check(case: str) -> Callable[[CheckContext], None]:
    def run(ctx: CheckContext) -> None:
        _run_and_compare(
            ctx, ctx.data.tag_case(case), f"a tag value with {case.replace('_', ' ')} ({TAG_CASES[case]!r})"
        )

    run.__doc__ = f"A tag value with {case.replace('_', ' ')} ({TAG_CASES[case]!r}) reads back unchanged."
    return run


for _case in TAG_CASES:
    _check(f"tags_{_case}", needs=["read_back", "tags"])(_tag_check(_case))


@_check("metadata", needs=["read_back", "metadata"])
def metadata(ctx: CheckContext) -> None:
    """Metadata (vu, iter, trace_id) reads back with each sample; samples without metadata stay without."""
    if ctx.uut.read_samples is None:
        import pytest

        pytest.skip("the output reads back per-series totals, which carry no metadata")
    _run_and_compare(ctx, ctx.data.with_metadata(), "samples with metadata")


@_check("million_samples_without_loss", needs=["read_back"])
def million_samples_without_loss(ctx: CheckContext) -> None:
    """A million samples (100 batches of 10,000) read back without one lost, added or changed."""
    n = ctx.bulk_samples
    out = ctx.drive()
    try:
        out.description()
        out.start()
        out.status(RunStatus.RUNNING)
        out.add_all(ctx.data.bulk(n))
        out.status(RunStatus.FINISHED)
        out.stop(None, ctx.uut.bulk_stop_timeout)
        out.report()
    finally:
        out.close()
    uut = ctx.uut
    sent = totals_of_containers(ctx.data.bulk_again(n), uut)
    got = _reading(
        uut,
        lambda: totals_of_reads(
            None if uut.read_totals else _samples(uut), _totals(uut) if uut.read_totals else None, uut
        ),
    )
    expect_same_totals(sent, got, f"{n} samples", times=uut.read_totals is None)


@_check("stop_with_run_error")
def stop_with_run_error(ctx: CheckContext) -> None:
    """stop(error) with a RunError (a script error) returns and still flushes every sample."""
    error = RunError("kit: the script failed", reason=AbortReason.SCRIPT_ERROR, exit_code=ExitCode.SCRIPT_EXCEPTION)
    _run_and_compare(ctx, ctx.data.all_types(), "a run stopped with a RunError", error=error)


@_check("set_thresholds", hook="set_thresholds")
def set_thresholds(ctx: CheckContext) -> None:
    """set_thresholds with real thresholds (a metric and a sub-metric) before start; the run goes on."""
    from ..thresholds import Threshold

    trend = ctx.data.metrics[7]  # kit_trend_time
    trend.add_submetric("hard:x", {"hard": "x"})
    thresholds = {
        trend.name: [Threshold("p(95)<500"), Threshold("avg<100", abort_on_fail=True)],
        f"{trend.name}{{hard:x}}": [Threshold("max<1000")],
    }
    _run_and_compare(ctx, ctx.data.all_types(), "a run with thresholds", thresholds=thresholds)


@_check("set_run_status", hook="set_run_status")
def set_run_status(ctx: CheckContext) -> None:
    """set_run_status with every status from created to the final one, between add_samples calls."""
    out = ctx.drive()
    sent = ctx.data.all_types()
    try:
        out.description()
        out.start()
        for status in (RunStatus.CREATED, RunStatus.INITIALIZING, RunStatus.RUNNING):
            out.status(status)
        for batch in ctx.data.batches(sent):
            out.add(batch)
            out.status(RunStatus.RUNNING)
        out.status(RunStatus.ABORTED_USER)
        out.stop(RunError("kit: aborted by the user", reason=AbortReason.USER, exit_code=ExitCode.EXTERNAL_ABORT))
        out.report()
    finally:
        out.close()
    _expect_read_back(ctx, sent, "a run with status changes")


@_check("set_test_run_stop", hook="set_test_run_stop")
def set_test_run_stop(ctx: CheckContext) -> None:
    """set_test_run_stop receives a stop callable before start and never calls it in a clean run."""
    out = _run_and_compare(ctx, ctx.data.all_types(), "a run with a stop callable")
    if out.stop_requests:
        raise CheckFailed(f"the output called the run's stop callable in a clean run: {out.stop_requests[0]!r}")


@_check("report", hook="report")
def report(ctx: CheckContext) -> None:
    """report() after stop returns None or str -> non-negative int counts; 'written', when given, counts
    every sample of a clean run (or at least none less than what reads back)."""
    out = ctx.drive()
    sent = ctx.data.all_types()
    try:
        out.run(ctx.data.batches(sent))
        counts = out.report()
    finally:
        out.close()
    if counts and "written" in counts and ctx.uut.per_sample:
        n = sum(len(c.values) for c in sent)
        if counts["written"] != n:
            raise CheckFailed(f"report() says written={counts['written']} after a clean run of {n} samples")
    _expect_read_back(ctx, sent, "a run with report()")


@_check("flush_at_stop", needs=["read_back"])
def flush_at_stop(ctx: CheckContext) -> None:
    """Samples handed just before stop (no time for a periodic flush) are all written by stop."""
    out = ctx.drive()
    sent = ctx.data.all_types() + ctx.data.tag_case("unicode")
    try:
        out.description()
        out.start()
        out.add(sent)
        out.stop(None)
    finally:
        out.close()
    _expect_read_back(ctx, sent, "samples handed right before stop")


@_check("nothing_accepted_after_stop", needs=["read_back"])
def nothing_accepted_after_stop(ctx: CheckContext) -> None:
    """add_samples after stop raises or is refused, and nothing handed after stop is ever written."""
    out = ctx.drive()
    sent = ctx.data.all_types()
    late = ctx.data.tag_case("spaces")
    try:
        out.run(ctx.data.batches(sent))
        try:
            out.add(late)
        except CheckFailed:
            raise
        except Exception:  # raising is one way to refuse
            pass
        time.sleep(AFTER_STOP_WAIT)
    finally:
        out.close()
    _expect_read_back(ctx, sent, "samples handed after stop")


@_check("no_thread_left_after_stop")
def no_thread_left_after_stop(ctx: CheckContext) -> None:
    """Every thread the output started has ended shortly after stop returned."""
    out = ctx.drive()
    try:
        out.run(ctx.data.batches(ctx.data.all_types()))
    finally:
        out.close()
    left = out.new_threads(THREAD_GRACE)
    if left:
        names = ", ".join(f"{t.name!r}{' (daemon)' if t.daemon else ''}" for t in left)
        raise CheckFailed(f"{len(left)} thread(s) still running {THREAD_GRACE:g} s after stop returned: {names}")
