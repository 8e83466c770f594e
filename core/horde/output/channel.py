"""One output's delivery thread: a bounded queue of batches, spilled to disk past its bound.

The Manager gives every output a :class:`Channel`, so a slow or stuck output
falls behind alone: the engine's pump only puts batches in the queue (never
blocks), and the output's ``add_samples``, ``set_run_status`` and ``stop``
run on the channel's own thread, in order, never concurrently. Batches that
wait are merged into one ``add_samples`` call so a slow output catches up.
"""

from __future__ import annotations

import dataclasses
import logging
import pickle
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from ..errors import RunError
from ..metrics import MetricRegistry
from ..metrics.wire import Decoder, Encoder
from ..runstatus import RunStatus
from .errors import describe_exception
from .spill import SpillQueue

__all__ = ["Channel", "ChannelCounts", "DEFAULT_MEMORY_LIMIT", "MERGE_LIMIT"]

DEFAULT_MEMORY_LIMIT = 200_000
"""Sample containers an output's queue holds in memory before it spills to disk."""

MERGE_LIMIT = 10_000
"""Containers merged into one ``add_samples`` call at most when batches wait."""

_POLL = 0.05


@dataclasses.dataclass
class ChannelCounts:
    """What happened to the samples meant for one output (samples, not containers)."""

    delivered: int = 0
    """Handed to ``add_samples`` by calls that returned normally."""
    failed: int = 0
    """Handed to ``add_samples`` by calls that raised: the output may not have them."""
    failed_calls: int = 0
    """Hook calls that raised (any hook)."""
    spilled: int = 0
    """Waited on disk at some point (the queue was past its memory bound)."""
    undelivered: int = 0
    """Never handed over: still queued when the output was abandoned, or refused by a full disk."""
    abandoned: bool = False
    """The output was still busy at its stop deadline and was left behind."""

    @property
    def lost(self) -> int:
        """Samples this output may not have: failed plus undelivered."""
        return self.failed + self.undelivered


class _Status:
    """A run status change travelling in the queue, in order with the batches."""

    __slots__ = ("status",)

    def __init__(self, status: RunStatus) -> None:
        self.status = status


