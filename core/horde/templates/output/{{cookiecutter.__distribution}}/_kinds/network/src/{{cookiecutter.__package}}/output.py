"""The ``{{ cookiecutter.name }}`` output: every metric sample, POSTed as JSON lines to an HTTP endpoint.

How it follows the output contract (see horde's docs/writing-an-output.md):

- ``add_samples`` only appends to a :class:`~horde.output.SampleBuffer`: it runs on horde's sample
  thread and must never block;
- a :class:`~horde.output.PeriodicFlusher` turns what was buffered into batches (:mod:`.batch`) every
  ``interval`` and puts them into a :class:`~horde.output.Delivery`;
- the delivery sends them in order on its own thread (:mod:`.client`), keeps at most ``memory_limit``
  bytes in memory and spills the rest to disk, retries failures with backoff and jitter, replays in
  order after an outage, and counts what was written, retried, spilled and dropped;
- ``stop`` makes the final flush and gives the delivery ``stop_timeout`` seconds to send what waits;
  what it could not send is dropped and counted, and ``report`` returns the counts.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence

from horde.metrics import SampleContainer
from horde.output import Backoff, Delivery, DeliveryCounts, Params, PeriodicFlusher, RunError, SampleBuffer, hookimpl

from . import __version__
from .batch import Batch, BatchEncoder
from .client import HttpSender
from .config import Config, consolidate

__all__ = ["{{ cookiecutter.__class_name }}"]


class {{ cookiecutter.__class_name }}:
    """{{ cookiecutter.description }}"""

    def __init__(self, params: Params) -> None:
        """The factory horde calls as ``factory(params)``: read the configuration, open nothing yet.

        A bad setting raises :class:`horde.output.OutputConfigError`, which horde prints as one line
        before the run starts.
        """
        self.config: Config = consolidate(params.json_config, params.environment, params.config_argument)
        self._logger = params.logger or logging.getLogger("horde.output.{{ cookiecutter.name }}")
        self._buffer = SampleBuffer()
        self._encoder = BatchEncoder(self.config.batch_size)
        self._lock = threading.Lock()
        self._stopped = False
        self._sender: HttpSender | None = None
        self._flusher: PeriodicFlusher | None = None
        self.delivery: Delivery[Batch] | None = None
        """Sends the batches; None until ``start``."""
        self.counts: DeliveryCounts | None = None
        """The delivery's final counts, after ``stop``."""

    @hookimpl
    def description(self) -> str:
        """The label of the start banner: the output's name and where it sends."""
        return f"{{ cookiecutter.name }} ({self.config.url})"

    @hookimpl
    def start(self) -> None:
        """Start the delivery's sender thread and the flusher thread (nothing is sent before a sample)."""
        cfg = self.config
        self._sender = HttpSender(cfg.url, cfg.timeout, f"{{ cookiecutter.__distribution }}/{__version__}")
        self.delivery = Delivery(
            self._sender.send,
            encode=Batch.to_bytes,
            decode=Batch.from_bytes,
            count=lambda batch: batch.samples,
            size=lambda batch: len(batch.body),
            memory_limit=cfg.memory_limit,
            directory=cfg.spool_dir,
            name="{{ cookiecutter.name }}",
            target=cfg.url,
            unit="samples",
            backoff=Backoff(initial=min(0.5, cfg.retry_max), maximum=cfg.retry_max),
            logger=self._logger,
            interrupt=self._sender.interrupt,
        )
        self._flusher = PeriodicFlusher(cfg.interval, self._flush, name="horde-{{ cookiecutter.name }}-flusher")

    @hookimpl
    def add_samples(self, samples: Sequence[SampleContainer]) -> None:
        """Buffer the containers and return at once; after ``stop`` they are ignored."""
        with self._lock:
            if not self._stopped:
                self._buffer.add(samples)

    @hookimpl
    def stop(self, error: RunError | None) -> None:
        """Batch what is buffered, send what waits until ``stop_timeout``, then stop every thread.

        ``error`` is the run's final error, or None for a clean run: either way everything buffered
        is sent.
        """
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
        try:
            if self._flusher is not None:
                self._flusher.stop()  # the final flush
        finally:
            if self.delivery is not None:
                self.counts = self.delivery.close(time.monotonic() + self.config.stop_timeout)
            if self._sender is not None:
                self._sender.close()
        counts = self.counts
        if counts is not None and counts.dropped:
            reasons = ", ".join(f"{n} {reason}" for reason, n in counts.dropped_reasons.items())
            self._logger.warning("{{ cookiecutter.name }}: %d of %d samples were not delivered to %s (%s)",
                                 counts.dropped, counts.written + counts.dropped, self.config.url, reasons)

    @hookimpl
    def report(self) -> dict[str, int]:
        """After ``stop``: samples written, retried, spilled (to disk) and dropped, for the summary."""
        counts = self.counts if self.counts is not None else (self.delivery.counts() if self.delivery else None)
        if counts is None:
            return {"written": 0, "retried": 0, "spilled": 0, "dropped": 0}
        return counts.as_report()

    def _flush(self) -> None:
        """Batch what was buffered since the last flush and hand it to the delivery (flusher thread)."""
        delivery = self.delivery
        if delivery is None:
            return
        for batch in self._encoder.encode(self._buffer.take()):
            delivery.put(batch)
