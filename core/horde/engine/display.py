"""What a person sees during a run: the start banner and the live progress line."""

from __future__ import annotations

import asyncio
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from ..durations import format_duration
from .scenarios import Scenario

__all__ = [
    "banner",
    "describe_scenario",
    "start_progress",
    "fmt_duration",
    "fixed_length_duration",
    "CIProgress",
    "render_ci_progress",
]


def fmt_duration(seconds: float) -> str:
    """``1m30s``, ``10s``, ``500ms`` — Go's Duration.String, as k6 prints durations."""
    return format_duration(seconds)


def fixed_length_duration(seconds: float, max_seconds: float) -> str:
    """k6's ``pb.GetFixedLengthDuration``: ``03.0s``, ``00m03.0s``, ``0h00m03.0s``... as wide as ``max_seconds`` needs."""
    seconds, max_seconds = abs(seconds), abs(max_seconds)
    tenths = int(round(seconds * 10))
    max_tenths = int(round(max(max_seconds, seconds) * 10))
    t, s_tenth = divmod(tenths, 10)
    t, s_unit = divmod(t, 10)
    text = f"{s_unit}.{s_tenth}s"
    if max_tenths < 100:
        return text
    t, s_ten = divmod(t, 6)
    text = f"{s_ten}{text}"
    if max_tenths < 600:
        return text
    t, m_unit = divmod(t, 10)
    text = f"{m_unit}m{text}"
    if max_tenths < 6000:
        return text
    t, m_ten = divmod(t, 6)
    text = f"{m_ten}{text}"
    if max_tenths < 36000:
        return text
    days, hours = divmod(t, 24)
    if max_tenths < 360000:
        return f"{hours % 10}h{text}"
    if max_tenths < 864000:
        return f"{hours:02d}h{text}"
    return f"{days}d{hours:02d}h{text}"


def describe_scenario(sc: Scenario) -> str:
    """One banner line for ``sc``, worded like k6's."""
    gs = f"gracefulStop: {fmt_duration(sc.graceful_stop)}"
    if sc.executor == "shared-iterations":
        what = (
            f"{sc.iterations} iterations shared among {sc.vus} VUs (maxDuration: {fmt_duration(sc.max_duration)}, {gs})"
        )
    elif sc.executor == "per-vu-iterations":
        what = (
            f"{sc.iterations} iterations for each of {sc.vus} VUs (maxDuration: {fmt_duration(sc.max_duration)}, {gs})"
        )
    elif sc.executor == "constant-vus":
        what = f"{sc.vus} looping VUs for {fmt_duration(sc.duration)} ({gs})"
    elif sc.executor == "ramping-vus":
        what = (
            f"Up to {sc.max_vus_needed} looping VUs for {fmt_duration(sc.total_duration)} over {len(sc.stages)} stages "
            f"(gracefulRampDown: {fmt_duration(sc.graceful_ramp_down)}, {gs})"
        )
    elif sc.executor == "constant-arrival-rate":
        what = (
            f"{sc.rate * float(sc.share.segment.length):g} iterations/{fmt_duration(sc.time_unit)} for {fmt_duration(sc.duration)} "
            f"(maxVUs: {sc.max_vus}, {gs})"
        )
    else:
        what = (
            f"Up to {max([sc.start_rate, *(s.target for s in sc.stages)]) * float(sc.share.segment.length):g} iterations/{fmt_duration(sc.time_unit)} "
            f"for {fmt_duration(sc.total_duration)} over {len(sc.stages)} stages (maxVUs: {sc.max_vus}, {gs})"
        )
    start = f" (startTime: {fmt_duration(sc.start_time)})" if sc.start_time else ""
    return f"* {sc.name}: {what}{start}"


def banner(
    out: TextIO, script: Path, outputs: Sequence[str], scenarios: Sequence[Scenario], segment_length: float = 1.0
) -> None:
    """Print k6's start banner: script, outputs and scenarios (``segment_length``: this instance's part)."""
    max_vus = sum(s.max_vus_needed for s in scenarios)
    max_dur = max((s.start_time + s.total_duration + s.graceful_stop for s in scenarios), default=0.0)
    n = len(scenarios)
    lines = [
        "",
        "     execution: local",
        f"        script: {script}",
        f"        output: {', '.join(outputs) if outputs else '-'}",
        "",
        f"     scenarios: ({segment_length * 100:.2f}%) {n} scenario{'s' if n != 1 else ''}, {max_vus} max VUs, "
        f"{fmt_duration(max_dur)} max duration (incl. graceful stop):",
    ]
    lines += [f"              {describe_scenario(s)}" for s in scenarios]
    out.write("\n".join(lines) + "\n\n")
    out.flush()


