"""The line encoder as it was before the per-container fast path (commit a74e944), kept verbatim (but
for the helpers it shares with the new one and the overwrite check, which is now InfluxDB's rule spelled
out: a set of every (measurement, tag set, timestamp) written) as the reference the fast encoder must
match byte for byte: batches, ``invalid`` and ``moved``."""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping

# the helpers the fast path did not change are shared; the per-sample encoding below is the old one
from horde.metrics import TagSet, go_float_decimal
from horde_out_influx.lineproto import Batch, _typed_field, escape_measurement, escape_tag, split_body


class ReferenceEncoder:
    """horde's line encoder before the per-container fast path, verbatim: one Python step per sample.

    ``invalid`` counts samples whose value is NaN or infinite: InfluxDB cannot
    store them, so they are left out (and reported), never sent.
    """

    def __init__(
        self, tags_as_fields: Mapping[str, str], divisor: int = 1, max_bytes: int = 5_000_000, max_points: int = 10_000
    ) -> None:
        self.tags_as_fields = dict(tags_as_fields)
        self.divisor = divisor
        self.max_bytes = max_bytes
        self.max_points = max_points
        self.invalid = 0
        self._tag_cache: dict[TagSet, tuple[str, str]] = {}
        self._names: dict[object, str] = {}
        self._taken: set[tuple[str, str, int]] = set()
        """Every (measurement, tag set, timestamp) written: InfluxDB keeps one point for each."""
        self._last_from: dict[tuple[str, str, int], int] = {}
        """(measurement, tag set, timestamp) → the last time a point of that time was written at (speed only)."""
        self.moved = 0
        """Points written a few time units later because their own time was taken (see ``batches``)."""

    def _for_tags(self, tags: TagSet) -> tuple[str, str, str]:
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
        cached = ("".join(tag_part) + " " + before + "value=", after + " ", "".join(tag_part))
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

        InfluxDB keeps one point per measurement, tag set and timestamp (fields
        do not count): a second one would silently replace the first. So a
        point whose (measurement, tag set, timestamp) was written before is
        written at the first later free timestamp, and counted in ``moved``;
        every other point keeps its sample's time.
        """
        max_bytes, max_points = self.max_bytes, self.max_points
        names = self._names
        tag_cache = self._tag_cache
        for_tags = self._for_tags
        divisor = self.divisor
        chunk: list[str] = []
        append = chunk.append
        size = 0
        taken, last_from = self._taken, self._last_from
        for c in containers:
            tags = c.tags
            cached = tag_cache.get(tags)
            head, after, tag_text = cached if cached is not None else for_tags(tags)
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
                    text = go_float_decimal(value)
                t = last_from.get((name, tag_text, ts), ts)  # every time from ts to there is taken
                while (name, tag_text, t) in taken:
                    t += 1
                taken.add((name, tag_text, t))
                last_from[(name, tag_text, ts)] = t
                if t == ts:
                    line = name + head + text + tail
                else:
                    self.moved += 1
                    line = name + head + text + after + str(t) + "\n"
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
