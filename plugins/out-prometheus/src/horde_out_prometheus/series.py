"""k6's mapping of samples onto Prometheus series, kept per time series (metric + tag set) over the whole run.

As k6's ``experimental-prometheus-rw`` does, every series holds a cumulative
value since the start of the test and each flush sends the series that
changed, stamped with their latest sample's time (milliseconds):

- Counter ``x``: ``k6_x_total``, the running total.
- Gauge ``x``: ``k6_x``, the last value.
- Rate ``x``: ``k6_x_rate``, the share of non-zero values so far.
- Trend ``x``: one gauge ``k6_x_<stat>`` per configured stat (``p99``,
  ``avg``...), values of time trends in seconds; or, with native histograms,
  one histogram ``k6_x_seconds`` (``_bytes`` for data trends).

Labels are the sample's tags with a non-empty value, plus ``__name__``,
sorted by name. Metadata (``vu``, ``iter``...) is not a label, as in k6.

One deviation: k6 skips a series whose newest sample falls in the
millisecond it already sent, so an update in that millisecond can wait for
the next sample, or be lost at the end; here it is sent 1 ms later instead.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from horde.metrics import Metric, MetricType, SampleContainer, TagSet, TrendSink, ValueType

from .config import stat_suffix
from .histogram import SCHEMA, ZERO_THRESHOLD, NativeHistogram
from .protobuf import STALE_NAN, encode_histogram, encode_labels, encode_sample, series_message

__all__ = ["PREFIX", "SeriesSet", "trend_resolvers"]

PREFIX = "k6_"

Resolver = Callable[[TrendSink], float]


def trend_resolvers(stats: Sequence[str]) -> list[tuple[str, Resolver]]:
    """(series suffix, value of the stat) for each configured trend stat, as k6 names them."""
    out: list[tuple[str, Resolver]] = []
    for stat in stats:
        fn: Resolver
        if stat == "avg":
            fn = lambda s: s.sum / s.count if s.count else 0.0  # noqa: E731
        elif stat == "min":
            fn = lambda s: s.min if s.count else 0.0  # noqa: E731
        elif stat == "max":
            fn = lambda s: s.max if s.count else 0.0  # noqa: E731
        elif stat == "med":
            fn = lambda s: s.percentile(0.5)  # noqa: E731
        elif stat == "count":
            fn = lambda s: float(s.count)  # noqa: E731
        elif stat == "sum":
            fn = lambda s: s.sum  # noqa: E731
        else:
            q = float(stat[2:-1]) / 100
            fn = lambda s, q=q: s.percentile(q)  # type: ignore[misc]  # noqa: E731
        out.append((stat_suffix(stat), fn))
    return out


def _labels(metric: Metric, tags: TagSet, suffix: str) -> bytes:
    name = PREFIX + metric.name + (f"_{suffix}" if suffix else "")
    pairs = [(k, v) for k, v in tags.items() if k and v]
    pairs.append(("__name__", name))
    pairs.sort()
    return encode_labels(pairs)


class _Series:
    """One time series: its cumulative state and the labels of what it sends."""

    __slots__ = ("kind", "value", "trues", "total", "trend", "hist", "labels", "latest_ms", "sent_ms", "changed")

    def __init__(self, metric: Metric, tags: TagSet, native: bool, stat_suffixes: Sequence[str]) -> None:
        t = metric.type
        self.kind = t
        self.value = 0.0
        self.trues = 0
        self.total = 0
        self.trend: TrendSink | None = None
        self.hist: NativeHistogram | None = None
        self.latest_ms = -(2**62)
        self.sent_ms = -(2**62)
        self.changed = False
        if t is MetricType.COUNTER:
            self.labels = [_labels(metric, tags, "total")]
        elif t is MetricType.GAUGE:
            self.labels = [_labels(metric, tags, "")]
        elif t is MetricType.RATE:
            self.labels = [_labels(metric, tags, "rate")]
        elif native:
            unit = {ValueType.TIME: "seconds", ValueType.DATA: "bytes"}.get(metric.contains, "")
            self.labels = [_labels(metric, tags, unit)]
            self.hist = NativeHistogram()
        else:
            self.labels = [_labels(metric, tags, s) for s in stat_suffixes]
            self.trend = TrendSink()

    def fold(self, values: list[float], in_ms: bool) -> None:
        """Add a column of values (in the order they were taken); ``in_ms``: a time trend, made seconds."""
        kind = self.kind
        if kind is MetricType.COUNTER:
            self.value = math.fsum((self.value, *values)) if len(values) > 1 else self.value + values[0]
        elif kind is MetricType.GAUGE:
            self.value = values[-1]
        elif kind is MetricType.RATE:
            self.total += len(values)
            self.trues += len(values) - values.count(0.0)
        else:
            if in_ms:
                values = [v / 1000 for v in values]
            if self.hist is not None:
                self.hist.observe_many(values)
            else:
                self.trend.add_many(values)  # type: ignore[union-attr]


class SeriesSet:
    """Every series seen in the run; :meth:`add` folds samples in, :meth:`take` encodes the changed ones."""

    def __init__(self, *, native_histograms: bool, trend_stats: Sequence[str]) -> None:
        self.native = native_histograms
        self._resolvers = trend_resolvers(trend_stats)
        self._suffixes = [s for s, _ in self._resolvers]
        self._series: dict[tuple[Metric, TagSet], _Series] = {}
        self._changed: list[_Series] = []
        self.samples = 0
        """Samples folded in."""

    def __len__(self) -> int:
        return len(self._series)

    def add(self, containers: Iterable[SampleContainer]) -> None:
        """Fold the samples of ``containers`` into their series (on the output's own thread, not the hot path).

        Containers of the same metrics and tag set (every request of one endpoint) are grouped
        first, so each series folds a column of values at once.
        """
        groups: dict[tuple[Sequence[Metric], TagSet], list[Any]] = {}
        n = 0
        for c in containers:
            values = c.values
            key = (c.metrics, c.tags)
            g = groups.get(key)
            if g is None:
                groups[key] = [c.time, [values]]
            else:
                g[1].append(values)
                if c.time > g[0]:
                    g[0] = c.time
            n += len(values)
        series = self._series
        changed = self._changed
        for (metrics, tags), (t, rows) in groups.items():
            ms = t // 1_000_000
            for i, metric in enumerate(metrics):
                s = series.get((metric, tags))
                if s is None:
                    s = series[(metric, tags)] = _Series(metric, tags, self.native, self._suffixes)
                if not s.changed:
                    s.changed = True
                    changed.append(s)
                if ms > s.latest_ms:
                    s.latest_ms = ms
                s.fold([r[i] for r in rows], metric.contains is ValueType.TIME)
        self.samples += n

    def take(self) -> list[bytes]:
        """The changed series as framed TimeSeries, each stamped after the last one it sent."""
        out: list[bytes] = []
        changed, self._changed = self._changed, []
        for s in changed:
            s.changed = False
            ts = s.latest_ms if s.latest_ms > s.sent_ms else s.sent_ms + 1
            s.sent_ms = ts
            kind = s.kind
            if kind is MetricType.COUNTER or kind is MetricType.GAUGE:
                out.append(series_message(s.labels[0], encode_sample(s.value, ts)))
            elif kind is MetricType.RATE:
                out.append(series_message(s.labels[0], encode_sample(s.trues / s.total if s.total else 0.0, ts)))
            elif s.hist is not None:
                out.append(series_message(s.labels[0], _histogram(s.hist, ts)))
            else:
                trend = s.trend
                assert trend is not None
                for labels, (_, fn) in zip(s.labels, self._resolvers):
                    out.append(series_message(labels, encode_sample(fn(trend), ts)))
        return out

    def stale_markers(self, now_ms: int) -> list[bytes]:
        """A stale marker for every series ever sent, at ``now_ms`` (or just after its last sample)."""
        out: list[bytes] = []
        for s in self._series.values():
            ts = max(now_ms, s.sent_ms + 1)
            for labels in s.labels:
                out.append(series_message(labels, encode_sample(STALE_NAN, ts)))
        return out


def _histogram(h: NativeHistogram, ts: int) -> bytes:
    return encode_histogram(
        count=h.count,
        total=h.sum,
        schema=SCHEMA,
        zero_threshold=ZERO_THRESHOLD,
        zero_count=h.zero_count,
        negative=h.negative_spans(),
        positive=h.positive_spans(),
        timestamp_ms=ts,
    )
