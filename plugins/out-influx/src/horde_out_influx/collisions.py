"""The (tag set, timestamp) slots written recently, so that no point overwrites another.

InfluxDB keeps one point per measurement, tag set and timestamp (at the write
precision): a second point there replaces the first without an error. Fields
do not count, so two requests that differ only in ``url`` (a field by
default) and end in the same nanosecond — or, with ``precision=ms``, in the
same millisecond — are one point to InfluxDB. :class:`TakenSlots` remembers,
for each timestamp and tag-set string written lately, which measurements took
it; a point whose slot is taken is moved one time unit later, again until its
slot is free, and counted in :attr:`TakenSlots.moved`. Every other point keeps
its own time.

Slots live in buckets of one second (or one time unit when the precision is
coarser), remembered for :attr:`TakenSlots.WINDOW_NS` behind the newest point's
own time and at most :attr:`TakenSlots.MAX_SLOTS` slots; a point older than
that (never the case for samples, which reach an output within a few push
intervals) is written as it is and counted in :attr:`TakenSlots.unchecked`.
Slots ahead of the newest own time (taken by moved points) are kept until the
window reaches them: only a pile-up that outruns the clock (many points of one
series per time unit, for long) makes them many.

A bucket maps a timestamp to ``(tags, names)`` — one tag set wrote there, the
common case, checked with one integer lookup — or to ``{tags: names}`` when
several did.
"""

from __future__ import annotations

__all__ = ["Bucket", "Names", "TakenSlots"]

Names = tuple[str, ...]
"""Measurements (escaped) written at one slot."""

Bucket = dict[int, tuple[str, Names] | dict[str, Names]]
"""Timestamp → (tag set, measurements), or tag set → measurements when several tag sets wrote there."""


