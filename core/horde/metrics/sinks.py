"""Sinks: the running aggregate of one metric (or sub-metric), per k6 metric type.

Trend sinks keep bounded memory: values fall into logarithmic buckets
(DDSketch-style, ``gamma = (1 + a) / (1 - a)`` with ``a = 0.01``), so every
percentile ``p(N)`` is within **1% relative error** of the exact value k6
would compute (linear interpolation on sorted values, ``i = p*(n-1)``), while
``count``, ``sum``, ``min``, ``max`` and ``avg`` are exact. Up to
:data:`EXACT_LIMIT` values are also kept as they are, so a short test's
percentiles are exactly k6's; past that the sketch alone answers. Memory does not
grow with the number of samples: the bucket count grows with the logarithm of
the value range, about 115 buckets per factor of 10 (some 1,100 for durations
from 1 µs to 1 h in milliseconds). Magnitudes below the smallest normal float
(``sys.float_info.min``, ~2.2e-308) count as zero.

``add_many(values)`` leaves a sink exactly as ``add`` on each value in turn
would (same sum bit for bit, same first-of-equal min and max, same buckets),
with C-level builtins instead of a Python call per value: a trend sorts the
values once and counts each bucket with one bisection per bucket edge, or,
when the optional ``horde.metrics._sketch`` extension is built, has the whole
column summarized in C in one pass.
"""

from __future__ import annotations

import math
import sys
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Callable, Iterable
from itertools import compress, repeat
from operator import add, eq, lt, mul, neg, sub
from typing import Any

from .types import MetricType

_summarize: Callable[[tuple[float, ...], float, float], _Summary | None] | None  # _Summary: below
try:
    from ._sketch import summarize as _summarize
except ImportError:  # built without a C compiler: sorting and bisection in Python
    _summarize = None

__all__ = ["Sink", "CounterSink", "GaugeSink", "RateSink", "TrendSink", "new_sink", "RELATIVE_ACCURACY"]

RELATIVE_ACCURACY = 0.01
"""The bound on a trend percentile's relative error."""

_GAMMA = (1 + RELATIVE_ACCURACY) / (1 - RELATIVE_ACCURACY)
_INV_LOG_GAMMA = 1.0 / math.log(_GAMMA)
_log, _ceil = math.log, math.ceil
_LOG_GAMMA = math.log(_GAMMA)
_LOG_MID = math.log(2.0 / (_GAMMA + 1.0))
_MIN_MAGNITUDE = sys.float_info.min  # smaller (subnormal) magnitudes count as zero

if sys.version_info < (3, 12):
    _sum_from = sum  # a left-to-right fold from ``start``: what ``total += v`` gives, at C speed
else:  # sum() compensates float rounding since 3.12: fold explicitly to keep ``+=``'s result
    from collections import deque
    from itertools import accumulate

    def _sum_from(values: Iterable[float], start: float) -> float:
        return deque(accumulate(values, initial=start), maxlen=1)[0]


def _indices(magnitudes: Iterable[float]) -> Iterable[int]:
    """The bucket index of each magnitude above _MIN_MAGNITUDE, as ``add`` computes it, mapped in C."""
    return map(_ceil, map(mul, map(_log, magnitudes), repeat(_INV_LOG_GAMMA)))


class _Edges(dict[int, float]):
    """Bucket index ``i`` -> ``gamma**i`` (where bucket ``i`` ends) times ``factor``, computed once."""

    def __init__(self, factor: float) -> None:
        super().__init__()
        self.factor = factor

    def __missing__(self, i: int) -> float:
        edge = self[i] = math.exp(i * _LOG_GAMMA) * self.factor
        return edge


# A magnitude this close to a bucket edge (relative 2**-30, some 1e-9) is bucketed by computing its
# index; any other falls on the side of the edge its index says: the index's rounding errors (log,
# the products, exp of the edge) are below 1e-12 relative.
_EDGE_SLACK = 2.0**-30
_BELOW_EDGE = _Edges(1 - _EDGE_SLACK)
_ABOVE_EDGE = _Edges(1 + _EDGE_SLACK)


