"""The ``{{ cookiecutter.name }}`` output: per-interval aggregates of every metric, as JSON lines.

Every ``interval`` the output writes one line for the samples that arrived
since the last one, and at the end one line with the totals of the run::

    {"type": "interval", "from": "...Z", "to": "...Z", "samples": 39,
     "metrics": {"http_reqs": {"type": "counter", "count": 3, "sum": 3.0, "min": 1.0, "max": 1.0, "mean": 1.0}, ...}}
    {"type": "end", "run_status": "finished", "error": null, "intervals": 4, "thresholds": [...],
     "metrics": {...totals...}}

How it follows the output contract (see horde's docs/writing-an-output.md):
``add_samples`` only appends to a :class:`~horde.output.SampleBuffer` (it must
never block); a :class:`~horde.output.PeriodicFlusher` aggregates and writes
on its own thread; ``stop`` makes the final flush and writes the totals.
"""

from __future__ import annotations

import datetime
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TextIO

from horde.output import Params, PeriodicFlusher, SampleBuffer, hookimpl

from .config import Config, consolidate

__all__ = ["{{ cookiecutter.__class_name }}", "Aggregate"]


class Aggregate:
    """Count, sum, min and max of one metric's values (``mean`` derived)."""

    __slots__ = ("type", "count", "sum", "min", "max")

    def __init__(self, metric_type: str) -> None:
        self.type = metric_type
        self.count = 0
        self.sum = 0.0
        self.min = float("inf")
        self.max = float("-inf")

    def add(self, value: float) -> None:
        """Count one value."""
        self.count += 1
        self.sum += value
        if value < self.min:
            self.min = value
        if value > self.max:
            self.max = value

    def merge(self, other: Aggregate) -> None:
        """Add everything ``other`` counted."""
        self.count += other.count
        self.sum += other.sum
        self.min = min(self.min, other.min)
        self.max = max(self.max, other.max)

    def to_json(self) -> dict[str, Any]:
        """The aggregate as a JSON-ready dict."""
        return {"type": self.type, "count": self.count, "sum": self.sum, "min": self.min, "max": self.max,
                "mean": self.sum / self.count if self.count else 0.0}


def _iso(ns: int) -> str:
    """Nanoseconds since the epoch as RFC 3339 UTC with milliseconds."""
    when = datetime.datetime.fromtimestamp(ns / 1e9, tz=datetime.timezone.utc)
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class {{ cookiecutter.__class_name }}:
    """{{ cookiecutter.description }}"""

    def __init__(self, params: Params) -> None:
        """The factory horde calls as ``factory(params)``: read the configuration, open nothing yet.

        A bad setting raises :class:`horde.output.OutputConfigError`, which
        horde prints as one line before the run starts.
        """
        self.config: Config = consolidate(params.json_config, params.environment, params.config_argument)
        self._logger = params.logger or logging.getLogger("horde.output.{{ cookiecutter.name }}")
        self._stdout = params.stdout
        self._buffer = SampleBuffer()
        self._flusher: PeriodicFlusher | None = None
        self._file: TextIO | None = None
        self._stop_run: Callable[..., None] | None = None
        self._thresholds: list[str] = []
        self._status: Any = None
        self._totals: dict[str, Aggregate] = {}
        self._failed = False
        self.intervals = 0
        """Interval lines written so far."""
        self.samples = 0
        """Samples aggregated so far."""

    @hookimpl
    def description(self) -> str:
        """The label of the start banner: the output's name and where it writes."""
        return f"{{ cookiecutter.name }} ({self.config.file})"

    @hookimpl
    def set_thresholds(self, thresholds: Mapping[str, Sequence[Any]]) -> None:
        """Remember which metrics have thresholds (written in the final line)."""
        self._thresholds = sorted(thresholds)

    @hookimpl
    def set_test_run_stop(self, stop: Callable[..., None]) -> None:
        """Keep the callable that aborts the run: used only when the file cannot be written any more."""
        self._stop_run = stop

    @hookimpl
    def start(self) -> None:
        """Open the file and start the flusher thread. An error here aborts the run before it begins."""
        if self.config.file == "-":
            self._file = None
        else:
            self._file = open(self.config.file, "w", encoding="utf-8")
        self._flusher = PeriodicFlusher(self.config.interval, self._flush, name="horde-{{ cookiecutter.name }}-flusher")

    @hookimpl
    def add_samples(self, samples: Sequence[Any]) -> None:
        """Buffer the containers and return at once: this runs on horde's sample thread and must not block."""
        self._buffer.add(samples)

    @hookimpl
    def set_run_status(self, status: Any) -> None:
        """Remember the run's latest status (a :class:`horde.output.RunStatus`)."""
        self._status = status

    @hookimpl
    def stop(self, error: Any) -> None:
        """Flush what is buffered, write the totals line and close the file.

        ``error`` is the run's final :class:`horde.output.RunError`, or None
        for a clean run.
        """
        try:
            if self._flusher is not None:
                self._flusher.stop()
            status = self._status.label if self._status is not None else ("finished" if error is None else "aborted")
            self._write({
                "type": "end",
                "run_status": status,
                "error": None if error is None else str(error),
                "intervals": self.intervals,
                "thresholds": self._thresholds,
                "metrics": {name: agg.to_json() for name, agg in sorted(self._totals.items())},
            })
        finally:
            if self._file is not None:
                self._file.close()
                self._file = None

    @hookimpl
    def report(self) -> dict[str, int]:
        """After ``stop``: counts for the end-of-test summary (this output never drops a sample)."""
        return {"intervals": self.intervals, "samples": self.samples}

    def _flush(self) -> None:
        """Aggregate what was buffered since the last flush into one line (runs on the flusher thread)."""
        batch = self._buffer.take()
        if not batch:
            return
        aggregates: dict[str, Aggregate] = {}
        first = last = batch[0].time
        samples = 0
        for container in batch:
            first = min(first, container.time)
            last = max(last, container.time)
            for metric, value in zip(container.metrics, container.values):
                agg = aggregates.get(metric.name)
                if agg is None:
                    agg = aggregates[metric.name] = Aggregate(str(metric.type))
                agg.add(value)
                samples += 1
        for name, agg in aggregates.items():
            total = self._totals.get(name)
            if total is None:
                total = self._totals[name] = Aggregate(agg.type)
            total.merge(agg)
        self.intervals += 1
        self.samples += samples
        self._write({"type": "interval", "from": _iso(first), "to": _iso(last), "samples": samples,
                     "metrics": {name: agg.to_json() for name, agg in sorted(aggregates.items())}})

    def _write(self, record: dict[str, Any]) -> None:
        """Write one JSON line; if the file cannot take it, stop the run once instead of losing data silently."""
        line = json.dumps(record, separators=(",", ":")) + "\n"
        try:
            if self._file is None:
                self._stdout.write(line)
                self._stdout.flush()
            else:
                self._file.write(line)
                self._file.flush()
        except OSError as exc:
            if not self._failed:
                self._failed = True
                self._logger.error("cannot write to %s: %s", self.config.file, exc)
                if self._stop_run is not None:
                    self._stop_run(exc)
            raise
