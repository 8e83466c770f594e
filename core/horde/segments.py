"""Execution segments: k6's exact way of splitting one test among instances (lib/execution_segment.go).

A *segment* ``(from, to]`` with ``0 <= from < to <= 1`` is the part of the
work one instance runs; a *sequence* ``0,1/3,2/3,1`` lists the segments of
all instances. Numbers are exact fractions (as Go's ``big.Rat``). k6 does
not simply multiply: it *stripes*. Within every cycle of ``lcd`` elements
(the least common denominator of the segments' lengths), each segment owns
a fixed set of element positions, spread as evenly as possible; the
instance's share of a value ``n`` (VUs, iterations) is how many of the
elements ``0 .. n-1`` it owns. The shares of all segments always add up to
``n``, and a share never decreases when ``n`` grows.

- :class:`Segment` parses ``1/3:2/3``, ``0.25:0.5``, ``25%:50%`` and ``2/3``
  (= ``0:2/3``); :class:`SegmentSequence` parses ``0,1/3,2/3,1``.
- :class:`StripedSequence` is a full sequence with its striped offsets.
- :class:`ExecutionTuple` is one segment of it: :meth:`~ExecutionTuple.scale`,
  :meth:`~ExecutionTuple.from_value` (k6's ``GetNewExecutionTupleFromValue``)
  and :meth:`~ExecutionTuple.unscaled` (the global index of a local element).
- :class:`Share` chains tuples: an instance's tuple, then a worker's tuple
  within the instance (``--workers``), so workers split exactly the
  instance's share and never anything else.

Error texts are k6's.
"""

from __future__ import annotations

import bisect
import dataclasses
import functools
import heapq
import math
import re
from collections.abc import Iterator, Sequence
from fractions import Fraction

__all__ = [
    "SegmentError",
    "Segment",
    "SegmentSequence",
    "StripedSequence",
    "ExecutionTuple",
    "Share",
    "execution_tuple",
    "instance_segment",
    "worker_share",
]

_ZERO = Fraction(0)
_ONE = Fraction(1)
_FRACTION = re.compile(r"[+-]?[0-9]+/[0-9]+")
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_INTEGER = re.compile(r"[+-]?[0-9]+")


class SegmentError(ValueError):
    """An invalid execution segment or sequence (the message is k6's)."""


def _rat_string(value: Fraction) -> str:
    """Go's ``big.Rat.RatString``: ``1/3``, ``0``, ``1``."""
    return str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"


def _float_string(value: Fraction, digits: int = 2) -> str:
    """Go's ``big.Rat.FloatString(2)``: rounded half away from zero."""
    scaled = abs(value) * 10**digits
    whole = int(scaled)
    if scaled - whole >= Fraction(1, 2):
        whole += 1
    sign = "-" if value < 0 and whole else ""
    text = str(whole).rjust(digits + 1, "0")
    return f"{sign}{text[:-digits]}.{text[-digits:]}"


def _to_rat(text: str) -> Fraction:
    """k6's ``stringToRat``: a percentage (``25%``), a decimal (``0.25``) or a fraction (``1/4``)."""
    if text.endswith("%"):
        number = text[:-1]
        if not _INTEGER.fullmatch(number):
            raise SegmentError(f"'{text}' is not a valid percentage")
        return Fraction(int(number), 100)
    if _FRACTION.fullmatch(text):
        num, den = text.split("/")
        if int(den) != 0:
            return Fraction(int(num), int(den))
    elif _DECIMAL.fullmatch(text):
        return Fraction(text)
    raise SegmentError(f"'{text}' is not a valid percentage, decimal, fraction or interval value")


