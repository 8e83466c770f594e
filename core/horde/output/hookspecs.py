"""The hooks an output implements (pluggy project ``horde``).

Mark each implementation with :data:`horde.output.hookimpl`. ``description``,
``start``, ``add_samples`` and ``stop`` are required; the rest are optional.
Call order for one run: ``set_thresholds`` → ``set_test_run_stop`` → ``start``
→ ``setup_coordinator`` → ``set_run_status`` / ``add_samples`` … → ``stop`` → ``report``.
docs/writing-an-output.md gives each hook's full contract (when, from which
thread, what it may raise and what then happens); a test keeps the two in step.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from ..errors import RunError
    from ..metrics.sample import SampleContainer
    from ..runstatus import RunStatus
    from ..thresholds import Threshold
    from .coordination import SetupCoordinator

hookspec = pluggy.HookspecMarker("horde")
hookimpl = pluggy.HookimplMarker("horde")

REQUIRED_HOOKS = ("description", "start", "add_samples", "stop")
"""Hooks every output must implement (k6's ``Output`` interface)."""


@hookspec(firstresult=True)
def description() -> str:
    """Return a short label for the start banner and ``horde plugins``, e.g. ``csv (results.csv)``."""
    raise NotImplementedError


@hookspec
def set_thresholds(thresholds: Mapping[str, Sequence[Threshold]]) -> None:
    """Receive the run's thresholds once, before ``start``: threshold key
    (``http_req_duration{status:200}``) → its :class:`horde.thresholds.Threshold` list."""


@hookspec
def set_test_run_stop(stop: Callable[[BaseException | str | None], None]) -> None:
    """Receive once, before ``start``, a callable ``stop(error)`` that aborts the whole run
    (a :class:`horde.output.RunError` keeps its exit code); call it only when the run cannot go on."""


@hookspec
def start() -> None:
    """Prepare to receive samples (open files, connect, start threads); called once,
    before any sample. Raising aborts the run before it begins."""


@hookspec(firstresult=True)
def setup_coordinator() -> SetupCoordinator | None:
    """Once, after ``start``: a :class:`horde.output.SetupCoordinator` when this output joins a run
    shared by several instances (setup() and teardown() then run once for all), else None."""


@hookspec
def add_samples(samples: Sequence[SampleContainer]) -> None:
    """Take a batch of sample containers (maybe empty) on the output's delivery thread,
    never concurrently. Read the batch, never change it; must not block."""


@hookspec
def set_run_status(status: RunStatus) -> None:
    """Learn the run's new :class:`horde.runstatus.RunStatus` whenever it changes."""


@hookspec
def stop(error: RunError | None) -> None:
    """Flush everything still buffered and release every resource, threads included;
    called once at the end. ``error`` is the run's final error, or None for a clean run."""


@hookspec(firstresult=True)
def report() -> dict[str, int] | None:
    """After ``stop``, return the delivery counts for the summary (``{"written": 1200,
    "dropped": 0}``, printed in that order), or None. Nothing dropped may go unreported."""
    raise NotImplementedError
