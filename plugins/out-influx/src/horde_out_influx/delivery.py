"""How InfluxDB's answers map onto :class:`horde.output.Delivery`, which queues, spills, retries and counts.

The outcome of each write decides what happens to its batch:

- 2xx: written.
- 413 (too large), 400 or 422 (a line the server refused): the batch is split
  in two and both halves are sent first (:class:`~horde.output.SplitPayload`);
  a single line the server refuses is dropped (:class:`~horde.output.PermanentError`)
  and kept for the undelivered file. Writes are idempotent in InfluxDB (same
  series and time overwrite), so re-sending the good half of a batch stores
  nothing twice.
- anything else (network errors, 5xx, 401/403/404, 429): retried with
  exponential backoff and jitter, honouring ``Retry-After``.

Each sender thread has its own keep-alive :class:`~horde_out_influx.client.Client`;
:meth:`InfluxSender.abort` cuts every request in flight at the stop deadline.
"""

from __future__ import annotations

import logging
import struct
import threading

from horde.output import PayloadCodec, PermanentError, PerThread, RetryableError, SplitPayload

from .client import Client
from .config import Config
from .lineproto import Batch, split_body

__all__ = ["BATCH_CODEC", "SPLIT_STATUSES", "InfluxSender", "decode_batch", "encode_batch"]

SPLIT_STATUSES = frozenset({400, 413, 422})
"""Answers that refuse the content of a batch: split it to isolate what the server will not take."""

_POINTS = struct.Struct("<q")


def encode_batch(batch: Batch) -> bytes:
    """A batch as bytes for the spill files: its point count, then its line protocol."""
    return _POINTS.pack(batch.points) + batch.body


def decode_batch(data: bytes) -> Batch:
    """The batch :func:`encode_batch` encoded."""
    return Batch(data[_POINTS.size :], _POINTS.unpack_from(data)[0])


def batch_points(batch: Batch) -> int:
    """Points in ``batch``: the unit of the delivery counts."""
    return batch.points


def batch_bytes(batch: Batch) -> int:
    """Bytes of ``batch``: the unit of ``memoryLimit``."""
    return len(batch.body)


BATCH_CODEC = PayloadCodec(encode_batch, decode_batch, batch_points, batch_bytes, "points")
"""How the delivery spills and counts batches: in points, memory in bytes."""


class InfluxSender:
    """``send(batch)`` for :class:`horde.output.Delivery`: writes with one client per sender thread."""

    def __init__(self, cfg: Config, logger: logging.Logger) -> None:
        self.cfg = cfg
        self.log = logger
        self._lock = threading.Lock()
        self._clients: PerThread[Client] = PerThread(lambda: Client(cfg))
        self.rejected_lines = 0

    def __call__(self, batch: Batch) -> None:
        """Write ``batch``; raise what tells the delivery to split, drop or retry it."""
        resp = self._clients.get().write(batch.body)
        if resp.ok:
            return
        if resp.status in SPLIT_STATUSES:
            if batch.points > 1:
                raise SplitPayload(split_body(batch), resp.error)
            with self._lock:
                self.rejected_lines += 1
                n = self.rejected_lines
            if n <= 3:
                self.log.info(
                    "influxdb: the refused line (kept for the undelivered file): %s",
                    batch.body[:200].decode("utf-8", "replace").strip(),
                )
            raise PermanentError(resp.error)
        raise RetryableError(resp.error, retry_after=resp.retry_after)

    def abort(self) -> None:
        """From any thread: fail every write in flight now, and every later one."""
        self._clients.abort()

    def close(self) -> None:
        """Close every client's connection."""
        self._clients.close()