def _counts(magnitudes: list[float]) -> dict[int, int]:
    """{bucket index: how many} of ascending ``magnitudes`` (all above _MIN_MAGNITUDE), each where ``add`` puts it.

    When the values span fewer bucket edges than a quarter of their count, one
    bisection per edge between the first value's bucket and the last's replaces
    an index per value.
    """
    n = len(magnitudes)
    first, last = _ceil(_log(magnitudes[0]) * _INV_LOG_GAMMA), _ceil(_log(magnitudes[-1]) * _INV_LOG_GAMMA)
    if last - first <= n // 4:
        edges = range(first, last)
        ends = list(map(bisect_left, repeat(magnitudes), map(_BELOW_EDGE.__getitem__, edges)))
        # every value at or past an edge's slack is past the edge itself: none within the slack
        if not ends or (
            ends[-1] < n and all(map(lt, map(_ABOVE_EDGE.__getitem__, edges), map(magnitudes.__getitem__, ends)))
        ):
            ends.append(n)
            sizes = list(map(sub, ends, [0, *ends]))
            return dict(compress(zip(range(first, last + 1), sizes), sizes))
    return Counter(_indices(magnitudes))


_Summary = tuple[Any, Any, int, dict[int, int], dict[int, int]]
_last_summary: tuple[tuple[float, ...], _Summary | tuple[()]] = (
    (),
    (),
)  # (values, summary) of the last column summarized


def _summary(values: tuple[float, ...], no_nan: bool) -> _Summary:
    """What adding ``values`` one by one does to a trend's min, max, zeros and buckets.

    ``(min, max, zeros, {index: count}, {negative index: count})``; min and max
    are None when every value is NaN; ``no_nan`` says the values hold none
    (else they are checked). The last summary is kept: a sub-metric's column
    is often its metric's column, the very same tuple. Computed in C by
    ``horde.metrics._sketch`` when it is built and the values are floats
    (:func:`_summary_in_python` is the reference it is tested against).
    """
    global _last_summary
    last = _last_summary
    if last[0] is values:
        return last[1]  # type: ignore[return-value]  # set below with a full summary
    summary = None if _summarize is None else _summarize(values, _INV_LOG_GAMMA, _MIN_MAGNITUDE)
    if summary is None:
        summary = _summary_in_python(values, no_nan)
    _last_summary = (values, summary)
    return summary


def _summary_in_python(values: tuple[float, ...], no_nan: bool) -> _Summary:
    """:func:`_summary` with sorting and bisection, for any values."""
    # sorted (stably) and without NaN, which is never a min or max and counts as zero
    ordered = sorted(values) if no_nan else sorted(compress(values, map(eq, values, values)))
    if not ordered:
        return (None, None, len(values), {}, {})
    negatives = bisect_left(ordered, -_MIN_MAGNITUDE)
    positives = bisect_right(ordered, _MIN_MAGNITUDE)
    return (
        ordered[0],  # the first of equal minima, as one by one
        ordered[bisect_left(ordered, ordered[-1])],  # the first of equal maxima
        len(values) - len(ordered) + positives - negatives,
        _counts(ordered[positives:] if positives else ordered) if positives < len(ordered) else {},
        _counts(list(map(neg, reversed(ordered[:negatives])))) if negatives else {},
    )


def _add_counts(buckets: dict[int, int], counts: dict[int, int]) -> None:
    buckets.update(zip(counts, map(add, map(buckets.get, counts, repeat(0)), counts.values())))


class Sink:
    """Base of the four sinks: ``add(value)`` and ``aggregates(elapsed_s)``."""

    __slots__ = ()

    def add(self, value: float) -> None:
        raise NotImplementedError

    def add_many(self, values: Iterable[float]) -> None:
        """Add every value of ``values``: the same result as ``add`` on each, in order."""
        for v in values:
            self.add(v)

    def merge(self, other: Any) -> None:
        """Add what ``other`` (a sink of the same kind, e.g. a worker process's) holds, as if its values came now."""
        raise NotImplementedError

    def is_empty(self) -> bool:
        raise NotImplementedError

    def aggregates(self, elapsed_s: float = 0.0) -> dict[str, float]:
        """The values thresholds and the summary read, by k6's names."""
        raise NotImplementedError