class TakenSlots:
    """The measurements written at each (tag set, timestamp) slot of the recent past.

    ``moved`` counts points written later than their own time because their
    slot was taken; ``unchecked`` counts points too old for the table, written
    at their own time without the check.
    """

    WINDOW_NS = 10_000_000_000
    """How far behind the newest point slots are remembered (10 s)."""
    BUCKET_NS = 1_000_000_000
    """The time one bucket of slots covers (1 s), or one time unit when that is longer."""
    MAX_SLOTS = 300_000
    """Slots remembered at most (some 25 MB); past it, the oldest buckets are forgotten first."""
    MAX_RUNS = 100_000
    """Runs of taken slots remembered (see :meth:`claim`)."""

    def __init__(self, divisor: int = 1) -> None:
        self.span = max(1, self.BUCKET_NS // divisor)
        """Time units per bucket."""
        self.keep = max(2, self.WINDOW_NS // (self.span * divisor))
        """Buckets remembered, the newest one included."""
        self._buckets: dict[int, Bucket] = {}
        self._shared: dict[int, int] = {}
        """Bucket index → slots beyond the first of a timestamp (kept in ``{tags: names}`` entries)."""
        self._newest = -(1 << 62)
        """The bucket index of the newest point's own time: the window ends there (moved points do not
        move it, though they may take slots in later buckets)."""
        self._floor = 0
        """The oldest bucket index still remembered; older points go unchecked."""
        self._runs: dict[tuple[str, str], tuple[int, int]] = {}
        """(measurement, tag set) → (first, last): every slot from first to last holds the measurement."""
        self._tag_runs: dict[str, tuple[Names, int, int]] = {}
        """Tag set → (measurements, first, last) of :meth:`claim_all`'s last run for that tag set."""
        self.moved = 0
        self.unchecked = 0

    def __len__(self) -> int:
        """Slots remembered."""
        return sum(len(b) for b in self._buckets.values()) + sum(self._shared.values())

    def window(self, ts: int) -> tuple[int, int, Bucket | None]:
        """(start, end, bucket) of the bucket holding ``ts`` (None when older than the table remembers).

        A point of tag set ``tags`` and measurements ``names`` (distinct) at
        ``ts`` is free in the common case, ``ts not in bucket``; then
        ``bucket[ts] = (tags, names)`` takes its slot. Otherwise
        :meth:`claim_all` says where it goes.
        """
        index = ts // self.span
        bucket = self._buckets.get(index)
        if bucket is None or index > self._newest:
            bucket = self._open(index)
        return index * self.span, (index + 1) * self.span, bucket

    def remembers(self, ts: int) -> bool:
        """False when ``ts`` is older than the slots remembered (its point can only be written unchecked)."""
        index = ts // self.span
        return (index in self._buckets and index <= self._newest) or self._open(index) is not None

    def _open(self, index: int) -> Bucket | None:
        """The bucket for a point's own time, made if needed: a newer one than any before moves the window
        on; None when too old."""
        if index < self._floor:
            return None
        bucket = self._buckets.get(index)
        if bucket is None:
            bucket = self._buckets[index] = {}
        if index > self._newest:
            self._newest = index
            self._forget(index - self.keep + 1)
        return bucket

    def _forget(self, floor: int) -> None:
        """Drop the buckets before ``floor``, then the oldest ones while more than MAX_SLOTS slots are left
        (never the newest own time's bucket nor later ones: points moved there must not be overwritten)."""
        buckets = self._buckets
        for index in [i for i in buckets if i < floor]:
            del buckets[index]
            self._shared.pop(index, None)
        self._floor = max(self._floor, floor)
        size = len(self)
        while size > self.MAX_SLOTS and (oldest := min(buckets)) < self._newest:
            size -= len(buckets.pop(oldest)) + self._shared.pop(oldest, 0)
            self._floor = oldest + 1
        if len(self._runs) > self.MAX_RUNS:
            self._runs.clear()
        if len(self._tag_runs) > self.MAX_RUNS:
            self._tag_runs.clear()

    def _held(self, tags: str, t: int) -> tuple[Bucket, Names | None]:
        """(bucket, measurements written at slot (tags, t)); the bucket is made if needed (t is not too old:
        a point's own time already checked, or later), without moving the window."""
        index = t // self.span
        bucket = self._buckets.get(index)
        if bucket is None:
            bucket = self._buckets[index] = {}
        entry = bucket.get(t)
        if entry is None:
            return bucket, None
        if entry.__class__ is tuple:
            return bucket, entry[1] if entry[0] == tags else None
        return bucket, entry.get(tags)  # type: ignore[union-attr]

    def _hold(self, bucket: Bucket, tags: str, t: int, names: Names) -> None:
        """Record ``names`` as the measurements written at slot (tags, t) of ``bucket``."""
        entry = bucket.get(t)
        if entry is None:
            bucket[t] = (tags, names)
            return
        if entry.__class__ is tuple:
            if entry[0] == tags:
                bucket[t] = (tags, names)
                return
            entry = bucket[t] = {entry[0]: entry[1]}
        assert isinstance(entry, dict)
        if tags not in entry:
            index = t // self.span
            self._shared[index] = self._shared.get(index, 0) + 1
        entry[tags] = names

    def claim(self, name: str, tags: str, ts: int) -> int:
        """The timestamp to write a point of measurement ``name`` and tag set ``tags`` at, taken from now on:
        ``ts``, or when that slot is taken the first later free one (counted in ``moved``).

        A pile-up (a coarse precision, or many points at one time) is walked
        once: the run of taken slots a measurement was last moved through is
        remembered, and a later point landing in it skips to its end.
        """
        if not self.remembers(ts):
            self.unchecked += 1
            return ts
        series = (name, tags)
        first, last = self._runs.get(series, _NO_RUN)
        t = ts
        while True:
            bucket, held = self._held(tags, t)
            if held is None:
                self._hold(bucket, tags, t, (name,))
                break
            if name not in held:
                self._hold(bucket, tags, t, held + (name,))
                break
            t += 1
            if first <= t <= last:
                t = last + 1
        if t != ts:
            self.moved += 1
            self._runs[series] = (first if first <= ts <= last else ts, t)
        return t

    def claim_all(self, names: Names, tags: str, ts: int) -> int:
        """Like :meth:`claim` for points of the distinct measurements ``names`` at one time ``ts`` (not too
        old): the first time from ``ts`` on whose slot holds none of them, when every slot before it holds
        them all (then each point would go there on its own); -1 otherwise, and nothing is taken.

        This is the fast path's way out when its slot is taken, which at a
        coarse precision is most of the time: kept short on purpose.
        """
        runs = self._tag_runs
        run = runs.get(tags)
        if run is not None and (run[0] is names or run[0] == names):
            first, last = run[1], run[2]
        else:
            first, last = _NO_RUN
        t = last + 1 if first <= ts <= last else ts
        buckets, span, shared = self._buckets, self.span, self._shared
        while True:
            index = t // span
            bucket = buckets.get(index)
            if bucket is None:
                bucket = buckets[index] = {}
            entry = bucket.get(t)
            if entry is None:
                bucket[t] = (tags, names)
                break
            held: Names | None
            if entry.__class__ is tuple:
                if entry[0] != tags:
                    bucket[t] = {entry[0]: entry[1], tags: names}
                    shared[index] = shared.get(index, 0) + 1
                    break
                held = entry[1]
            else:
                held = entry.get(tags)  # type: ignore[union-attr]
                if held is None:
                    entry[tags] = names  # type: ignore[index]
                    shared[index] = shared.get(index, 0) + 1
                    break
            if held is not names and not all(name in held for name in names):
                if any(name in held for name in names):
                    return -1
                self._hold(bucket, tags, t, held + names)
                break
            t += 1
            if first <= t <= last:
                t = last + 1
        if t != ts:
            self.moved += len(names)
            runs[tags] = (names, first if first <= ts <= last else ts, t)
        return t


_NO_RUN = (1, 0)