@dataclasses.dataclass(frozen=True)
class Segment:
    """The part ``(start, end]`` of the whole test (``0 <= start < end <= 1``) that one instance runs."""

    start: Fraction
    end: Fraction

    def __post_init__(self) -> None:
        if self.start < 0:
            raise SegmentError(f"segment start value must be at least 0 but was {_float_string(self.start)}")
        if self.start >= self.end:
            raise SegmentError(
                f"segment start({_float_string(self.start)}) must be less than its end({_float_string(self.end)})"
            )
        if self.end > 1:
            raise SegmentError(f"segment end value can't be more than 1 but was {_float_string(self.end)}")

    @classmethod
    def parse(cls, text: str) -> Segment:
        """``1/3:2/3``, ``0.25:0.5``, ``25%:50%``; one value is the end of a segment from 0; empty is ``0:1``."""
        start, end = "0", text or "1"
        if ":" in end:
            start, end = end.split(":", 1)
            return cls(_to_rat(start), _to_rat(end))
        return cls(_ZERO, _to_rat(end))

    @classmethod
    def full(cls) -> Segment:
        """The whole test, ``0:1``."""
        return cls(_ZERO, _ONE)

    @property
    def length(self) -> Fraction:
        """``end - start``."""
        return self.end - self.start

    def __str__(self) -> str:
        return f"{_rat_string(self.start)}:{_rat_string(self.end)}"

    def split(self, parts: int) -> list[Segment]:
        """``parts`` equal consecutive sub-segments of this one."""
        if parts < 1:
            raise SegmentError(f"the number of parts must be at least 1, {parts} received")
        step = self.length / parts
        return [Segment(self.start + step * i, self.start + step * (i + 1)) for i in range(parts)]

    def sub_segment(self, child: Segment) -> Segment:
        """``child`` taken within this segment: ``(1/2:1).sub_segment(0:1/2)`` is ``1/2:3/4``."""
        start = self.start + child.start * self.length
        return Segment(start, start + child.length * self.length)

    def scale(self, value: int) -> int:
        """k6's ``ExecutionSegment.Scale``: ``round(value*end - round(value*start))`` (rounding half up).

        Unlike :meth:`ExecutionTuple.scale` it needs no sequence, but the
        shares of a sequence's segments computed so may wobble as ``value`` grows.
        """
        return _round_half_up(value * self.end - _round_half_up(value * self.start))


def _round_half_up(value: Fraction) -> int:
    return math.floor(value + Fraction(1, 2))


class SegmentSequence(tuple[Segment, ...]):
    """Consecutive segments (each starts where the previous ends); text form ``0,1/3,2/3,1``."""

    _hash: int | None = None

    def __new__(cls, segments: Sequence[Segment] = ()) -> SegmentSequence:
        for i in range(1, len(segments)):
            if segments[i].start != segments[i - 1].end:
                raise SegmentError(
                    f"the start value {segments[i].start} of segment #{i} must be equal to the end value of "
                    f"the previous one, but it is {segments[i - 1].end}"
                )
        return super().__new__(cls, segments)

    @classmethod
    def parse(cls, text: str) -> SegmentSequence:
        """``"0,1/3,2/3,1"`` (at least two points); empty is the empty sequence."""
        if not text:
            return cls()
        points = text.split(",")
        if len(points) < 2:
            raise SegmentError(f"at least 2 points are needed for an execution segment sequence, {len(points)} given")
        values = [_to_rat(p) for p in points]
        return cls([Segment(a, b) for a, b in zip(values, values[1:])])

    @classmethod
    def even(cls, parts: int) -> SegmentSequence:
        """``0,1/parts,...,1``: ``parts`` equal segments."""
        return _even(parts)

    def __hash__(self) -> int:  # cached: a sequence of 1,000 instances is a key of the striping cache
        if self._hash is None:
            self._hash = tuple.__hash__(self)
        return self._hash

    def __eq__(self, other: object) -> bool:
        return tuple.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        return tuple.__ne__(self, other)

    def __str__(self) -> str:
        if not self:
            return ""
        return ",".join(_rat_string(p) for p in [self[0].start, *(s.end for s in self)])

    def __repr__(self) -> str:
        return f"SegmentSequence('{self}')"

    @property
    def is_full(self) -> bool:
        """True if it goes from 0 to 1."""
        return bool(self) and self[0].start == 0 and self[-1].end == 1

    def lcd(self) -> int:
        """The least common denominator of the segments' lengths."""
        return math.lcm(*(s.length.denominator for s in self))

    def filled(self, fallback: Segment | None = None) -> SegmentSequence:
        """This sequence (or just ``fallback`` when empty) with the gaps before and after it filled: 0 to 1."""
        if self.is_full:
            return self
        if not self:
            if fallback is None or fallback.length == 1:
                return SegmentSequence([Segment.full()])
            segments = [fallback]
        else:
            segments = list(self)
        if segments[0].start != 0:
            segments.insert(0, Segment(_ZERO, segments[0].start))
        if segments[-1].end != 1:
            segments.append(Segment(segments[-1].end, _ONE))
        return SegmentSequence(segments)


