"""The line encoder as it was before the per-container fast path (commit a74e944), kept verbatim (but
for the helpers it shares with the new one) as the reference the fast encoder must match byte for byte: batches, ``invalid`` and ``bumped``."""

from __future__ import annotations

import math
from typing import Iterable, Iterator, Mapping

from horde.metrics import TagSet
# the helpers the fast path did not change are shared; the per-sample encoding below is the old one
from horde_out_influx.lineproto import (Batch, _typed_field, escape_measurement, escape_tag, format_float,
                                        split_body)


class ReferenceEncoder:
    """horde's line encoder before the per-container fast path, verbatim: one Python step per sample.

    ``invalid`` counts samples whose value is NaN or infinite: InfluxDB cannot
    store them, so they are left out (and reported), never sent.
    """

    def __init__(self, tags_as_fields: Mapping[str, str], divisor: int = 1,
                 max_bytes: int = 5_000_000, max_points: int = 10_000) -> None:
        self.tags_as_fields = dict(tags_as_fields)
        self.divisor = divisor
        self.max_bytes = max_bytes
        self.max_points = max_points
        self.invalid = 0
        self._tag_cache: dict[TagSet, tuple[str, str]] = {}
        self._names: dict[object, str] = {}
        self._last_time: dict[str, int] = {}
        self.bumped = 0
        """Points moved 1 time unit later because their series already had a point at that time."""

    def _for_tags(self, tags: TagSet) -> tuple[str, str]:
        """(``,tags… <fields before value>value=``, ``<,fields after value>``) for a tag set."""
        cached = self._tag_cache.get(tags)
        if cached is not None:
            return cached
        as_fields = self.tags_as_fields
        tag_part: list[str] = []
        fields: list[tuple[str, str]] = []
        for key, value in tags.items():
            ftype = as_fields.get(key)
            if ftype is not None:
                fields.append((key, _typed_field(value, ftype)))
            elif value != "" and key != "":
                tag_part.append("," + escape_tag(key) + "=" + escape_tag(value))
        fields.sort()
        before = "".join(escape_tag(k) + "=" + v + "," for k, v in fields if k < "value")
        after = "".join("," + escape_tag(k) + "=" + v for k, v in fields if k > "value")
        cached = ("".join(tag_part) + " " + before + "value=", after + " ")
        if len(self._tag_cache) > 100_000:
            self._tag_cache.clear()
        self._tag_cache[tags] = cached
        return cached

    def lines(self, containers: Iterable) -> Iterator[str]:
        """One line (with its newline) per sample, in order."""
        for batch in self.batches(containers):
            yield from batch.body.decode("utf-8").splitlines(keepends=True)

    def batches(self, containers: Iterable) -> Iterator[Batch]:
        """The lines of ``containers`` grouped into batches of at most ``max_points`` lines and ``max_bytes`` bytes.

        A single line longer than ``max_bytes`` travels alone. This is the hot
        path: per sample it formats the value and joins four cached strings.

        InfluxDB keeps one point per series and time: a second point with the
        same measurement, tags and timestamp would silently replace the first
        (two requests ending in the same nanosecond in two worker processes,
        or in the same millisecond with ``precision=ms``). So a point whose
        series already has a point at or after its time is written one time
        unit after that one, and counted in ``bumped``: nothing is overwritten.
        """
        max_bytes, max_points = self.max_bytes, self.max_points
        names = self._names
        tag_cache = self._tag_cache
        for_tags = self._for_tags
        divisor = self.divisor
        chunk: list[str] = []
        append = chunk.append
        size = 0
        last_time = self._last_time
        if len(last_time) > 100_000:
            last_time.clear()
        for c in containers:
            tags = c.tags
            cached = tag_cache.get(tags)
            head, after = cached if cached is not None else for_tags(tags)
            ts = c.time // divisor if divisor != 1 else c.time
            tail = after + str(ts) + "\n"
            for metric, value in zip(c.metrics, c.values):
                name = names.get(metric)
                if name is None:
                    name = names[metric] = escape_measurement(metric.name)
                if value.__class__ is not float:
                    value = float(value)
                text = repr(value)
                if text[-2:] == ".0":
                    text = text[:-2]
                elif "e" in text or "n" in text:  # exponent, nan, inf
                    if value != value or value in (math.inf, -math.inf):
                        self.invalid += 1
                        continue
                    text = format_float(value)
                series = name + head
                prev = last_time.get(series, -1)
                if ts > prev:
                    last_time[series] = ts
                    line = series + text + tail
                else:
                    self.bumped += 1
                    last_time[series] = prev + 1
                    line = series + text + after + str(prev + 1) + "\n"
                n = len(line)
                if size + n > max_bytes or len(chunk) >= max_points:
                    if chunk:
                        yield from self._encode(chunk)
                        chunk = []
                        append = chunk.append
                        size = 0
                append(line)
                size += n
        if chunk:
            yield from self._encode(chunk)

    def _encode(self, lines: list[str]) -> Iterator[Batch]:
        body = "".join(lines).encode("utf-8")
        batch = Batch(body, len(lines))
        if len(body) <= self.max_bytes or batch.points == 1:
            yield batch
            return
        # non-ASCII text made the bytes longer than the characters: halve until it fits
        stack = [batch]
        while stack:
            b = stack.pop()
            if len(b.body) <= self.max_bytes or b.points == 1:
                yield b
            else:
                first, second = split_body(b)
                stack.append(second)
                stack.append(first)
