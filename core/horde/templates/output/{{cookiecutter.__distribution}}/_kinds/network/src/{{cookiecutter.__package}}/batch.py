"""Batches: samples encoded as JSON lines, the unit the output hands to :class:`horde.output.Delivery`.

One line per sample::

    {"metric":"http_req_duration","type":"trend","time":1700000000000000000,"value":12.5,"tags":{"status":"200"}}

``time`` is nanoseconds since the epoch; ``metadata`` (an object) is present only when the sample has
any. Each batch has an id, sent as the ``X-Horde-Batch`` header, that a receiver can use to drop a
batch it already has (a retry after a lost response); parts of a batch split after an HTTP 413 get
``ID.1``, ``ID.2``.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Iterable, Iterator
from typing import Any

from horde.metrics import SampleContainer, TagSet

__all__ = ["Batch", "BatchEncoder"]


def _number(value: float) -> str:
    """A JSON number; NaN and infinities (not JSON) as null."""
    if math.isfinite(value):
        return repr(float(value))
    return "null"


@dataclasses.dataclass(frozen=True)
class Batch:
    """``samples`` samples as ``body`` (JSON lines, each ending in a newline), sent as one request."""

    id: str
    samples: int
    body: bytes

    def to_bytes(self) -> bytes:
        """For the spill file: ``ID SAMPLES\\n`` then the body."""
        return f"{self.id} {self.samples}\n".encode("ascii") + self.body

    @classmethod
    def from_bytes(cls, data: bytes) -> Batch:
        """The batch :meth:`to_bytes` wrote."""
        head, _, body = data.partition(b"\n")
        batch_id, samples = head.decode("ascii").split(" ")
        return cls(batch_id, int(samples), body)

    def split(self) -> list[Batch]:
        """Two halves (by lines), for an endpoint that refused this batch as too large; [] for one sample."""
        lines = self.body.splitlines(keepends=True)
        if len(lines) < 2:
            return []
        half = len(lines) // 2
        return [Batch(f"{self.id}.{i + 1}", len(part), b"".join(part))
                for i, part in enumerate((lines[:half], lines[half:]))]


class BatchEncoder:
    """Turns sample containers into batches of at most ``batch_size`` samples (used by one thread).

    What is derived from a tag set (its JSON text) is cached per :class:`~horde.metrics.TagSet`:
    tag sets are immutable and interned, so a run's few sets are encoded once each.
    """

    def __init__(self, batch_size: int) -> None:
        self.batch_size = batch_size
        self._tags: dict[TagSet, str] = {}
        self._metrics: dict[Any, str] = {}
        self._next_id = 0

    def encode(self, containers: Iterable[SampleContainer]) -> Iterator[Batch]:
        """Batches of every sample in ``containers``, in order."""
        lines: list[str] = []
        for container in containers:
            tags = self._tags.get(container.tags)
            if tags is None:
                tags = self._tags[container.tags] = json.dumps(dict(container.tags), ensure_ascii=False,
                                                               separators=(",", ":"))
            tail = f',"tags":{tags}'
            if container.metadata:
                tail += ',"metadata":' + json.dumps(dict(container.metadata), ensure_ascii=False,
                                                    separators=(",", ":"))
            tail += "}"
            head = f',"time":{int(container.time)},"value":'
            for metric, value in zip(container.metrics, container.values):
                prefix = self._metrics.get(metric)
                if prefix is None:
                    prefix = self._metrics[metric] = (
                        '{"metric":' + json.dumps(metric.name) + ',"type":' + json.dumps(str(metric.type)))
                lines.append(prefix + head + _number(value) + tail)
                if len(lines) >= self.batch_size:
                    yield self._batch(lines)
                    lines = []
        if lines:
            yield self._batch(lines)

    def _batch(self, lines: list[str]) -> Batch:
        self._next_id += 1
        return Batch(str(self._next_id), len(lines), ("\n".join(lines) + "\n").encode("utf-8"))
