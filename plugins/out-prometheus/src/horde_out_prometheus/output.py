"""The ``experimental-prometheus-rw`` output (alias ``prometheus-rw``): k6's Prometheus remote write, lossless.

Every ``pushInterval`` the samples buffered since the last flush are folded
into their series (see :mod:`horde_out_prometheus.series`) and the series
that changed are queued as WriteRequests of at most ``maxSeriesPerRequest``
series. :class:`horde.output.Delivery` sends them in order, retrying while
the receiver is down and spilling to disk past ``memoryLimit``; ``stop``
flushes, adds stale markers when ``staleMarkers`` is on, and waits up to
``stopTimeout`` for the rest.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence

from horde.metrics import SampleContainer
from horde.output import (
    Delivery,
    DeliveryCounts,
    Params,
    PeriodicFlusher,
    RunError,
    hookimpl,
)

from .config import Config, load_config
from .delivery import BATCH_CODEC, Batch, RemoteWriteSender, make_batch
from .series import SeriesSet

__all__ = ["PrometheusRWOutput"]


class PrometheusRWOutput:
    """k6's ``experimental-prometheus-rw`` output: stat gauges or native histograms, delivered without loss.

    After ``stop``, :attr:`counts` holds the delivery's counts in series
    samples (one value of one series in one WriteRequest); :meth:`report`
    gives them to the end-of-test summary.
    """

    def __init__(self, params: Params) -> None:
        self.config: Config = load_config(params.json_config, params.environment, params.config_argument)
        self.log = params.logger or logging.getLogger("horde.output.experimental-prometheus-rw")
        cfg = self.config
        self.series = SeriesSet(native_histograms=cfg.trend_as_native_histogram, trend_stats=cfg.trend_stats)
        self._lock = threading.Lock()
        """Guards :attr:`series`: folded on the output's own thread, taken on the flusher's."""
        self._flusher: PeriodicFlusher | None = None
        self._delivery: Delivery[Batch] | None = None
        self._sender: RemoteWriteSender | None = None
        self.queued = 0
        """Series samples queued for sending."""
        self.counts: DeliveryCounts | None = None

    @hookimpl
    def description(self) -> str:
        return f"Prometheus remote write ({self.config.target})"

    @hookimpl
    def start(self) -> None:
        cfg = self.config
        self._sender = RemoteWriteSender(cfg, self.log)
        self._delivery = Delivery.for_output(
            self._sender, cfg, BATCH_CODEC, name="experimental-prometheus-rw", logger=self.log
        )
        self._flusher = PeriodicFlusher(cfg.push_interval, self._flush, name="horde-prometheus-rw-flusher")

    @hookimpl
    def add_samples(self, samples: Sequence[SampleContainer]) -> None:
        # folded at once (on the output's own thread): a push interval of raw containers held in memory
        # would count against the run's memory budget and slow the VUs down
        with self._lock:
            self.series.add(samples)

    def _flush(self) -> None:
        with self._lock:
            changed = self.series.take()
        self._queue(changed)

    def _queue(self, series: list[bytes]) -> None:
        if not series:
            return
        assert self._delivery is not None
        step = self.config.max_series_per_request
        for i in range(0, len(series), step):
            chunk = series[i : i + step]
            self.queued += len(chunk)
            self._delivery.put(make_batch(chunk))

    @hookimpl
    def stop(self, error: RunError | None) -> None:
        try:
            if self._flusher is not None:
                self._flusher.stop()
            if self.config.stale_markers and self._delivery is not None:
                with self._lock:
                    markers = self.series.stale_markers(time.time_ns() // 1_000_000 + 1)
                self._queue(markers)
        finally:
            self._finish()

    def _finish(self) -> None:
        """Deliver what is left within ``stopTimeout``; count and name the rest."""
        counts = self._delivery.finish(self.config.stop_timeout) if self._delivery is not None else None
        if counts is None:
            return
        self.counts = counts
        level = logging.WARNING if counts.dropped or counts.retried else logging.INFO
        self.log.log(
            level,
            "experimental-prometheus-rw: %d series samples (%d series, from %d samples) written to %s in %d "
            "requests (%d retried after a failed write, %d spilled to disk, %d dropped)",
            counts.written,
            len(self.series),
            self.series.samples,
            self.config.target,
            counts.sends,
            counts.retried,
            counts.spilled,
            counts.dropped,
        )
        for reason, n in counts.dropped_reasons.items():
            self.log.error("experimental-prometheus-rw: %d series samples dropped: %s", n, reason)

    @hookimpl
    def report(self) -> dict[str, int]:
        """written / retried / spilled / dropped series samples, and the dropped ones per reason."""
        c = self.counts
        if c is None:
            return {"written": 0, "retried": 0, "spilled": 0, "dropped": 0}
        out = c.as_report()
        for reason, n in c.dropped_reasons.items():
            out["dropped: " + reason] = n
        return out
