"""The hooks an output implements (pluggy project ``horde``).

Mark each implementation with :data:`horde.output.hookimpl`. ``description``,
``start``, ``add_samples`` and ``stop`` are required; the rest are optional.
Call order for one run: ``set_thresholds`` → ``set_test_run_stop`` → ``start``
→ ``set_run_status`` / ``add_samples`` … → ``stop`` → ``report``.
"""

from __future__ import annotations

import pluggy

hookspec = pluggy.HookspecMarker("horde")
hookimpl = pluggy.HookimplMarker("horde")

REQUIRED_HOOKS = ("description", "start", "add_samples", "stop")
"""Hooks every output must implement (k6's ``Output`` interface)."""


@hookspec(firstresult=True)
def description():
    """Return a short label for the start banner and ``horde plugins``, e.g. ``csv (results.csv)``."""


@hookspec
def set_thresholds(thresholds):
    """Receive the run's thresholds before ``start``: a dict from threshold key
    (``http_req_duration`` or ``http_req_duration{status:200}``) to a list of
    :class:`horde.thresholds.Threshold`."""


@hookspec
def set_test_run_stop(stop):
    """Receive, before ``start``, a callable ``stop(error)`` that aborts the whole
    run (run status aborted_system); use it only when the output cannot go on."""


@hookspec
def start():
    """Prepare to receive samples (open files, connect, start a flusher thread).
    Raise to abort the run before it begins; called once, before any sample."""


@hookspec
def add_samples(samples):
    """Take a list of sample containers (see :mod:`horde.metrics.sample`); called
    every ~50 ms from one thread, never concurrently, possibly with an empty list.
    The list is shared with other outputs: read it, never change it. Must not
    block: buffer and flush elsewhere (``SampleBuffer``, ``PeriodicFlusher``)."""


@hookspec
def set_run_status(status):
    """Learn the run's new :class:`horde.runstatus.RunStatus` whenever it changes."""


@hookspec
def stop(error):
    """Flush everything still buffered and release resources; called once at the
    end. ``error`` is the run's final error (a :class:`horde.output.RunError`),
    or None for a clean run."""


@hookspec(firstresult=True)
def report():
    """After ``stop``, return what the end-of-test summary should say about this output's delivery:
    a dict of counts such as ``{"written": 1200, "retried": 30, "undelivered": 0}`` (printed in the
    order given), or None. Nothing an output drops may go unreported."""
