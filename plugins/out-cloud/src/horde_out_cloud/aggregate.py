"""Aggregate samples per (time bucket, metric, tag set), as k6's cloud output v2 does.

Counters keep their sum, gauges last/count/min/max/sum, rates non-zero and
total counts, trends a mergeable log-linear histogram (k6's, resolution
0.001). However many requests a second the run makes, a bucket holds one
value per time series, so payloads stay small.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import TypeAlias

from horde.metrics import Metric, MetricType, SampleContainer, TagSet

from .protobuf import COUNTER, GAUGE, RATE, TREND

__all__ = ["Aggregate", "Aggregator", "BucketAggregates", "Hist", "bucket_index", "RESERVED_LABEL"]

RESOLUTION = 0.001
_K = 7
_KIND = {MetricType.COUNTER: COUNTER, MetricType.GAUGE: GAUGE, MetricType.RATE: RATE, MetricType.TREND: TREND}
RESERVED_LABEL = "test_run_id"


def bucket_index(upscaled: int) -> int:
    """k6's histogram bucket of a non-negative integer: exact below 256, then 128 sub-buckets per power of two."""
    if upscaled < 256:
        return upscaled
    n = (upscaled >> _K).bit_length() - 1
    return (n << _K) + (upscaled >> n)


class Hist:
    """A trend's values in one bucket: k6's sparse histogram plus exact count, sum, min, max."""

    __slots__ = ("buckets", "count", "sum", "min", "max", "low", "high", "resolution")

    def __init__(self) -> None:
        self.buckets: dict[int, int] = {}
        self.count = 0
        self.sum = 0.0
        self.min = math.inf
        self.max = -math.inf
        self.low = 0
        self.high = 0
        self.resolution = RESOLUTION

    def add(self, v: float) -> None:
        self.count += 1
        self.sum += v
        if v < self.min:
            self.min = v
        if v > self.max:
            self.max = v
        u = v / RESOLUTION
        if u < 0:
            self.low += 1
            return
        if u > 9.2e18:
            self.high += 1
            return
        idx = bucket_index(math.ceil(u))
        b = self.buckets
        b[idx] = b.get(idx, 0) + 1


Aggregate: TypeAlias = Hist | list[float]
"""A trend's :class:`Hist`, else a counter's [sum, count], a rate's [non-zero, total] or a gauge's
[last, count, min, max, sum]."""

BucketAggregates: TypeAlias = dict[TagSet, dict[Metric, Aggregate]]
"""One time bucket: tag set -> metric -> aggregate."""


class Aggregator:
    """Fold sample containers into time buckets; hand out the buckets that are complete.

    Not thread-safe: one thread (the output's sender) adds and collects.
    """

    def __init__(self, period_s: int, wait_s: float) -> None:
        self.period_ns = int(period_s * 1_000_000_000)
        self.wait_ns = int(wait_s * 1_000_000_000)
        # bucket start ns -> tags -> metric -> aggregate
        self._buckets: dict[int, BucketAggregates] = {}
        self._samples: dict[int, int] = {}
        self._labels: dict[TagSet, tuple[tuple[str, str], ...]] = {}
        self.discarded_tags: set[str] = set()

    @property
    def pending_samples(self) -> int:
        """Samples held in buckets not yet collected."""
        return sum(self._samples.values())

    def add(self, containers: Iterable[SampleContainer]) -> None:
        period = self.period_ns
        buckets = self._buckets
        counts = self._samples
        for c in containers:
            start = c.time - c.time % period
            by_tags = buckets.get(start)
            if by_tags is None:
                by_tags = buckets[start] = {}
                counts[start] = 0
            aggs = by_tags.get(c.tags)
            if aggs is None:
                aggs = by_tags[c.tags] = {}
            n = 0
            for m, v in zip(c.metrics, c.values):
                n += 1
                a = aggs.get(m)
                t = m.type
                # a metric's aggregate is always of its type's shape: the isinstance tests tell mypy so
                if t is MetricType.TREND:
                    if not isinstance(a, Hist):
                        a = aggs[m] = Hist()
                    a.add(v)
                elif t is MetricType.COUNTER:
                    if not isinstance(a, list):
                        aggs[m] = [v, 1]
                    else:
                        a[0] += v
                        a[1] += 1
                elif t is MetricType.RATE:
                    if not isinstance(a, list):
                        aggs[m] = [1 if v else 0, 1]
                    else:
                        if v:
                            a[0] += 1
                        a[1] += 1
                else:  # gauge: last, count, min, max, sum
                    if not isinstance(a, list):
                        aggs[m] = [v, 1, v, v, v]
                    else:
                        a[0] = v
                        a[1] += 1
                        if v < a[2]:
                            a[2] = v
                        if v > a[3]:
                            a[3] = v
                        a[4] += v
            counts[start] += n

    def collect(self, now_ns: int, *, everything: bool = False) -> list[tuple[int, int, BucketAggregates]]:
        """Remove and return the buckets that ended ``wait`` ago (all when ``everything``).

        Each item is (bucket start ns, sample count, {tags: {metric: aggregate}}).
        """
        limit = now_ns - self.wait_ns - self.period_ns
        done = [b for b in self._buckets if everything or b <= limit]
        out = []
        for b in sorted(done):
            out.append((b, self._samples.pop(b), self._buckets.pop(b)))
        return out

    def labels(self, tags: TagSet) -> tuple[tuple[str, str], ...]:
        """The protobuf labels of a tag set, without the names reserved by the cloud protocol."""
        found = self._labels.get(tags)
        if found is None:
            keep = []
            for k, v in tags.items():
                if k.startswith("__") or k == RESERVED_LABEL:
                    self.discarded_tags.add(k)
                    continue
                keep.append((k, v))
            found = self._labels[tags] = tuple(keep)
        return found

    @staticmethod
    def kind(metric: Metric) -> int:
        return _KIND[metric.type]
