"""How a remote write endpoint's answers map onto :class:`horde.output.Delivery`.

- 2xx: written.
- 400, 413, 422 (Prometheus refuses a whole request for one out-of-order or
  malformed series; 413 is too large): the batch is split in two, both
  halves sent first (:class:`~horde.output.SplitPayload`); a single series
  still refused is dropped and counted under the answer (:class:`~horde.output.PermanentError`).
- other 4xx (401, 403, 404...): dropped, counted and named (the log line and
  ``report()`` carry the status).
- 429, 5xx and network errors: retried with backoff, honouring ``Retry-After``,
  in order, so nothing is lost while the receiver is down.
"""

from __future__ import annotations

import dataclasses
import logging
import threading

import cramjam
from horde.output import PayloadCodec, PermanentError, PerThread, RetryableError, SplitPayload

from .client import Client, tls_context
from .config import Config
from .protobuf import frame, unframe

__all__ = ["BATCH_CODEC", "Batch", "RemoteWriteSender", "batch_bytes", "batch_series", "decode_batch", "encode_batch"]

SPLIT_STATUSES = frozenset({400, 413, 422})


@dataclasses.dataclass(frozen=True)
class Batch:
    """Framed TimeSeries to send in one WriteRequest."""

    series: list[bytes]
    size: int


def make_batch(series: list[bytes]) -> Batch:
    """A batch of framed TimeSeries."""
    return Batch(series, sum(len(s) for s in series))


def encode_batch(batch: Batch) -> bytes:
    """A batch as bytes for the spill files: the uncompressed WriteRequest body."""
    return frame(batch.series)


def decode_batch(data: bytes) -> Batch:
    """The batch :func:`encode_batch` encoded."""
    return Batch(unframe(data), len(data))


def batch_series(batch: Batch) -> int:
    """Series samples in ``batch``: the unit of the delivery counts."""
    return len(batch.series)


def batch_bytes(batch: Batch) -> int:
    """Bytes of ``batch``: the unit of ``memoryLimit``."""
    return batch.size


BATCH_CODEC = PayloadCodec(encode_batch, decode_batch, batch_series, batch_bytes, "series samples")
"""How the delivery spills and counts WriteRequests: in series samples, memory in bytes."""


class RemoteWriteSender:
    """``send(batch)`` for :class:`horde.output.Delivery`: compresses and writes with one client per thread."""

    def __init__(self, cfg: Config, logger: logging.Logger) -> None:
        self.cfg = cfg
        self.log = logger
        self._context = tls_context(cfg) if cfg.url.startswith("https:") else None
        self._lock = threading.Lock()
        self._clients: PerThread[Client] = PerThread(lambda: Client(cfg, self._context))
        self.refused_series = 0

    def __call__(self, batch: Batch) -> None:
        """Write ``batch``; raise what tells the delivery to split, drop or retry it."""
        body = bytes(cramjam.snappy.compress_raw(frame(batch.series)))
        resp = self._clients.get().write(body)
        if resp.ok:
            return
        status = resp.status
        if status is None or status == 429 or status >= 500:
            raise RetryableError(resp.error, retry_after=resp.retry_after)
        if status in SPLIT_STATUSES and len(batch.series) > 1:
            half = len(batch.series) // 2
            raise SplitPayload([make_batch(batch.series[:half]), make_batch(batch.series[half:])], resp.error)
        with self._lock:
            self.refused_series += len(batch.series)
            n = self.refused_series
        if n <= 3:
            self.log.warning("experimental-prometheus-rw: %s refused a series: %s", self.cfg.target, resp.error)
        raise PermanentError(f"HTTP {status}")

    def abort(self) -> None:
        """From any thread: fail every write in flight now, and every later one."""
        self._clients.abort()

    def close(self) -> None:
        """Close every client's connection."""
        self._clients.close()
