"""SampleBuffer: a thread-safe buffer an output fills in ``add_samples`` and drains when it flushes."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from ..metrics.sample import SampleContainer

__all__ = ["SampleBuffer"]


class SampleBuffer:
    """Collects sample containers from ``add_samples`` until a flush swaps them out.

    Unbounded, as k6's: it never drops, so an output that cannot keep up grows
    in memory rather than losing data.
    """

    __slots__ = ("_lock", "_buffer")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._buffer: list[SampleContainer] = []

    def add(self, containers: Sequence[SampleContainer]) -> None:
        """Append ``containers`` (an empty list is ignored)."""
        if containers:
            with self._lock:
                self._buffer.extend(containers)

    def take(self) -> list[SampleContainer]:
        """Return everything buffered so far and start a new, empty buffer."""
        with self._lock:
            taken = self._buffer
            if not taken:
                return []  # never hand out the live list: add() would keep filling it
            self._buffer = []
            return taken

    def __len__(self) -> int:
        return len(self._buffer)