def start_progress(run: Any, stream: TextIO | None = None) -> asyncio.Task | None:
    """A task redrawing k6's ``running (...)`` line every second on a terminal; None when not a TTY."""
    stream = stream or sys.stderr
    if not stream.isatty():
        return None
    scenarios = getattr(run, "scenarios", [])
    max_duration = max((s.start_time + s.total_duration + s.graceful_stop for s in scenarios), default=0.0)
    max_vus = sum(s.max_vus_needed for s in scenarios)

    async def loop() -> None:
        try:
            while True:
                await asyncio.sleep(1.0)
                block = render_ci_progress(
                    [],
                    run.elapsed(),
                    max_duration,
                    run.vu_counts(),
                    max_vus,
                    run.completed_iterations(),
                    getattr(run, "interrupted_iterations", 0),
                    paused=bool(getattr(getattr(run, "control", None), "paused", False)),
                    started=bool(getattr(run, "started_at", 1.0)),
                )
                stream.write("\r" + block.strip("\n") + "\x1b[K")
                stream.flush()
        finally:
            stream.write("\r\x1b[K")
            stream.flush()

    return asyncio.ensure_future(loop())


_ITERATION_EXECUTORS = ("shared-iterations", "per-vu-iterations")


def _fixed_float(value: float, max_value: float) -> str:
    """k6's ``GetFixedLengthFloatFormat(max, 2)``: ``value`` with 2 decimals, zero-padded as wide as ``max``."""
    width = 1 + (int(math.log10(abs(max_value))) if abs(max_value) >= 10 else 0) + (1 if max_value < 0 else 0) + 3
    return f"{value:0{width}.2f}"


def _arrival_rate_at(sc: Scenario, spent: float) -> float:
    """A ramping-arrival-rate scenario's iterations per second ``spent`` seconds in (its stages interpolated)."""
    rate, t = sc.start_rate, 0.0
    for stage in sc.stages:
        if spent <= t + stage.duration:
            if stage.duration <= 0:
                return stage.target / sc.time_unit
            return (rate + (stage.target - rate) * (spent - t) / stage.duration) / sc.time_unit
        rate, t = stage.target, t + stage.duration
    return rate / sc.time_unit


def _scenario_bar(
    sc: Scenario, elapsed: float, done_iterations: int | None, active_vus: int | None, finished: bool
) -> tuple[str, str, list[str]]:
    """(status, progress, right columns) of one scenario's k6 progress bar (k6's executors' progressFn)."""
    spent = max(0.0, elapsed - sc.start_time)
    iterations_based = sc.executor in _ITERATION_EXECUTORS
    limit = sc.max_duration if iterations_based else sc.total_duration
    progress = spent / limit if limit > 0 else 1.0
    if sc.executor == "shared-iterations" and done_iterations is not None and sc.iterations:
        progress = done_iterations / sc.iterations
    elif sc.executor == "per-vu-iterations" and done_iterations is not None and sc.iterations and sc.vus:
        progress = done_iterations / (sc.iterations * sc.vus)
    progress = min(1.0, max(0.0, progress))
    over = spent > limit or (finished and spent >= limit)
    timing = fmt_duration(limit) if over else f"{fixed_length_duration(spent, limit)}/{fmt_duration(limit)}"
    if sc.executor == "shared-iterations":
        timing = f"{fixed_length_duration(min(spent, limit), limit)}/{fmt_duration(limit)}"
    if sc.executor == "ramping-vus" and not over:
        timing = f"{fixed_length_duration(spent, limit)}/{fixed_length_duration(limit, limit)}"
    if sc.executor in ("shared-iterations", "per-vu-iterations", "constant-vus"):
        right = [f"{sc.max_vus_needed} VUs", timing]
    else:
        width = len(str(sc.max_vus_needed))
        active = sc.max_vus_needed if active_vus is None else active_vus
        right = [f"{active:0{width}d}/{sc.max_vus_needed:0{width}d} VUs", timing]
        if sc.executor == "constant-arrival-rate":
            per_second = sc.rate / sc.time_unit
            right.append(f"{_fixed_float(per_second, per_second)} iters/s")
        elif sc.executor == "ramping-arrival-rate":
            top = max([sc.start_rate, *(st.target for st in sc.stages)]) / sc.time_unit
            right.append(f"{_fixed_float(_arrival_rate_at(sc, min(spent, limit)), top)} iters/s")
    if done_iterations is not None and sc.executor == "shared-iterations":
        width = len(str(sc.iterations))
        right.append(f"{done_iterations:0{width}d}/{sc.iterations} shared iters")
    elif done_iterations is not None and sc.executor == "per-vu-iterations":
        total = sc.iterations * sc.vus
        width = len(str(total))
        right.append(f"{done_iterations:0{width}d}/{total} iters, {sc.iterations} per VU")
    status = " " if not finished else "✓" if progress >= 1 else "✗"
    return status, f"[ {progress * 100:3.0f}% ]", right


