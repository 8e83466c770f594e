"""The Manager: drives every output of a run through the contract, isolating their failures."""

from __future__ import annotations

import dataclasses
import functools
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..errors import AbortReason, RunError
from ..metrics import MetricRegistry
from ..runstatus import RunStatus
from .binding import OutputInstance
from .channel import DEFAULT_MEMORY_LIMIT, Channel, ChannelCounts
from .coordination import SetupCoordinator
from .errors import OutputStartError, OutputStopError, describe_exception

__all__ = ["Manager", "OutputReport", "DEFAULT_STOP_TIMEOUT"]

DEFAULT_STOP_TIMEOUT = 90.0
"""Seconds an output may take, at the end, to take what is queued for it and stop: a backstop above the
outputs' own delivery deadlines (out-influx's stopTimeout 30s, out-cloud's 60s plus its finish call)."""


@dataclasses.dataclass
class OutputReport:
    """What one output did with the run's samples, for the summary and ``--summary-export``."""

    label: str
    description: str
    counts: dict[str, Any]
    """The output's own ``report()`` counts (``written``, ``retried``, ...), in its order."""
    delivery: ChannelCounts
    """What the Manager handed it: delivered, failed, spilled, undelivered, abandoned."""

    @property
    def lost(self) -> int:
        """Samples this output may not have: by the Manager's count and by its own ``dropped``/``undelivered``."""
        own = sum(int(self.counts.get(k) or 0) for k in ("dropped", "undelivered", "failed"))
        return self.delivery.lost + own

    def loss_text(self) -> str:
        """What it lost, in words (empty when nothing)."""
        parts = []
        d = self.delivery
        if d.undelivered:
            why = " (abandoned at its stop deadline)" if d.abandoned else ""
            parts.append(f"{d.undelivered} undelivered{why}")
        elif d.abandoned:
            parts.append("abandoned at its stop deadline")
        if d.failed:
            parts.append(f"{d.failed} in failed add_samples calls")
        for key in ("dropped", "undelivered", "failed"):
            if self.counts.get(key):
                parts.append(f"{self.counts[key]} {key} by the output")
        return ", ".join(parts)

    def as_dict(self) -> dict[str, Any]:
        """The JSON form: label, description, the output's counts and the delivery counts."""
        d = self.delivery
        return {
            "output": self.label,
            "description": self.description,
            "counts": dict(self.counts),
            "delivered": d.delivered,
            "failed": d.failed,
            "failed_calls": d.failed_calls,
            "spilled": d.spilled,
            "undelivered": d.undelivered,
            "abandoned": d.abandoned,
            "lost": self.lost,
        }