class CounterSink(Sink):
    """Sum of values; ``rate`` is the sum per second of test run time."""

    __slots__ = ("count",)

    def __init__(self) -> None:
        self.count = 0.0

    def add(self, value: float) -> None:
        self.count += value

    def add_many(self, values: Iterable[float]) -> None:
        self.count = _sum_from(values, self.count)

    def merge(self, other: CounterSink) -> None:
        self.count += other.count

    def is_empty(self) -> bool:
        return self.count == 0

    def aggregates(self, elapsed_s: float = 0.0) -> dict[str, float]:
        return {"count": self.count, "rate": self.count / elapsed_s if elapsed_s > 0 else 0.0}


class GaugeSink(Sink):
    """The last value, with the min and max seen."""

    __slots__ = ("value", "min", "max", "_set")

    def __init__(self) -> None:
        self.value = 0.0
        self.min = math.inf
        self.max = -math.inf
        self._set = False

    def add(self, value: float) -> None:
        self.value = value
        if value < self.min:
            self.min = value
        if value > self.max:
            self.max = value
        self._set = True

    def merge(self, other: GaugeSink) -> None:
        if other._set:
            self.value = other.value
            self.min = min(self.min, other.min)
            self.max = max(self.max, other.max)
            self._set = True

    def is_empty(self) -> bool:
        return not self._set

    def aggregates(self, elapsed_s: float = 0.0) -> dict[str, float]:
        if not self._set:
            return {"value": 0.0, "min": 0.0, "max": 0.0}
        return {"value": self.value, "min": self.min, "max": self.max}


class RateSink(Sink):
    """The share of non-zero values."""

    __slots__ = ("trues", "total")

    def __init__(self) -> None:
        self.trues = 0
        self.total = 0

    def add(self, value: float) -> None:
        self.total += 1
        if value:
            self.trues += 1

    def add_many(self, values: Iterable[float]) -> None:
        values = tuple(values)
        self.total += len(values)
        self.trues += len(tuple(filter(None, values)))

    def merge(self, other: RateSink) -> None:
        self.trues += other.trues
        self.total += other.total

    def is_empty(self) -> bool:
        return self.total == 0

    def aggregates(self, elapsed_s: float = 0.0) -> dict[str, float]:
        agg: dict[str, float] = {"passes": self.trues, "fails": self.total - self.trues}
        if self.total:
            agg["rate"] = self.trues / self.total
        return agg


EXACT_LIMIT = 1000
"""A trend sink answers percentiles exactly while it holds at most this many values."""


