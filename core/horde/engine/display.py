"""What a person sees during a run: the start banner and the live progress line."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from ..durations import format_duration
from .scenarios import Scenario

__all__ = ["banner", "describe_scenario", "start_progress", "fmt_duration"]


def fmt_duration(seconds: float) -> str:
    """``1m30s``, ``10s``, ``500ms`` — Go's Duration.String, as k6 prints durations."""
    return format_duration(seconds)


def fmt_elapsed(seconds: float) -> str:
    """``00m05.2s``: the elapsed time of k6's progress line."""
    m, s = divmod(max(0.0, seconds), 60)
    return f"{int(m):02d}m{s:04.1f}s"


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
        "  execution: local",
        f"     script: {script}",
        f"     output: {', '.join(outputs) if outputs else '-'}",
        "",
        f"  scenarios: ({segment_length * 100:.2f}%) {n} scenario{'s' if n != 1 else ''}, {max_vus} max VUs, "
        f"{fmt_duration(max_dur)} max duration (incl. graceful stop):",
    ]
    lines += [f"           {describe_scenario(s)}" for s in scenarios]
    out.write("\n".join(lines) + "\n\n")
    out.flush()


def start_progress(run: Any, stream: TextIO | None = None) -> asyncio.Task | None:
    """A task refreshing one progress line every second on a terminal; None when not a TTY."""
    stream = stream or sys.stderr
    if not stream.isatty():
        return None

    async def loop() -> None:
        last_reqs, last_t = 0.0, time.monotonic()
        try:
            while True:
                await asyncio.sleep(1.0)
                now = time.monotonic()
                sink = run.store.sinks.get(run.builtin.http_reqs)
                reqs = sink.count if sink is not None else 0.0
                rps = (reqs - last_reqs) / (now - last_t) if now > last_t else 0.0
                last_reqs, last_t = reqs, now
                done = run.completed_iterations()
                active, initialized = run.vu_counts()
                stream.write(
                    f"\rrunning ({fmt_elapsed(run.elapsed())}), {active}/{initialized} VUs, "
                    f"{done} complete iterations, {rps:.0f} req/s   "
                )
                stream.flush()
        finally:
            stream.write("\r" + " " * 79 + "\r")
            stream.flush()

    return asyncio.ensure_future(loop())
