"""The ``opentelemetry`` output (alias ``experimental-opentelemetry``): k6's OTLP metrics, delivered without loss.

Samples are buffered, aggregated every ``flushInterval`` into per-series
state (as k6 feeds the OpenTelemetry SDK), and every ``exportInterval`` one
cumulative ExportMetricsServiceRequest is encoded and queued on the delivery
helper, which sends it over gRPC or HTTP/protobuf in order, retrying through
outages, spilling to disk past ``memoryLimit``. At stop a last export holds
the whole run.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

from horde.metrics import SampleContainer
from horde.output import (
    Delivery,
    DeliveryCounts,
    Params,
    PeriodicFlusher,
    RunError,
    SampleBuffer,
    hookimpl,
)

from .aggregate import (
    EXPORT_CODEC,
    Aggregator,
    Export,
    resource_attributes,
    split_to_size,
)
from .config import Config, load_config
from .transport import GrpcSender, HttpSender, make_sender
from .version import __version__

__all__ = ["OpenTelemetryOutput"]


class OpenTelemetryOutput:
    """k6's OpenTelemetry output over OTLP gRPC or HTTP/protobuf that loses nothing.

    After ``stop``, :attr:`counts` (in data points) tells what the delivery
    did; :meth:`report` gives written / retried / spilled / dropped to the
    end-of-test summary.
    """

    def __init__(self, params: Params) -> None:
        self.config: Config = load_config(params.json_config, params.environment, params.config_argument)
        self.name = params.output_type
        self.log = params.logger or logging.getLogger(f"horde.output.{self.name}")
        cfg = self.config
        resource = resource_attributes(
            cfg.service_name, cfg.service_version or _horde_version(), __version__, params.environment
        )
        self.aggregator = Aggregator(cfg.metric_prefix, resource, delta=cfg.delta)
        self._buffer = SampleBuffer()
        self._flusher: PeriodicFlusher | None = None
        self._delivery: Delivery[Export] | None = None
        self._sender: HttpSender | GrpcSender | None = None
        self._next_export = 0.0
        self.exports = 0
        """Export requests queued."""
        self.counts: DeliveryCounts | None = None
        """The delivery's final counts (data points), after ``stop``."""

    @hookimpl
    def description(self) -> str:
        cfg = self.config
        kind = "grpc" if cfg.is_grpc else "http/protobuf"
        return f"opentelemetry ({kind}, {cfg.target})"

    @hookimpl
    def start(self) -> None:
        cfg = self.config
        self._sender = make_sender(cfg, self.log)
        # one sender: cumulative exports must arrive in order
        self._delivery = Delivery.for_output(self._sender, cfg, EXPORT_CODEC, name="opentelemetry", logger=self.log)
        self._next_export = time.monotonic() + cfg.export_interval
        self._flusher = PeriodicFlusher(cfg.flush_interval, self._flush, name="horde-opentelemetry-flusher")

    @hookimpl
    def add_samples(self, samples: Sequence[SampleContainer]) -> None:
        self._buffer.add(samples)

    def _flush(self) -> None:
        containers = self._buffer.take()
        if containers:
            self.aggregator.add(containers, time.time_ns())
        if time.monotonic() >= self._next_export:
            self._next_export = time.monotonic() + self.config.export_interval
            self._export()

    def _export(self) -> None:
        export = self.aggregator.export(time.time_ns())
        if export is None or self._delivery is None:
            return
        self.exports += 1
        for part in split_to_size(export, self.config.max_export_bytes):
            self._delivery.put(part)

    @hookimpl
    def stop(self, error: RunError | None) -> None:
        try:
            if self._flusher is not None:
                self._flusher.stop()
        finally:
            self._export_last()
            self._finish()

    def _export_last(self) -> None:
        """Export the run's totals a last time (once: not after the delivery closed)."""
        if self._delivery is None or self._delivery.closed:
            return
        containers = self._buffer.take()
        if containers:
            self.aggregator.add(containers, time.time_ns())
        self._export()

    def _finish(self) -> None:
        """Deliver what is left within ``stopTimeout``; log what was written and what was not."""
        sender = self._sender
        counts = self._delivery.finish(self.config.stop_timeout) if self._delivery is not None else None
        if sender is None or counts is None:
            return
        self.counts = counts
        level = logging.WARNING if counts.retried or counts.dropped or sender.rejected else logging.INFO
        self.log.log(
            level,
            "opentelemetry: %d data points of %d series written to %s in %d exports "
            "(%d retried after a failed export, %d dropped%s, %d rejected by the receiver)",
            counts.written,
            self.aggregator.series,
            self.config.target,
            self.exports,
            counts.retried,
            counts.dropped,
            "".join(f"; {n} {reason}" for reason, n in counts.dropped_reasons.items()),
            sender.rejected,
        )

    @hookimpl
    def report(self) -> dict[str, int]:
        """written / retried / spilled / dropped data points (and ones the receiver rejected) for the summary."""
        counts = self.counts.as_report() if self.counts else {"written": 0, "retried": 0, "spilled": 0, "dropped": 0}
        if self._sender is not None and self._sender.rejected:
            counts["rejected"] = self._sender.rejected
        return counts


def _horde_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("horde")
    except PackageNotFoundError:
        return "unknown"
