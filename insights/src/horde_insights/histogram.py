"""k6's log-linear trend histogram (cloud protocol v2): bucket bounds, merging, quantiles.

A value ``v`` is scaled by the histogram's resolution (k6 uses 0.001, so
milliseconds become microseconds) and rounded up to an integer ``u``.
Buckets 0–255 hold ``u`` exactly; above, every power of two is split into
128 equal sub-buckets, index ``(n << 7) + (u >> n)`` with
``n = bit_length(u >> 7) - 1`` — under 0.8 % relative width. Histograms of
any time range merge by adding counters, so whole-run percentiles are exact
to the bucket width instead of being "p95 of p95s".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

__all__ = ["bucket_index", "bucket_bounds", "Histogram"]

_K = 7


def bucket_index(upscaled: int) -> int:
    """The bucket of a non-negative integer (a value already divided by the resolution and ceiled)."""
    if upscaled < 256:
        return upscaled
    n = (upscaled >> _K).bit_length() - 1
    return (n << _K) + (upscaled >> n)


def bucket_bounds(index: int) -> tuple[float, float]:
    """The (exclusive low, inclusive high) range of upscaled integers that land in ``index``."""
    if index < 256:
        return float(index - 1), float(index)
    n = (index >> _K) - 1
    sub = index - (n << _K)
    return float((sub << n) - 1), float(((sub + 1) << n) - 1)


class Histogram:
    """A merged trend histogram with exact count, sum, min and max."""

    __slots__ = ("buckets", "count", "sum", "min", "max", "resolution", "low", "high")

    def __init__(self, resolution: float = 0.001) -> None:
        self.buckets: dict[int, int] = {}
        self.count = 0
        self.sum = 0.0
        self.min = float("inf")
        self.max = float("-inf")
        self.resolution = resolution
        self.low = 0
        self.high = 0

    def merge(
        self,
        buckets: Mapping[int, int],
        count: int,
        total: float,
        lo: float,
        hi: float,
        resolution: float = 0.001,
        low: int = 0,
        high: int = 0,
    ) -> None:
        """Add another histogram's data (same resolution expected; others are rescaled)."""
        if count <= 0:
            return
        if resolution != self.resolution and buckets:
            # rescale through bucket midpoints: rare (only a foreign client would differ)
            for idx, c in buckets.items():
                a, b = bucket_bounds(int(idx))
                mid = max(0.0, (a + b) / 2) * resolution / self.resolution
                key = bucket_index(int(-(-mid // 1)))
                self.buckets[key] = self.buckets.get(key, 0) + c
        else:
            mine = self.buckets
            for idx, c in buckets.items():
                idx = int(idx)
                mine[idx] = mine.get(idx, 0) + c
        self.count += count
        self.sum += total
        self.min = min(self.min, lo)
        self.max = max(self.max, hi)
        self.low += low
        self.high += high

    def quantile(self, q: float) -> float | None:
        """The value below which a fraction ``q`` of observations lie (None when empty).

        Interpolates linearly inside the bucket holding the target rank and
        clamps to the exact min and max.
        """
        if self.count == 0:
            return None
        if self.count == 1 or q <= 0:
            return self.min
        if q >= 1:
            return self.max
        target = q * (self.count - 1)  # k6's rank convention: p*(n-1)
        seen = float(self.low)
        if target < seen:
            return self.min
        for idx in sorted(self.buckets):
            c = self.buckets[idx]
            if seen + c > target:
                a, b = bucket_bounds(idx)
                frac = (target - seen + 0.5) / c
                v = (a + (b - a) * frac) * self.resolution
                return min(max(v, self.min), self.max)
            seen += c
        return self.max

    @property
    def avg(self) -> float | None:
        return self.sum / self.count if self.count else None

    @classmethod
    def of(cls, rows: Iterable[tuple]) -> Histogram:
        """Merge rows of (buckets, count, sum, min, max, resolution)."""
        h = cls()
        for buckets, count, total, lo, hi, res in rows:
            h.merge(buckets, count, total, lo, hi, res)
        return h
