"""The Manager: drives every output of a run through the contract, isolating their failures."""

from __future__ import annotations

import logging
from typing import Any, Callable, Mapping, Sequence

from ..errors import AbortReason, RunError
from ..runstatus import RunStatus
from .binding import OutputInstance
from .errors import OutputStartError, OutputStopError, describe_exception

__all__ = ["Manager"]

_log = logging.getLogger("horde.output")


class Manager:
    """Runs a list of outputs as k6's ``output.Manager`` does.

    Outputs start in order; if one fails, those already started are stopped
    and :class:`OutputStartError` names the culprit. An exception from any
    other hook is caught, logged once per output and hook with the output's
    name, counted in :attr:`failures`, and never reaches the run or another
    output. :meth:`stop` reaches every output and raises one
    :class:`OutputStopError` listing every failure.
    """

    def __init__(self, outputs: Sequence[OutputInstance]) -> None:
        self.outputs = list(outputs)
        self.failures: dict[tuple[str, str], int] = {}
        """(output label, hook) -> how many calls raised."""
        self._started: list[OutputInstance] = []
        self._add_calls: list[tuple[OutputInstance, Callable[[Any], Any]]] = []
        self._labels = _labels(self.outputs)

    def label(self, out: OutputInstance) -> str:
        """The name used for ``out`` in logs: ``csv``, or ``csv#2`` for a second csv."""
        return self._labels[id(out)]

    def _failed(self, out: OutputInstance, hook: str, exc: BaseException) -> None:
        label = self.label(out)
        key = (label, hook)
        n = self.failures.get(key, 0) + 1
        self.failures[key] = n
        if n == 1:
            logger = logging.getLogger(f"horde.output.{out.name}")
            logger.error(
                "output %s: %s failed: %s (further failures of this hook are counted, not logged)",
                label, hook, describe_exception(exc),
            )
            logger.debug("traceback of the %s failure of output %s", hook, label, exc_info=exc)

    def _call_each(self, hook: str, *args: Any) -> None:
        for out in self.outputs:
            fn = out.hooks.get(hook)
            if fn is None:
                continue
            try:
                fn(*args)
            except Exception as exc:
                self._failed(out, hook, exc)

    def descriptions(self) -> list[str]:
        """Each output's ``description()``, in order (for the start banner)."""
        return [out.description() for out in self.outputs]

    def set_thresholds(self, thresholds: Mapping[str, Sequence[Any]]) -> None:
        """Hand the run's thresholds to every output that wants them."""
        self._call_each("set_thresholds", thresholds)

    def start(self, abort_run: Callable[[RunError], None] | None = None) -> None:
        """Install each output's stop callback and start it, in order.

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
                started, self._started = self._started, []
                self._stop_all(started, RunError(str(error), reason=AbortReason.OUTPUT))
                raise error from exc
            self._started.append(out)
        self._add_calls = [(out, out.hooks["add_samples"]) for out in self._started]

    def _stop_callback(self, out: OutputInstance, abort_run: Callable[[RunError], None]) -> Callable[..., None]:
        label = self.label(out)

        def stop(error: BaseException | str | None = None) -> None:
            reason = f": {describe_exception(error) if isinstance(error, BaseException) else error}" if error else ""
            if error:
                logging.getLogger(f"horde.output.{out.name}").error("Received error to stop from output %s%s", label, reason)
            abort_run(RunError(f"output {label} stopped the run{reason}", reason=AbortReason.OUTPUT))

        return stop

    def add_samples(self, batch: Sequence[Any]) -> None:
        """Give the same batch (a list of containers, maybe empty) to every started output."""
        for out, fn in self._add_calls:
            try:
                fn(batch)
            except Exception as exc:
                self._failed(out, "add_samples", exc)

    def set_run_status(self, status: RunStatus) -> None:
        """Tell every output the run's new status."""
        self._call_each("set_run_status", status)

    def stop(self, error: RunError | None = None) -> None:
        """Stop every started output in order, passing the run's final error.

        Raises :class:`OutputStopError` listing every output that failed, after
        all of them were asked to stop.
        """
        started, self._started = self._started, []
        self._add_calls = []
        failures = self._stop_all(started, error)
        if failures:
            raise OutputStopError(failures)

    def _stop_all(self, outputs: list[OutputInstance], error: RunError | None) -> list[tuple[str, BaseException]]:
        failures: list[tuple[str, BaseException]] = []
        for out in outputs:
            try:
                out.hooks["stop"](error)
            except Exception as exc:
                failures.append((self.label(out), exc))
                self.failures[(self.label(out), "stop")] = self.failures.get((self.label(out), "stop"), 0) + 1
                logging.getLogger(f"horde.output.{out.name}").debug("stop of %s failed", self.label(out), exc_info=exc)
        return failures

    def reports(self) -> list[tuple[str, dict]]:
        """(description, counts) of every output whose ``report()`` returned counts; call after :meth:`stop`."""
        out = []
        for inst in self.outputs:
            fn = inst.hooks.get("report")
            if fn is None:
                continue
            try:
                counts = fn()
            except Exception as exc:
                self._failed(inst, "report", exc)
                continue
            if counts:
                out.append((inst.description(), dict(counts)))
        return out

    def failure_report(self) -> list[str]:
        """One line per (output, hook) that failed, with the count."""
        return [f"output {label}: {hook} failed {n} time{'s' if n != 1 else ''}" for (label, hook), n in self.failures.items()]


def _labels(outputs: Sequence[OutputInstance]) -> dict[int, str]:
    seen: dict[str, int] = {}
    labels: dict[int, str] = {}
    for out in outputs:
        seen[out.name] = seen.get(out.name, 0) + 1
        labels[id(out)] = out.name if seen[out.name] == 1 else f"{out.name}#{seen[out.name]}"
    return labels
