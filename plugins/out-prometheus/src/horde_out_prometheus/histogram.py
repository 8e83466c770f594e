"""A Prometheus native histogram (sparse, exponential buckets), as client_golang makes it for k6.

k6 asks client_golang for a bucket factor of 1.1, which gives schema 3
(each bucket 2^(1/8) ≈ 1.09 times wider than the last) and the default
zero threshold 2^-128. Bucket ``k`` holds values in (2^((k-1)/8), 2^(k/8)].
The histogram is cumulative over the run, so histograms of N instances add
up bucket by bucket in PromQL (``sum(rate(...))``), with no percentile of
percentiles.
"""

from __future__ import annotations

import bisect
import math
from collections import Counter

__all__ = ["NativeHistogram", "SCHEMA", "ZERO_THRESHOLD"]

SCHEMA = 3
ZERO_THRESHOLD = 2.0**-128
_BOUNDS = [2.0 ** (i / 2**SCHEMA) / 2 for i in range(2**SCHEMA)]
"""Bucket upper bounds within one power of two, as fractions in [0.5, 1) (client_golang's nativeHistogramBounds)."""
_PER_OCTAVE = len(_BOUNDS)


def bucket_key(value: float) -> int:
    """The bucket of ``|value|`` (> ZERO_THRESHOLD) at schema 3, computed as client_golang does (exact at bounds)."""
    frac, exp = math.frexp(abs(value))
    return bisect.bisect_left(_BOUNDS, frac) + (exp - 1) * _PER_OCTAVE


def _spans_deltas(buckets: dict[int, int]) -> tuple[list[tuple[int, int]], list[int]]:
    spans: list[tuple[int, int]] = []
    deltas: list[int] = []
    prev_key: int | None = None
    prev_count = 0
    for key in sorted(buckets):
        count = buckets[key]
        if prev_key is None:
            spans.append((key, 1))
        elif key == prev_key + 1:
            offset, length = spans[-1]
            spans[-1] = (offset, length + 1)
        else:
            spans.append((key - prev_key - 1, 1))
        deltas.append(count - prev_count)
        prev_key, prev_count = key, count
    return spans, deltas


class NativeHistogram:
    """Counts of observed values in schema-3 exponential buckets, with their count and sum."""

    __slots__ = ("count", "sum", "zero_count", "positive", "negative")

    def __init__(self) -> None:
        self.count = 0
        self.sum = 0.0
        self.zero_count = 0
        self.positive: dict[int, int] = {}
        self.negative: dict[int, int] = {}

    def observe(self, value: float) -> None:
        """Add one value (NaN counts and sums as client_golang does: into the count, not a bucket)."""
        self.count += 1
        self.sum += value
        if value > ZERO_THRESHOLD:
            b = self.positive
        elif value < -ZERO_THRESHOLD:
            b = self.negative
        else:
            if value == value:  # not NaN
                self.zero_count += 1
            return
        frac, exp = math.frexp(value if value > 0 else -value)
        key = bisect.bisect_left(_BOUNDS, frac) + (exp - 1) * _PER_OCTAVE
        b[key] = b.get(key, 0) + 1

    def observe_many(self, values: list[float]) -> None:
        """Add many values at once (the same as :meth:`observe` on each, cheaper)."""
        if not values:
            return
        total = math.fsum(values)
        if not (min(values) > ZERO_THRESHOLD and total == total):  # zeros, negatives, NaN: one by one
            for v in values:
                self.observe(v)
            return
        self.count += len(values)
        self.sum += total
        bounds, per = _BOUNDS, _PER_OCTAVE
        b = self.positive
        for key, n in Counter(
            [bisect.bisect_left(bounds, f) + (e - 1) * per for f, e in map(math.frexp, values)]
        ).items():
            b[key] = b.get(key, 0) + n

    def positive_spans(self) -> tuple[list[tuple[int, int]], list[int]]:
        """Spans (offset, length) and count deltas of the positive buckets."""
        return _spans_deltas(self.positive)

    def negative_spans(self) -> tuple[list[tuple[int, int]], list[int]]:
        """Spans (offset, length) and count deltas of the negative buckets."""
        return _spans_deltas(self.negative)