@functools.lru_cache(maxsize=16)
def _even(parts: int) -> SegmentSequence:
    return SegmentSequence(Segment.full().split(parts))


class StripedSequence:
    """A full sequence with the element positions each segment owns within a cycle of :attr:`lcd` elements.

    k6's ``ExecutionSegmentSequenceWrapper``: elements ``0 .. lcd-1`` are
    handed out in order; each goes to the first segment (biggest first,
    ties in sequence order) that has not yet taken its proportional share
    of the elements so far. Built with a heap in O(lcd log n).
    """

    __slots__ = ("sequence", "lcd", "positions", "index_of")

    def __init__(self, sequence: SegmentSequence) -> None:
        if not sequence.is_full:
            raise SegmentError(f"cannot stripe a sequence that does not go from 0 to 1: '{sequence}'")
        self.sequence = sequence
        self.index_of = {segment: i for i, segment in enumerate(sequence)}
        """The position of each segment in the sequence."""
        self.lcd = lcd = sequence.lcd()
        numerators = [s.length.numerator * (lcd // s.length.denominator) for s in sequence]
        order = sorted(range(len(sequence)), key=lambda i: -numerators[i])  # stable: ties keep sequence order
        self.positions: list[list[int]] = [[] for _ in sequence]
        # segment at sorted rank r may take its c-th element (0-based) from element ceil(c*lcd/numerator) on
        ready: list[int] = []  # ranks that may take the next element
        waiting: list[tuple[int, int]] = [(0, rank) for rank in range(len(order))]  # (first element, rank)
        for element in range(lcd):
            while waiting and waiting[0][0] <= element:
                heapq.heappush(ready, heapq.heappop(waiting)[1])
            if not ready:
                continue
            rank = heapq.heappop(ready)
            index = order[rank]
            taken = self.positions[index]
            taken.append(element)
            numerator = numerators[index]
            if len(taken) < numerator:
                heapq.heappush(waiting, (-(-len(taken) * lcd // numerator), rank))

    def __len__(self) -> int:
        return len(self.sequence)

    def __str__(self) -> str:
        return str(self.sequence)

    def scale(self, index: int, value: int) -> int:
        """How many of the elements ``0 .. value-1`` segment ``index`` owns (k6's ``ScaleInt64``)."""
        positions = self.positions[index]
        cycles, rest = divmod(value, self.lcd)
        return cycles * len(positions) + bisect.bisect_left(positions, rest)

    def striped_offsets(self, index: int) -> tuple[int, list[int], int]:
        """k6's ``GetStripedOffsets``: (first element, gaps to each next element in the cycle, lcd)."""
        positions = self.positions[index]
        gaps = [b - a for a, b in zip(positions, positions[1:])]
        gaps.append(positions[0] + self.lcd - positions[-1])
        return positions[0], gaps, self.lcd

    def from_value(self, value: int, index: int) -> tuple[StripedSequence, int] | None:
        """k6's ``GetNewExecutionSegmentSequenceFromValue``: segments re-cut so each has ``scale(i, value)/value``.

        Returns the new sequence and the new position of segment ``index``, or
        None when that segment gets nothing of ``value``.
        """
        if value < 1:
            return None
        if value % self.lcd == 0:
            return self, index
        segments: list[Segment] = []
        new_index, done = -1, 0
        for i in range(len(self.sequence)):
            share = self.scale(i, value)
            if share == 0:
                continue
            if i == index:
                new_index = len(segments)
            segments.append(Segment(Fraction(done, value), Fraction(done + share, value)))
            done += share
        if new_index < 0:
            return None
        return _striped(SegmentSequence(segments)), new_index


@functools.lru_cache(maxsize=64)
def _striped(sequence: SegmentSequence) -> StripedSequence:
    return StripedSequence(sequence)


@dataclasses.dataclass(frozen=True)
class ExecutionTuple:
    """One segment of a striped sequence: what one instance runs (k6's ``ExecutionTuple``)."""

    sequence: StripedSequence
    index: int

    @property
    def segment(self) -> Segment:
        """This tuple's segment."""
        return self.sequence.sequence[self.index]

    @property
    def is_full(self) -> bool:
        """True if the segment is the whole test."""
        return len(self.sequence) == 1

    def __str__(self) -> str:
        return f"{self.segment} in {self.sequence}"

    def scale(self, value: int) -> int:
        """This segment's share of ``value``."""
        if len(self.sequence) == 1:
            return value
        return self.sequence.scale(self.index, value)

    def striped_offsets(self) -> tuple[int, list[int], int]:
        """(first element, gaps between this segment's elements, cycle length)."""
        return self.sequence.striped_offsets(self.index)

    def from_value(self, value: int) -> ExecutionTuple | None:
        """The tuple re-cut by ``value`` (k6 stripes iterations by the VUs of shared-iterations and by the
        maxVUs of arrival rates), or None when this segment gets none of ``value``."""
        found = self.sequence.from_value(value, self.index)
        return None if found is None else ExecutionTuple(*found)

    def unscaled(self, local: int) -> int:
        """The global 0-based index of this segment's ``local``-th (0-based) element."""
        positions = self.sequence.positions[self.index]
        cycles, rest = divmod(local, len(positions))
        return cycles * self.sequence.lcd + positions[rest]

    def __reduce__(self) -> tuple[object, tuple[str, int]]:  # small pickles for worker processes
        return _tuple_from_text, (str(self.sequence), self.index)


def _tuple_from_text(sequence: str, index: int) -> ExecutionTuple:
    return ExecutionTuple(_striped(SegmentSequence.parse(sequence)), index)


def execution_tuple(segment: Segment | None = None, sequence: SegmentSequence | None = None) -> ExecutionTuple:
    """k6's ``NewExecutionTuple``: ``segment`` (None = whole test) located in ``sequence`` (filled to 0..1)."""
    filled = (sequence or SegmentSequence()).filled(segment)
    wanted = segment or Segment.full()
    striped = _striped(filled)
    index = striped.index_of.get(wanted)
    if index is None:
        raise SegmentError(f"couldn't find segment {wanted} in sequence {filled}")
    return ExecutionTuple(striped, index)


@dataclasses.dataclass(frozen=True)
class Share:
    """What one process runs: an instance's tuple, then maybe a worker's tuple within the instance's share.

    Each level stripes the elements the level above owns, so the workers of
    an instance together run exactly the instance's share. An empty chain is
    the whole test.
    """

    levels: tuple[ExecutionTuple, ...] = ()

    @property
    def is_full(self) -> bool:
        """True if this is the whole test."""
        return all(t.is_full for t in self.levels)

    @property
    def segment(self) -> Segment:
        """The part of the whole test this share amounts to (sub-segments composed)."""
        result = Segment.full()
        for t in self.levels:
            result = result.sub_segment(t.segment)
        return result

    def then(self, inner: ExecutionTuple) -> Share:
        """This share split once more: ``inner`` of it."""
        return Share((*self.levels, inner))

    def scale(self, value: int) -> int:
        """This share of ``value``."""
        for t in self.levels:
            value = t.scale(value)
        return value

    def from_value(self, value: int) -> Share | None:
        """Every level re-cut by its own share of ``value``; None if this share gets none of it."""
        levels = []
        for t in self.levels:
            cut = t.from_value(value)
            if cut is None:
                return None
            levels.append(cut)
            value = t.scale(value)
        return Share(tuple(levels))

    def unscaled(self, local: int) -> int:
        """The global 0-based index of this share's ``local``-th element."""
        for t in reversed(self.levels):
            local = t.unscaled(local)
        return local

    def indexes(self) -> Iterator[int]:
        """The global 0-based indexes of this share's elements, in order (forever)."""
        if self.is_full:
            yield from _count()
            return
        local = 0
        while True:
            yield self.unscaled(local)
            local += 1


def _count() -> Iterator[int]:
    i = 0
    while True:
        yield i
        i += 1


def instance_segment(instance: int, count: int) -> tuple[Segment, SegmentSequence]:
    """Instance ``instance`` (1-based, as k6-operator's ``instance_id``) of ``count``: its segment and sequence."""
    if count < 1 or not 1 <= instance <= count:
        raise SegmentError(f"instance {instance}/{count}: expected 1 <= I <= N")
    sequence = SegmentSequence.even(count)
    return sequence[instance - 1], sequence


def worker_share(share: Share, worker: int, workers: int) -> Share:
    """Worker ``worker`` (0-based) of ``workers`` within ``share``: the instance's elements striped again."""
    if workers == 1:
        return share
    sequence = SegmentSequence.even(workers)
    return share.then(ExecutionTuple(_striped(sequence), worker))