class TrendSink(Sink):
    """Count, sum, min, max exactly; percentiles exact up to EXACT_LIMIT values, then within 1%."""

    __slots__ = ("count", "sum", "min", "max", "_pos", "_neg", "_zero", "_sorted", "_exact", "_exact_sorted")

    def __init__(self) -> None:
        self.count = 0
        self.sum = 0.0
        self.min = math.inf
        self.max = -math.inf
        self._pos: dict[int, int] = {}
        self._neg: dict[int, int] = {}
        self._zero = 0
        self._sorted: list[tuple[float, int]] | None = None
        self._exact: list[float] | None = []
        self._exact_sorted = True

    def add(self, value: float) -> None:
        self.count += 1
        self.sum += value
        if value < self.min:
            self.min = value
        if value > self.max:
            self.max = value
        exact = self._exact
        if exact is not None:
            exact.append(value)
            self._exact_sorted = False
            if len(exact) > EXACT_LIMIT:
                self.fold()
        # the bucket, inlined (this runs for every trend sample)
        if value > _MIN_MAGNITUDE:
            idx = _ceil(_log(value) * _INV_LOG_GAMMA)
            b = self._pos
            b[idx] = b.get(idx, 0) + 1
            self._sorted = None
        else:
            self._bucket(value)

    def add_many(self, values: Iterable[float]) -> None:
        values = tuple(values)
        n = len(values)
        if not n:
            return
        self.count += n
        self.sum = _sum_from(values, self.sum)
        exact = self._exact
        if exact is not None:
            exact.extend(values)
            self._exact_sorted = False
            if len(exact) > EXACT_LIMIT:
                self.fold()
        self._sorted = None
        lo, hi, zeros, pos, negs = _summary(values, self.sum == self.sum)  # NaN makes the sum NaN
        if lo is not None:
            if lo < self.min:
                self.min = lo
            if hi > self.max:
                self.max = hi
        self._zero += zeros
        _add_counts(self._pos, pos)
        _add_counts(self._neg, negs)

    def fold(self) -> None:
        """Stop keeping exact values (the buckets already hold them): percentiles are within 1% from now on."""
        self._exact = None
        self._sorted = None

    def _bucket(self, value: float) -> None:
        if value > _MIN_MAGNITUDE:
            idx = math.ceil(math.log(value) * _INV_LOG_GAMMA)
            b = self._pos
            b[idx] = b.get(idx, 0) + 1
        elif value < -_MIN_MAGNITUDE:
            idx = math.ceil(math.log(-value) * _INV_LOG_GAMMA)
            b = self._neg
            b[idx] = b.get(idx, 0) + 1
        else:
            self._zero += 1
        self._sorted = None

    def merge(self, other: TrendSink) -> None:
        """Add every value ``other`` holds (sketches are mergeable)."""
        if not other.count:
            return
        self.count += other.count
        self.sum += other.sum
        self.min = min(self.min, other.min)
        self.max = max(self.max, other.max)
        for mine, theirs in ((self._pos, other._pos), (self._neg, other._neg)):
            for k, n in theirs.items():
                mine[k] = mine.get(k, 0) + n
        self._zero += other._zero
        self._sorted = None
        if self._exact is not None:
            if other._exact is not None and len(self._exact) + len(other._exact) <= EXACT_LIMIT:
                self._exact.extend(other._exact)
                self._exact_sorted = False
            else:
                self.fold()

    def buckets(self) -> list[tuple[float, int]]:
        """(representative value, count) of every non-empty bucket, ascending."""
        if self._sorted is None:
            out: list[tuple[float, int]] = []
            for idx in sorted(self._neg, reverse=True):
                out.append((-_bucket_value(idx), self._neg[idx]))
            if self._zero:
                out.append((0.0, self._zero))
            for idx in sorted(self._pos):
                out.append((_bucket_value(idx), self._pos[idx]))
            self._sorted = out
        return self._sorted

    def _value_at_rank(self, rank: int) -> float:
        if self._exact is not None:
            if not self._exact_sorted:
                self._exact.sort()
                self._exact_sorted = True
            return self._exact[rank]
        if rank <= 0:
            return self.min
        if rank >= self.count - 1:
            return self.max
        seen = 0
        for value, n in self.buckets():
            seen += n
            if rank < seen:
                return min(max(value, self.min), self.max)
        return self.max  # pragma: no cover - counts always add up

    def percentile(self, p: float) -> float:
        """k6's ``P(p)`` for ``p`` in [0, 1]: 0 when empty, within 1% otherwise."""
        if self.count == 0:
            return 0.0
        if self.count == 1:
            return self.min
        i = p * (self.count - 1)
        lo = math.floor(i)
        hi = math.ceil(i)
        v_lo = self._value_at_rank(lo)
        if hi == lo:
            return v_lo
        v_hi = self._value_at_rank(hi)
        return v_lo + (v_hi - v_lo) * (i - lo)

    @property
    def avg(self) -> float:
        return self.sum / self.count if self.count else 0.0

    def is_empty(self) -> bool:
        return self.count == 0

    def aggregates(self, elapsed_s: float = 0.0, percentiles: Iterable[float] = (0.9, 0.95)) -> dict[str, float]:
        """avg, min, med, max, count and ``p(N)`` for each fraction in ``percentiles``."""
        if not self.count:
            agg = {"avg": 0.0, "min": 0.0, "med": 0.0, "max": 0.0, "count": 0}
        else:
            agg = {"avg": self.avg, "min": self.min, "med": self.percentile(0.5), "max": self.max, "count": self.count}
        for p in percentiles:
            agg[f"p({_fmt_pct(p * 100)})"] = self.percentile(p)
        return agg


def _bucket_value(idx: int) -> float:
    """The value within 1% of every value of bucket ``idx`` (``2 * gamma**idx / (gamma + 1)``)."""
    try:
        return math.exp(idx * _LOG_GAMMA + _LOG_MID)
    except OverflowError:  # beyond the largest float: clamped to the sink's max by the caller
        return math.inf


def _fmt_pct(pct: float) -> str:
    return f"{pct:.10g}"


_SINKS = {
    MetricType.COUNTER: CounterSink,
    MetricType.GAUGE: GaugeSink,
    MetricType.RATE: RateSink,
    MetricType.TREND: TrendSink,
}


def new_sink(metric_type: MetricType) -> Sink:
    """An empty sink for a metric of ``metric_type``."""
    return _SINKS[metric_type]()