def render_ci_progress(
    scenarios: Sequence[Scenario],
    elapsed: float,
    max_duration: float,
    vus: tuple[int, int],
    max_vus: int,
    complete: int,
    interrupted: int,
    finished: bool = False,
    paused: bool = False,
    started: bool = True,
) -> str:
    """k6's progress block when stdout is not a terminal: the ``running (...)`` line and one bar per scenario.

    ``paused`` says ``paused`` instead of ``running``; before the start (``started`` false) no time is shown.
    """
    width = len(str(max_vus))
    status = "paused" if paused else "running"
    if started:
        status += f" ({fixed_length_duration(elapsed, max_duration)})"
    lines = [
        f"{status}, {vus[0]:0{width}d}/{vus[1]:0{width}d} VUs, "
        f"{complete} complete and {interrupted} interrupted iterations"
    ]
    single = len(scenarios) == 1  # run-wide counts are this scenario's
    done = complete if single else None
    active = vus[0] if single else None
    bars = [(sc.name, *_scenario_bar(sc, elapsed, done, active, finished)) for sc in scenarios]
    max_left = min(30, max([len("Init"), *(len(name) for name, *_ in bars)]))  # k6's init bar is "Init"
    col_widths = [0, 0]
    for *_, right in bars:
        for i, col in enumerate(right[:-1][:2]):
            col_widths[i] = max(col_widths[i], len(col))
    for name, status, progress, right in bars:
        left = name if len(name) <= max_left else name[: max_left - 1] + "…"
        text = "".join(f" {col:<{(col_widths[i] if i < 2 else 0) + 1}}" for i, col in enumerate(right))
        lines.append(f"{left:<{max_left}} {status} {progress}{text}".rstrip())
    return "\n" + "\n".join(lines) + "\n"


class CIProgress:
    """k6's progress output for a stdout that is not a terminal (CI logs): a block every second, one at the end."""

    def __init__(self, run: Any, stream: TextIO, period: float = 1.0) -> None:
        self.run = run
        self.stream = stream
        self.period = period
        scenarios = run.scenarios
        self.max_duration = max((s.start_time + s.total_duration + s.graceful_stop for s in scenarios), default=0.0)
        self.max_vus = sum(s.max_vus_needed for s in scenarios)

    def render(self, finished: bool = False) -> str:
        """The block for this moment (``finished``: the closing block, every scenario done)."""
        run = self.run
        return render_ci_progress(
            run.scenarios,
            run.elapsed(),
            self.max_duration,
            run.vu_counts() if not finished else (0, run.vu_counts()[1]),
            self.max_vus,
            run.completed_iterations(),
            run.interrupted_iterations,
            finished,
            paused=bool(getattr(getattr(run, "control", None), "paused", False)) and not finished,
            started=bool(run.started_at) or finished,
        )

    async def loop(self) -> None:
        """Write a block every ``period`` seconds until cancelled."""
        while True:
            await asyncio.sleep(self.period)
            self.stream.write(self.render())
            self.stream.flush()

    def close(self) -> None:
        """Write the closing block (k6 prints it after the summary)."""
        self.stream.write(self.render(finished=True))
        self.stream.flush()
