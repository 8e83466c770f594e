"""Comparing what an output read back with what the kit sent, with messages that show the difference."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping

from ..metrics import SampleContainer
from .readback import OutputUnderTest, ReadSample, SeriesTotal

__all__ = [
    "CheckFailed",
    "Totals",
    "expect_same",
    "sample_keys",
    "totals_of_containers",
    "totals_of_reads",
    "expect_same_totals",
]

SampleKey = tuple[str, "int | None", float, tuple[tuple[str, str], ...], "tuple[tuple[str, str], ...] | None"]
SeriesKey = tuple[str, tuple[tuple[str, str], ...]]


class CheckFailed(AssertionError):
    """A conformance check found the output breaking the contract."""


class Totals:
    """Per series (metric + tags): sample count, value sum and, when kept, the sum of times."""

    def __init__(self) -> None:
        self.count: Counter[SeriesKey] = Counter()
        self.value_sum: dict[SeriesKey, float] = {}
        self.time_sum: Counter[SeriesKey] = Counter()
        self.unknown_count: set[SeriesKey] = set()
        self.unknown_sum: set[SeriesKey] = set()

    def add(self, key: SeriesKey, count: int | None, value_sum: float | None, time_sum: int = 0) -> None:
        """Add a run of samples of one series; None means "the store does not keep this"."""
        if count is None:
            self.unknown_count.add(key)
        else:
            self.count[key] += count
        if value_sum is None:
            self.unknown_sum.add(key)
        else:
            self.value_sum[key] = self.value_sum.get(key, 0.0) + value_sum
        self.time_sum[key] += time_sum

    def keys(self) -> set[SeriesKey]:
        return set(self.count) | set(self.value_sum) | self.unknown_count | self.unknown_sum


def _tags(tags: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((str(k), str(v)) for k, v in tags.items()))


def _series_tags(tags: Mapping[str, str], uut: OutputUnderTest) -> tuple[tuple[str, str], ...]:
    return () if "tags" in uut.lacks else _tags(tags)


def _time(t: int | None, uut: OutputUnderTest) -> int | None:
    if t is None or "time" in uut.lacks:
        return None
    return t - t % uut.time_resolution_ns


def sample_keys(containers: Iterable[SampleContainer], uut: OutputUnderTest) -> Counter[SampleKey]:
    """The multiset of samples in ``containers`` as the output should keep them."""
    keep_md = "metadata" not in uut.lacks
    keys: Counter[SampleKey] = Counter()
    for c in containers:
        t = _time(c.time, uut)
        tags = _series_tags(c.tags, uut)
        md = _tags(c.metadata) if keep_md and c.metadata else None
        for m, v in zip(c.metrics, c.values):
            keys[(m.name, t, float(v), tags, md)] += 1
    return keys


def read_keys(reads: Iterable[ReadSample], uut: OutputUnderTest) -> Counter[SampleKey]:
    """The multiset of samples the output read back."""
    keep_md = "metadata" not in uut.lacks
    keys: Counter[SampleKey] = Counter()
    for r in reads:
        md = _tags(r.metadata) if keep_md and r.metadata else None
        keys[(r.metric, _time(r.time, uut), float(r.value), _series_tags(r.tags, uut), md)] += 1
    return keys


def _show(key: SampleKey) -> str:
    metric, t, v, tags, md = key
    text = f"{metric} time={t} value={v!r} tags={dict(tags)!r}"
    return text + (f" metadata={dict(md)!r}" if md else "")


def expect_same(sent: Counter[SampleKey], got: Counter[SampleKey], what: str) -> None:
    """Fail unless the output kept exactly the samples it was sent (as a multiset)."""
    missing = sent - got
    extra = got - sent
    if not missing and not extra:
        return
    lines = [
        f"{what}: sent {sum(sent.values())} samples, read back {sum(got.values())}; "
        f"{sum(missing.values())} missing, {sum(extra.values())} unexpected"
    ]
    lines += [f"  missing:    {_show(k)}" for k in list(missing)[:5]]
    lines += [f"  unexpected: {_show(k)}" for k in list(extra)[:5]]
    raise CheckFailed("\n".join(lines))


def totals_of_containers(containers: Iterable[SampleContainer], uut: OutputUnderTest) -> Totals:
    """Per-series totals of what was sent (times summed only for a per-sample output that keeps them)."""
    keep_time = uut.per_sample and "time" not in uut.lacks
    totals = Totals()
    for c in containers:
        tags = _series_tags(c.tags, uut)
        t = _time(c.time, uut) or 0 if keep_time else 0
        for m, v in zip(c.metrics, c.values):
            totals.add((m.name, tags), 1, float(v), t)
    return totals


def totals_of_reads(
    reads: Iterable[ReadSample] | None, series: Iterable[SeriesTotal] | None, uut: OutputUnderTest
) -> Totals:
    """Per-series totals of what the output read back, from samples or from its own totals."""
    keep_time = uut.per_sample and "time" not in uut.lacks
    totals = Totals()
    if reads is not None:
        for r in reads:
            t = (_time(r.time, uut) or 0) if keep_time else 0
            totals.add((r.metric, _series_tags(r.tags, uut)), 1, float(r.value), t)
    for s in series or ():
        totals.add((s.metric, _series_tags(s.tags, uut)), s.count, s.value_sum)
    return totals


def expect_same_totals(sent: Totals, got: Totals, what: str, *, times: bool) -> None:
    """Fail unless every series holds as many samples, with the same value sum (and time sum), as were sent."""
    problems: list[str] = []
    sent_samples = sum(sent.count.values())
    for key in sorted(sent.keys() | got.keys()):
        if key not in got.keys():
            problems.append(f"  series {key[0]} {dict(key[1])!r}: missing ({sent.count[key]} samples sent)")
            continue
        if key not in sent.keys():
            problems.append(f"  series {key[0]} {dict(key[1])!r}: unexpected ({got.count[key]} samples)")
            continue
        if key not in got.unknown_count and got.count[key] != sent.count[key]:
            problems.append(f"  series {key[0]} {dict(key[1])!r}: {got.count[key]} samples of {sent.count[key]}")
        elif key not in got.unknown_sum and not math.isclose(
            got.value_sum.get(key, 0.0), sent.value_sum[key], rel_tol=1e-9, abs_tol=1e-6
        ):
            problems.append(
                f"  series {key[0]} {dict(key[1])!r}: value sum {got.value_sum.get(key)!r} "
                f"instead of {sent.value_sum[key]!r}"
            )
        elif times and got.time_sum[key] != sent.time_sum[key]:
            problems.append(f"  series {key[0]} {dict(key[1])!r}: the samples' times differ from those sent")
    if problems:
        got_samples = sum(got.count.values())
        head = f"{what}: sent {sent_samples} samples, read back {got_samples} (where counted)"
        raise CheckFailed("\n".join([head] + problems[:10]))
