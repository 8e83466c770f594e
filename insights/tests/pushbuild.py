"""k6-shaped v2 pushes built in tests: one instance's counters, rates, trends (with k6's histogram)
and VUs, every series tagged with its ``instance_id``."""

from __future__ import annotations

import math
from collections import Counter

import cramjam
from horde_insights.histogram import bucket_index
from wirebuild import double, field, metric_set_of, uint, varint

RESOLUTION = 0.001


def _at(seconds: float) -> bytes:
    whole = int(seconds)
    return field(1, uint(1, whole) + (uint(2, int(round((seconds - whole) * 1e9))) if seconds != whole else b""))


def _labels(labels: dict[str, str]) -> bytes:
    return b"".join(field(1, field(1, k.encode()) + field(2, v.encode())) for k, v in labels.items())


def trend_value(t: float, values: list[float]) -> bytes:
    """A trend value of ``values`` (ms) as k6 sends it: histogram spans and counters, count, sum, min, max."""
    buckets = Counter(bucket_index(math.ceil(v / RESOLUTION)) for v in values)
    spans = b""
    counters = b""
    prev_end = 0
    for n, idx in enumerate(sorted(buckets)):
        spans += field(3, uint(1, idx if n == 0 else idx - prev_end) + uint(2, 1))
        counters += varint(buckets[idx])
        prev_end = idx + 1
    return (
        _at(t)
        + field(2, counters)
        + spans
        + double(5, sum(values))
        + uint(6, len(values))
        + double(7, min(values))
        + double(8, max(values))
        + double(11, RESOLUTION)
    )


def instance_push(
    instance: str | None,
    t: float,
    durations: list[float],
    failed: int = 0,
    vus: int = 5,
    tags: dict[str, str] | None = None,
) -> bytes:
    """One push of one instance for one 3 s bucket at ``t``: ``len(durations)`` requests, ``failed``
    of them failed, ``vus`` VUs. ``instance`` None pushes without the tag."""
    labels = dict(tags or {})
    if instance is not None:
        labels["instance_id"] = instance
    lab = _labels(labels)
    n = len(durations)
    raw = metric_set_of(
        [
            ("http_reqs", 1, [lab + field(2, field(1, _at(t) + double(2, float(n))))]),
            ("http_req_failed", 3, [lab + field(4, field(1, _at(t) + uint(2, failed) + uint(3, n)))]),
            ("http_req_duration", 4, [lab + field(5, field(1, trend_value(t, durations)))]),
            (
                "vus",
                2,
                [
                    lab
                    + field(
                        3,
                        field(
                            1, _at(t) + double(2, vus) + uint(3, 1) + double(4, vus) + double(5, vus) + double(6, vus)
                        ),
                    )
                ],
            ),
        ]
    )
    return bytes(cramjam.snappy.compress_raw(raw))
