"""Outputs for testing the conformance kit itself: one that keeps the contract, and three that each break it once.

They write one JSON line per sample (metric, time, value, tags, metadata) from a PeriodicFlusher.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from horde.metrics import SampleContainer
from horde.output import Params, PeriodicFlusher, SampleBuffer, hookimpl
from horde.testing import ReadSample

DROPPED_INDEX = 500_000
"""The sample (0-based, over the whole run) :class:`DropsOneInAMillion` leaves out."""


class LinesOutput:
    """Keeps the contract: buffer in add_samples, write on a flusher thread, final flush and close in stop."""

    def __init__(self, params: Params) -> None:
        self.path = Path(params.config_argument)
        self._buffer = SampleBuffer()
        self._flusher: PeriodicFlusher | None = None
        self._file: Any = None
        self._seen = 0

    @hookimpl
    def description(self) -> str:
        return f"lines ({self.path})"

    @hookimpl
    def start(self) -> None:
        self._file = open(self.path, "w", encoding="utf-8")
        self._flusher = PeriodicFlusher(0.05, self._flush, name="lines-flusher")

    @hookimpl
    def add_samples(self, samples: Sequence[SampleContainer]) -> None:
        self._buffer.add(samples)

    @hookimpl
    def stop(self, error: object) -> None:
        assert self._flusher is not None
        self._flusher.stop()
        self._file.close()

    def _keep(self, index: int) -> bool:
        return True

    def _flush(self) -> None:
        lines = []
        for c in self._buffer.take():
            tags, md = dict(c.tags.items()), dict(c.metadata) if c.metadata else None
            for m, v in zip(c.metrics, c.values):
                if self._keep(self._seen):
                    lines.append(json.dumps([m.name, c.time, v, tags, md]) + "\n")
                self._seen += 1
        self._file.write("".join(lines))
        self._file.flush()


class DropsOneInAMillion(LinesOutput):
    """Loses exactly one sample: the 500,000th of the run."""

    def _keep(self, index: int) -> bool:
        return index != DROPPED_INDEX


class KeepsAThread(LinesOutput):
    """Starts a helper thread that outlives stop."""

    @hookimpl
    def start(self) -> None:
        super().start()
        self._forever = threading.Event()
        threading.Thread(target=self._forever.wait, args=(120,), name="lines-lingering-helper", daemon=True).start()


class AcceptsAfterStop(LinesOutput):
    """Writes samples handed after stop straight to the file."""

    def __init__(self, params: Params) -> None:
        super().__init__(params)
        self._stopped = False

    @hookimpl
    def add_samples(self, samples: Sequence[SampleContainer]) -> None:
        if not self._stopped:
            self._buffer.add(samples)
            return
        self._file = open(self.path, "a", encoding="utf-8")
        self._buffer.add(samples)
        self._flush()
        self._file.close()

    @hookimpl
    def stop(self, error: object) -> None:
        super().stop(error)
        self._stopped = True


def read_lines(path: Path) -> Iterator[ReadSample]:
    """What a LinesOutput wrote."""
    with open(path, encoding="utf-8") as f:
        for line in f:
            name, t, v, tags, md = json.loads(line)
            yield ReadSample(name, t, v, tags, md)