class Manager:
    """Runs a list of outputs as k6's ``output.Manager`` does, each on its own delivery thread.

    ``set_thresholds``, ``set_test_run_stop`` and ``start`` are called on the
    caller's thread, in order; if a start fails, the outputs already started
    are stopped and :class:`OutputStartError` names the culprit. After that,
    ``add_samples``, ``set_run_status`` and ``stop`` of one output run on that
    output's own thread (a :class:`~horde.output.channel.Channel`), so a slow
    output falls behind alone. An exception from a hook is caught, logged
    once per output and hook with the output's name, counted in
    :attr:`failures`, and never reaches the run or another output.
    """

    def __init__(
        self,
        outputs: Sequence[OutputInstance],
        *,
        registry: MetricRegistry | None = None,
        stop_timeouts: Mapping[str, float] | None = None,
        memory_limit: int = DEFAULT_MEMORY_LIMIT,
    ) -> None:
        """``stop_timeouts`` maps an output label or name (or ``""`` for all) to its stop deadline in seconds."""
        self.outputs = list(outputs)
        self.failures: dict[tuple[str, str], int] = {}
        """(output label, hook) -> how many calls raised."""
        self._labels = _labels(self.outputs)
        self._registry = registry
        self._stop_timeouts = dict(stop_timeouts or {})
        self._memory_limit = memory_limit
        self._channels: list[tuple[OutputInstance, Channel]] = []

    def label(self, out: OutputInstance) -> str:
        """The name used for ``out`` in logs: ``csv``, or ``csv#2`` for a second csv."""
        return self._labels[id(out)]

    def stop_timeout(self, out: OutputInstance) -> float:
        """Seconds ``out`` may take to stop: by label, then name, then ``""``, else :data:`DEFAULT_STOP_TIMEOUT`."""
        for key in (self.label(out), out.name, ""):
            if key in self._stop_timeouts:
                return self._stop_timeouts[key]
        return DEFAULT_STOP_TIMEOUT

    def _failed(self, out: OutputInstance, hook: str, exc: BaseException) -> None:
        label = self.label(out)
        key = (label, hook)
        n = self.failures.get(key, 0) + 1
        self.failures[key] = n
        if n == 1:
            logger = logging.getLogger(f"horde.output.{out.name}")
            logger.error(
                "output %s: %s failed: %s (further failures of this hook are counted, not logged)",
                label,
                hook,
                describe_exception(exc),
            )
            logger.debug("traceback of the %s failure of output %s", hook, label, exc_info=exc)

    def descriptions(self) -> list[str]:
        """Each output's ``description()``, in order (for the start banner)."""
        return [out.description() for out in self.outputs]

    def set_thresholds(self, thresholds: Mapping[str, Sequence[Any]]) -> None:
        """Hand the run's thresholds to every output that wants them (before :meth:`start`)."""
        for out in self.outputs:
            fn = out.hooks.get("set_thresholds")
            if fn is not None:
                try:
                    fn(thresholds)
                except Exception as exc:
                    self._failed(out, "set_thresholds", exc)

    def start(self, abort_run: Callable[[RunError], None] | None = None) -> None:
        """Install each output's stop callback, start it and its delivery thread, in order.

        ``abort_run(error)`` is what an output's ``stop(err)`` callback calls;
        the error names the output and carries abort reason OUTPUT.
        """
        for out in self.outputs:
            set_stop = out.hooks.get("set_test_run_stop")
            if set_stop is not None and abort_run is not None:
                try:
                    set_stop(self._stop_callback(out, abort_run))
                except Exception as exc:
                    self._failed(out, "set_test_run_stop", exc)
            try:
                out.hooks["start"]()
            except Exception as exc:
                error = OutputStartError(self.label(out), exc)
                self.stop(RunError(str(error), reason=AbortReason.OUTPUT))
                raise error from exc
            channel = Channel(
                self.label(out),
                out.hooks,
                self._registry,
                functools.partial(self._failed, out),
                memory_limit=self._memory_limit,
            )
            channel.start()
            self._channels.append((out, channel))

    def _stop_callback(self, out: OutputInstance, abort_run: Callable[[RunError], None]) -> Callable[..., None]:
        label = self.label(out)

        def stop(error: BaseException | str | None = None) -> None:
            if isinstance(error, RunError):
                reason = f": {' '.join(str(error).split())}"
            else:
                reason = (
                    f": {describe_exception(error) if isinstance(error, BaseException) else error}" if error else ""
                )
            if error:
                logging.getLogger(f"horde.output.{out.name}").error(
                    "Received error to stop from output %s%s", label, reason
                )
            message = f"output {label} stopped the run{reason}"
            if isinstance(error, RunError):  # the output chose the exit code (k6's WithExitCodeIfNone)
                abort_run(RunError(message, reason=error.reason or AbortReason.OUTPUT, exit_code=error.exit_code))
            else:
                abort_run(RunError(message, reason=AbortReason.OUTPUT))

        return stop

    def setup_coordinator(self) -> SetupCoordinator | None:
        """The first :class:`SetupCoordinator` a started output offers (a distributed run), or None."""
        for out, _ in self._channels:
            fn = out.hooks.get("setup_coordinator")
            if fn is None:
                continue
            try:
                coordinator = fn()
            except Exception as exc:
                self._failed(out, "setup_coordinator", exc)
                continue
            if coordinator is not None:
                return coordinator  # type: ignore[no-any-return]
        return None

    @property
    def wants_samples(self) -> bool:
        """Whether any output was started (else a batch's containers need not be built)."""
        return bool(self._channels)

    def add_samples(self, batch: Sequence[Any]) -> None:
        """Queue the same batch (a list of containers) for every started output; never blocks.

        An empty batch is not passed on (as k6's Manager does).
        """
        if not batch:
            return
        samples = sum(map(len, batch))
        for _, channel in self._channels:
            channel.put(batch, samples)

    def set_run_status(self, status: RunStatus) -> None:
        """Tell every started output the run's new status (in order with the samples queued before)."""
        for _, channel in self._channels:
            channel.set_run_status(status)

    def backlog(self) -> int:
        """Samples queued for the furthest-behind output (0 when every output keeps up)."""
        return max((channel.queued_samples for _, channel in self._channels), default=0)

    def stop(self, error: RunError | None = None, deadline: float | None = None, *, drain: bool = True) -> None:
        """Stop every started output, passing the run's final error; safe to call again.

        Each output first takes what is queued for it, then its ``stop(error)``
        runs, all outputs in parallel. An output still busy at its stop timeout
        (or at ``deadline``, a ``time.monotonic()`` time, if earlier) is
        abandoned: what it did not receive is counted as undelivered. With
        ``drain=False`` (an emergency exit) each output skips what is still
        queued for it, counted as undelivered, and stops at once so its files
        are closed. Raises :class:`OutputStopError` listing every output whose
        ``stop`` raised.
        """
        now = time.monotonic()
        for _, channel in self._channels:
            channel.close(error, drain)
        failures: list[tuple[str, BaseException]] = []
        for out, channel in self._channels:
            until = now + self.stop_timeout(out)
            if deadline is not None:
                until = min(until, deadline)
            if not channel.wait(until):
                channel.abandon()
                logging.getLogger(f"horde.output.{out.name}").error(
                    "output %s did not stop within %gs: abandoned, %d samples undelivered",
                    channel.label,
                    max(0.0, until - now),
                    channel.counts.undelivered,
                )
            failure = channel.stop_failure
            if failure is not None and (channel.label, "stop") not in self.failures:
                self.failures[(channel.label, "stop")] = 1
                failures.append((channel.label, failure))
                logging.getLogger(f"horde.output.{out.name}").debug(
                    "stop of %s failed", channel.label, exc_info=failure
                )
        if failures:
            raise OutputStopError(failures)

    def reports(self) -> list[OutputReport]:
        """What every started output did with the samples; call after :meth:`stop`."""
        result = []
        for out, channel in self._channels:
            counts: dict[str, Any] = {}
            fn = out.hooks.get("report")
            if fn is not None and not channel.counts.abandoned:
                try:
                    counts = dict(fn() or {})
                except Exception as exc:
                    self._failed(out, "report", exc)
            result.append(OutputReport(channel.label, out.description(), counts, channel.counts))
        return result

    def failure_report(self) -> list[str]:
        """One line per (output, hook) that failed, with the count."""
        return [
            f"output {label}: {hook} failed {n} time{'s' if n != 1 else ''}"
            for (label, hook), n in self.failures.items()
        ]


def _labels(outputs: Sequence[OutputInstance]) -> dict[int, str]:
    seen: dict[str, int] = {}
    labels: dict[int, str] = {}
    for out in outputs:
        seen[out.name] = seen.get(out.name, 0) + 1
        labels[id(out)] = out.name if seen[out.name] == 1 else f"{out.name}#{seen[out.name]}"
    return labels