class Channel:
    """Feeds one output from its own thread; :meth:`put` never blocks."""

    def __init__(
        self,
        label: str,
        hooks: dict[str, Callable[..., Any]],
        registry: MetricRegistry | None,
        on_failure: Callable[[str, BaseException], None],
        *,
        memory_limit: int = DEFAULT_MEMORY_LIMIT,
    ) -> None:
        self.label = label
        self.counts = ChannelCounts()
        self._add = hooks["add_samples"]
        self._stop = hooks["stop"]
        self._status = hooks.get("set_run_status")
        self._on_failure = on_failure
        self._encoder = Encoder()
        self._decoder = Decoder(registry if registry is not None else MetricRegistry())
        self._queue: SpillQueue[Any] = SpillQueue(
            encode=self._encode, decode=self._decode, memory_limit=memory_limit, name=f"output {label}"
        )
        self._lock = threading.Lock()
        self._queued_samples = 0
        self._in_flight = 0
        self._closing = False
        self._skip = False
        self._stop_error: RunError | None = None
        self._stop_failure: BaseException | None = None
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"horde-output-{label}", daemon=True)

    # -- the producer side (the pump thread) ------------------------------------

    def start(self) -> None:
        """Start the delivery thread."""
        self._thread.start()

    def put(self, batch: Sequence[Any], samples: int) -> None:
        """Queue ``batch`` (``samples`` samples in all); spills to disk past the memory bound."""
        with self._lock:
            self._queued_samples += samples
        if not self._queue.put((batch, samples), len(batch) or 1):
            with self._lock:
                self._queued_samples -= samples
                self.counts.undelivered += samples

    def set_run_status(self, status: RunStatus) -> None:
        """Queue a run status change, delivered after the batches queued before it."""
        if self._status is not None:
            self._queue.put(_Status(status), 1)

    # -- stopping -------------------------------------------------------------

    def close(self, error: RunError | None, drain: bool = True) -> None:
        """Ask the thread to deliver what is queued (or, with ``drain=False``, to skip it), then call ``stop(error)``."""
        self._stop_error = error
        if not drain:
            self._skip = True
        self._closing = True

    @property
    def queued_samples(self) -> int:
        """Samples queued for the output and not yet handed to it."""
        return self._queued_samples

    def wait(self, deadline: float) -> bool:
        """Wait until the output stopped or ``deadline`` (``time.monotonic()``); False if still busy."""
        return self._done.wait(max(0.0, deadline - time.monotonic()))

    def abandon(self) -> None:
        """Give up on a busy output: what it did not receive is counted as undelivered."""
        with self._lock:
            if self._done.is_set():
                return
            self.counts.abandoned = True
            self.counts.undelivered += self._queued_samples + self._in_flight
            self._queued_samples = self._in_flight = 0
            self._done.set()
        self._queue.close()

    @property
    def stop_failure(self) -> BaseException | None:
        """What the output's ``stop`` raised, if it did."""
        return self._stop_failure

    # -- the delivery thread -----------------------------------------------------

    def _run(self) -> None:
        queue = self._queue
        try:
            while not self._done.is_set():
                if self._skip:
                    self._discard()
                    break
                item = queue.get(_POLL)
                if item is None:
                    if self._closing and len(queue) == 0:
                        break
                    continue
                if type(item) is _Status:
                    self._call_status(item.status)
                    continue
                batch, samples = item
                if len(batch) < MERGE_LIMIT and len(queue):
                    batch, samples, status = self._merge(batch, samples)
                    self._deliver(batch, samples)
                    if status is not None:
                        self._call_status(status.status)
                else:
                    self._deliver(batch, samples)
            if not self._done.is_set():
                self._call_stop()
        finally:
            with self._lock:
                self._done.set()
            queue.close()

    def _discard(self) -> None:
        """Drop what is queued (an emergency stop): counted as undelivered."""
        while self._queue.get_nowait() is not None:
            pass
        with self._lock:
            self.counts.undelivered += self._queued_samples
            self._queued_samples = 0

    def _merge(self, batch: Sequence[Any], samples: int) -> tuple[Sequence[Any], int, _Status | None]:
        """Append waiting batches to ``batch`` (copied only then) up to :data:`MERGE_LIMIT`; stop at a status change."""
        queue = self._queue
        merged: list[Any] | None = None
        while len(merged if merged is not None else batch) < MERGE_LIMIT:
            item = queue.get_nowait()
            if item is None:
                break
            if type(item) is _Status:
                return (merged if merged is not None else batch), samples, item
            if merged is None:
                merged = list(batch)
            merged.extend(item[0])
            samples += item[1]
        return (merged if merged is not None else batch), samples, None

    def _deliver(self, batch: Sequence[Any], samples: int) -> None:
        with self._lock:
            if self._done.is_set():
                return
            self._queued_samples -= samples
            self._in_flight = samples
        try:
            self._add(batch)
        except Exception as exc:
            failed = True
            self._failed("add_samples", exc)
        else:
            failed = False
        with self._lock:
            if self._in_flight:  # zero if the output was abandoned meanwhile (counted there)
                self._in_flight = 0
                if failed:
                    self.counts.failed += samples
                else:
                    self.counts.delivered += samples

    def _call_status(self, status: RunStatus) -> None:
        try:
            assert self._status is not None
            self._status(status)
        except Exception as exc:
            self._failed("set_run_status", exc)

    def _call_stop(self) -> None:
        try:
            self._stop(self._stop_error)
        except Exception as exc:
            self._stop_failure = exc
            self.counts.failed_calls += 1

    def _failed(self, hook: str, exc: BaseException) -> None:
        self.counts.failed_calls += 1
        try:
            self._on_failure(hook, exc)
        except Exception:  # logging must never kill the delivery thread
            logging.getLogger("horde.output").debug(
                "failure report of %s failed: %s", self.label, describe_exception(exc)
            )

    # -- spilling ---------------------------------------------------------------

    def _encode(self, item: Any) -> bytes:
        if type(item) is _Status:
            return pickle.dumps(("s", int(item.status)))
        batch, samples = item
        self.counts.spilled += samples  # encode runs only for what spills
        return pickle.dumps(("b", self._encoder.encode(batch), samples), protocol=pickle.HIGHEST_PROTOCOL)

    def _decode(self, data: bytes) -> Any:
        kind, *rest = pickle.loads(data)
        if kind == "s":
            return _Status(RunStatus(rest[0]))
        encoded, samples = rest
        _, defs, rows, _ = pickle.loads(encoded)
        return self._decoder.decode(defs, rows), samples
