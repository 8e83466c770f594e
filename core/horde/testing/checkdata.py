"""The samples the conformance checks send: every metric and value type, hard tags, metadata, bulk."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator, Mapping

from ..metrics import ConnectedSamples, Metric, MetricRegistry, MetricType, Sample, SampleContainer, TagSet, ValueType

__all__ = ["BULK_TAGSETS", "KitData", "TAG_CASES", "value_for"]

TAG_CASES: Mapping[str, str] = {
    "unicode": "naïve ✓ 東京 🚀",
    "commas": "a,b,,c,",
    "quotes": 'say "hi" and \'bye\' \\"',
    "equals": "k=v==w=",
    "spaces": " two  spaces and a trailing one ",
    "newlines": "line one\nline two\n",
    "empty_values": "",
}
"""Tag values that every store must keep as they are, by check name (``tags_<name>``)."""

BULK_TAGSETS = 8
"""Distinct tag sets the bulk check rotates through."""


def _lone(sample: Sample) -> SampleContainer:
    """A lone sample as the container it is."""
    return sample


def value_for(metric: Metric, i: int) -> float:
    """A value exact in any decimal text form: rates 0/1, others multiples of 0.5 (or 0.125 for gauges)."""
    if metric.type is MetricType.RATE:
        return float(i % 2)
    if metric.type is MetricType.GAUGE:
        return (i % 1000) * 0.125
    return (i % 1000) * 0.5 + 1.0


class KitData:
    """Metrics of every type × value type and the containers of each check.

    Times start at the current wall clock and grow 1 µs per container, so no
    two samples of one series share a time at any precision down to microseconds.
    """

    def __init__(self) -> None:
        self.registry = MetricRegistry()
        self.metrics: list[Metric] = [
            self.registry.get_or_new(f"kit_{mtype}_{vtype}", mtype, vtype)
            for mtype in MetricType
            for vtype in ValueType
        ]
        self.base = TagSet.of({"kit": "conformance"})
        self._t = (time.time_ns() // 1_000_000_000) * 1_000_000_000
        self._step = 1_000
        self._bulk_start = self._t

    def _next_time(self, step: int | None = None) -> int:
        self._t += step or self._step
        return self._t

    def all_types(self, tags: TagSet | None = None, metadata: Mapping[str, str] | None = None) -> list[SampleContainer]:
        """One lone Sample per metric, then one container of every metric."""
        tags = self.base if tags is None else tags
        out: list[SampleContainer] = [
            _lone(Sample(m, self._next_time(), value_for(m, i), tags, metadata)) for i, m in enumerate(self.metrics)
        ]
        out.append(
            ConnectedSamples(
                tuple(self.metrics), tuple(value_for(m, 7) for m in self.metrics), self._next_time(), tags, metadata
            )
        )
        return out

    def numbered(self, n: int) -> list[SampleContainer]:
        """Three samples (a counter, a gauge, a trend) of value ``n``: unique per call at any time precision."""
        return [_lone(Sample(self.metrics[k], self._next_time(), float(n), self.base)) for k in (0, 3, 6)]

    def tag_case(self, case: str) -> list[SampleContainer]:
        """Samples of every type carrying the hard tag value of ``case`` (and a plain tag beside it)."""
        return self.all_types(self.base.with_tags({"hard": TAG_CASES[case], "plain": "x"}))

    def with_metadata(self) -> list[SampleContainer]:
        """Samples with metadata (vu, iter, trace_id) and, between them, samples without."""
        md = {"vu": "3", "iter": "17", "trace_id": "0af7651916cd43dd8448eb211c80319c"}
        return self.all_types(metadata=md) + self.all_types() + self.all_types(metadata={"vu": "4"})

    def batches(self, containers: list[SampleContainer], size: int = 5) -> list[list[SampleContainer]]:
        """``containers`` cut into engine-sized batches, with an empty batch between (the engine sends those too)."""
        out: list[list[SampleContainer]] = []
        for i in range(0, len(containers), size):
            out.append(containers[i : i + size])
            out.append([])
        return out

    def bulk(self, samples: int, per_batch: int = 10_000) -> Iterator[list[SampleContainer]]:
        """Batches holding ``samples`` samples in all: containers of 10 metrics over :data:`BULK_TAGSETS` tag sets.

        :meth:`bulk_again` yields the same containers again, to compute what was expected.
        """
        t0 = self._bulk_start = self._t
        self._t = t0 + (samples // 10 + 2) * self._step
        return self._bulk(t0, samples, per_batch)

    def bulk_again(self, samples: int) -> Iterator[SampleContainer]:
        """The containers the last :meth:`bulk` sent, one by one."""
        return itertools.chain.from_iterable(self._bulk(self._bulk_start, samples, 10_000))

    def _bulk(self, t0: int, samples: int, per_batch: int) -> Iterator[list[SampleContainer]]:
        metrics = tuple(self.metrics[:10])
        tagsets = [self.base.with_tag("shard", str(k)) for k in range(BULK_TAGSETS)]
        sent = 0
        i = 0
        batch: list[SampleContainer] = []
        in_batch = 0
        while sent < samples:
            n = min(len(metrics), samples - sent)
            ms = metrics[:n]
            batch.append(
                ConnectedSamples(
                    ms, tuple(value_for(m, i) for m in ms), t0 + (i + 1) * self._step, tagsets[i % BULK_TAGSETS]
                )
            )
            sent += n
            in_batch += n
            i += 1
            if in_batch >= per_batch:
                yield batch
                batch, in_batch = [], 0
        if batch:
            yield batch
