"""Turn collected buckets into compressed MetricSet payloads of at most N time series each."""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Iterable

import cramjam
from horde.metrics import Metric

from .aggregate import Aggregate, Aggregator, BucketAggregates, Hist
from .protobuf import encode_metric_set, encode_series, encode_value

__all__ = ["Batch", "build_batches"]


@dataclasses.dataclass
class Batch:
    """One push: snappy-compressed body, its idempotency key (kept across retries) and sample count."""

    body: bytes
    key: str
    samples: int

    @classmethod
    def new(cls, body: bytes, samples: int) -> Batch:
        return cls(body, secrets.token_hex(8), samples)


def _count(agg: Aggregate) -> int:
    return agg.count if isinstance(agg, Hist) else int(agg[1])


def build_batches(
    agg: Aggregator, run_id: str, period_s: int, buckets: Iterable[tuple[int, int, BucketAggregates]], max_series: int
) -> list[Batch]:
    """Encode ``buckets`` (from :meth:`Aggregator.collect`) metric-first, split every ``max_series`` series."""
    # metric -> labels -> [(t, aggregate)]
    by_metric: dict[Metric, dict[tuple[tuple[str, str], ...], list[tuple[int, Aggregate]]]] = {}
    for start, _n, by_tags in buckets:
        for tags, aggs in by_tags.items():
            labels = agg.labels(tags)
            for metric, a in aggs.items():
                series = by_metric.setdefault(metric, {})
                series.setdefault(labels, []).append((start, a))
    batches: list[Batch] = []
    current: list[tuple[str, int, list[bytes]]] = []
    n_series = 0
    samples = 0

    def close() -> None:
        nonlocal current, n_series, samples
        if current:
            raw = encode_metric_set(run_id, period_s, current)
            batches.append(Batch.new(bytes(cramjam.snappy.compress_raw(raw)), samples))
        current, n_series, samples = [], 0, 0

    for metric, series in by_metric.items():
        kind = agg.kind(metric)
        encoded: list[bytes] = []
        for labels, values in series.items():
            encoded.append(encode_series(kind, labels, (encode_value(kind, t, a) for t, a in values)))
            samples += sum(_count(a) for _, a in values)
            n_series += 1
            if n_series >= max_series:
                current.append((metric.name, kind, encoded))
                close()
                encoded = []
        if encoded:
            current.append((metric.name, kind, encoded))
    close()
    return batches
