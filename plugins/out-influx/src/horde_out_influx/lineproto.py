"""k6's InfluxDB schema in line protocol, cut into size-capped batches.

One line per sample: ``<metric>[,<tag>=<value>…] [<tagAsField>=…,]value=<v>[,…] <time>``.
Tags are the sample's tags sorted by key, minus empty values and minus the
``tagsAsFields`` names, which become typed fields; metadata is never written.
Values are written as k6 writes them: the shortest decimal that reads back as
the same float, without an exponent (``1``, ``0.232383``, ``1000000000000000000000``).

Each point carries its sample's own time, cut to the write precision. Only a
point InfluxDB would overwrite — same measurement, same tag set, same
timestamp as one already written — is moved, one time unit later until its
slot is free, and counted (:mod:`.collisions`).

The text is made per container, not per sample. What a (tag set, metrics
tuple) pair derives is computed once and kept (:class:`_Group`): its lines as
UTF-8 with only the values and the time left out, its tag-set string and
measurement names. The values of a container are formatted by one ``%r``
format into a short bytes string, which shows at a glance whether they all are
plain decimals (one ``.``, no ``e``: no exponent, NaN, infinity, bool or int);
if so, the ``.0`` of whole numbers is cut and one more format puts them into
the lines, the time joined in. The overwrite check costs one lookup per
container: its (tag set, time) slot is new; if not, the container moves as a
whole when all its points would move to the same time, or goes sample by
sample, as does anything else.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence

from horde.metrics import Metric, SampleContainer, TagSet, go_float_decimal

from .collisions import Bucket, TakenSlots

__all__ = ["Batch", "LineEncoder", "escape_tag", "escape_measurement", "split_body"]

_TAG_ESC = str.maketrans({",": r"\,", " ": r"\ ", "=": r"\=", "\n": r"\n"})
_MEAS_ESC = str.maketrans({",": r"\,", " ": r"\ ", "\n": r"\n"})
_STR_ESC = str.maketrans({'"': r"\"", "\\": "\\\\", "\n": r"\n"})
_INT_RE = re.compile(r"[+-]?\d+")
_GO_TRUE = {"1", "t", "T", "TRUE", "true", "True"}
_GO_FALSE = {"0", "f", "F", "FALSE", "false", "False"}


def escape_tag(text: str) -> str:
    """Escape a tag key, tag value or field key (``,``, ``=``, space)."""
    return text.translate(_TAG_ESC)


def escape_measurement(text: str) -> str:
    """Escape a measurement name (``,`` and space)."""
    return text.translate(_MEAS_ESC)


def _typed_field(value: str, ftype: str) -> str:
    """A tag value as a field value of its declared type, falling back to a string as k6 does."""
    if ftype == "int" and _INT_RE.fullmatch(value):
        return f"{int(value)}i"
    if ftype == "float":
        try:
            f = float(value)
        except ValueError:
            f = math.nan
        if math.isfinite(f):
            return go_float_decimal(f)
    if ftype == "bool":
        if value in _GO_TRUE:
            return "true"
        if value in _GO_FALSE:
            return "false"
    return '"' + value.translate(_STR_ESC) + '"'


class Batch:
    """An encoded request body: ``points`` newline-terminated lines of line protocol."""

    __slots__ = ("body", "points", "attempts")

    def __init__(self, body: bytes, points: int, attempts: int = 0) -> None:
        self.body = body
        self.points = points
        self.attempts = attempts

    def __len__(self) -> int:
        return len(self.body)

    def __repr__(self) -> str:
        return f"Batch({self.points} points, {len(self.body)} bytes)"


def split_body(batch: Batch) -> tuple[Batch, Batch]:
    """Two batches holding the lines of ``batch`` (which must have at least two), cut near the middle."""
    body = batch.body
    mid = body.rfind(b"\n", 0, len(body) // 2) + 1
    if mid <= 0:
        mid = body.find(b"\n") + 1
    first, second = body[:mid], body[mid:]
    n1 = first.count(b"\n")
    return Batch(first, n1, batch.attempts), Batch(second, batch.points - n1, batch.attempts)


def _literal(text: str) -> bytes:
    """``text`` as UTF-8 for a ``%`` template."""
    return text.encode("utf-8").replace(b"%", b"%%")


class _Group:
    """What the lines of one (tag set, metrics tuple) pair share.

    ``segments`` joined by a time text form a template of the container's
    lines: ``%s`` is each value, the last one takes the empty string.
    ``names`` are the measurements (escaped), ``tags`` the tag-set string: the
    series of the lines, but for the time. Only a group whose measurements are
    ``distinct`` takes the fast path (its lines can never overwrite each other).
    """

    __slots__ = ("metrics", "n", "names", "tags", "slot", "distinct", "values_format", "segments", "extra", "floats")

    def __init__(self, metrics: tuple[Metric, ...], names: list[str], head: str, after: str, tags: str) -> None:
        self.metrics = metrics
        self.n = n = len(names)
        self.names = tuple(names)
        self.tags = tags
        self.slot = (tags, self.names)
        """What a container of the group takes at its time (see :class:`.collisions.TakenSlots`)."""
        self.distinct = 0 < n == len(set(names))
        self.values_format = b"%r\x00" * n
        tail = _literal(after)
        keys = [name + head for name in names]
        self.segments = [(b"\n" if i else b"") + _literal(key) + b"%s" + tail for i, key in enumerate(keys)]
        self.segments.append(b"\n%s")
        static = "".join(keys) + (after + "\n") * n
        self.extra = len(static.encode("utf-8")) - len(static)
        """UTF-8 bytes minus characters of a container's lines (batches are capped in characters)."""
        self.floats = False
        """Values are converted with ``float`` first (they were not all floats once)."""


_ONCE = _Group((), [], "", "", "")
"""The group of a pair seen once: not ``distinct``, its containers go sample by sample."""


class LineEncoder:
    """Turns sample containers into :class:`Batch` objects capped in bytes and points.

    ``invalid`` counts samples whose value is NaN or infinite: InfluxDB cannot
    store them, so they are left out (and reported), never sent. ``moved``
    counts points written later than their own time because InfluxDB would
    have overwritten another point with them; ``unchecked`` points too old
    to check (see :mod:`.collisions`).
    """

    MAX_CACHED = 100_000
    """Tag sets remembered; the table restarts past this."""
    MAX_GROUPS = 10_000
    """(tag set, metrics) pairs remembered (a group holds a few kB)."""

    def __init__(
        self, tags_as_fields: Mapping[str, str], divisor: int = 1, max_bytes: int = 5_000_000, max_points: int = 10_000
    ) -> None:
        self.tags_as_fields = dict(tags_as_fields)
        self.divisor = divisor
        self.max_bytes = max_bytes
        self.max_points = max_points
        self.invalid = 0
        self._tag_cache: dict[TagSet, tuple[str, str, str]] = {}
        self._tag_strings: dict[str, str] = {}
        self._names: dict[Metric, str] = {}
        self._groups: dict[tuple[TagSet, tuple[Metric, ...]], _Group] = {}
        self._seen: set[tuple[TagSet, tuple[Metric, ...]]] = set()
        self._by_tags: dict[TagSet, _Group] = {}
        self._taken = TakenSlots(divisor)

    @property
    def moved(self) -> int:
        """Points written later than their own time (by the fewest time units) so as not to overwrite another."""
        return self._taken.moved

    @property
    def unchecked(self) -> int:
        """Points older than the slots remembered, written at their own time without the overwrite check."""
        return self._taken.unchecked

    def _for_tags(self, tags: TagSet) -> tuple[str, str, str]:
        """(``,tags… <fields before value>value=``, ``<,fields after value> ``, ``,tags…``) for a tag set."""
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
        tag_text = "".join(tag_part)
        if len(self._tag_cache) > self.MAX_CACHED:
            self._tag_cache.clear()
            self._tag_strings.clear()
        tag_text = self._tag_strings.setdefault(tag_text, tag_text)  # one object per series tag set: fast lookups
        cached = (tag_text + " " + before + "value=", after + " ", tag_text)
        self._tag_cache[tags] = cached
        return cached

    def _name(self, metric: Metric) -> str:
        name = self._names.get(metric)
        if name is None:
            name = self._names[metric] = escape_measurement(metric.name)
        return name

    def _group(self, tags: TagSet, metrics: Sequence[Metric]) -> _Group:
        """The group of ``tags`` and ``metrics``, now also the one remembered for ``tags``; :data:`_ONCE`
        the first time the pair is seen (in a run with a tag value per request, most are seen once)."""
        key = (tags, tuple(metrics))
        group = self._groups.get(key)
        if group is None:
            if key not in self._seen:
                if len(self._seen) >= self.MAX_GROUPS:
                    self._seen.clear()
                self._seen.add(key)
                return _ONCE
            if len(self._groups) >= self.MAX_GROUPS:
                self._groups.clear()
                self._by_tags.clear()
            head, after, tag_text = self._tag_cache.get(tags) or self._for_tags(tags)
            group = self._groups[key] = _Group(key[1], [self._name(m) for m in key[1]], head, after, tag_text)
        self._by_tags[tags] = group
        return group

    def lines(self, containers: Iterable[SampleContainer]) -> Iterator[str]:
        """One line (with its newline) per sample, in order."""
        for batch in self.batches(containers):
            yield from batch.body.decode("utf-8").splitlines(keepends=True)

    def batches(self, containers: Iterable[SampleContainer]) -> Iterator[Batch]:
        """The lines of ``containers`` grouped into batches of at most ``max_points`` lines and ``max_bytes`` bytes.

        Bytes are counted as characters, then a batch whose UTF-8 is longer is
        halved until it fits; a single line longer than ``max_bytes`` travels
        alone.

        Every point has its sample's time at the write precision, unless
        InfluxDB would overwrite another point with it (same measurement, tag
        set and timestamp as one written before: two requests ending in the
        same nanosecond in two worker processes, or in the same millisecond
        with ``precision=ms``, that differ at most in fields such as ``url``).
        Such a point is written at the first later free timestamp and counted
        in ``moved``: nothing is overwritten, nothing else is moved.
        """
        max_bytes, max_points = self.max_bytes, self.max_points
        divisor = self.divisor
        by_tags, group_of = self._by_tags, self._group
        window, claim_all = self._taken.window, self._taken.claim_all
        lo = hi = 0
        taken: Bucket | None = None
        pieces: list[bytes] = []
        append = pieces.append
        size = count = 0
        for c in containers:
            tags = c.tags
            g = by_tags.get(tags)
            metrics = c.metrics
            if g is None or (g.metrics is not metrics and g.metrics != metrics):
                g = group_of(tags, metrics)
            ts = c.time // divisor if divisor != 1 else c.time
            vt = None
            if g.distinct:
                if not lo <= ts < hi:
                    lo, hi, taken = window(ts)
                if taken is not None:  # else older than the slots remembered: the slow path counts it
                    values = c.values
                    try:
                        vt = g.values_format % (
                            values if values.__class__ is tuple and not g.floats else tuple(map(float, values))
                        )
                    except (TypeError, ValueError):  # not one value per metric, or not numbers
                        pass
                    if vt is None or vt.count(46) != g.n or 101 in vt:  # not one "." per value, or an "e"
                        vt = self._as_floats(g, values)
                    if vt is not None:
                        if ts not in taken:  # no point was written at this time: the common case
                            taken[ts] = g.slot
                        else:  # moved together, or sample by sample when only some measurements are there
                            t = claim_all(g.names, g.tags, ts)
                            if t < 0:
                                vt = None
                            else:
                                ts = t
            if vt is not None:
                text = (b"%d" % ts).join(g.segments) % tuple(vt.replace(b".0\x00", b"\x00").split(b"\x00"))
                points = g.n
                chars = len(text) - g.extra
            else:
                text, points, chars = self._sample_lines(c, ts)
                lo = hi = 0  # the slot table may have dropped the bucket held in ``taken``
            if size + chars <= max_bytes and count + points <= max_points:
                append(text)
                size += chars
                count += points
                continue
            for line in _lines(text):  # a batch ends within this container
                n = len(line.decode("utf-8"))
                if size + n > max_bytes or count >= max_points:
                    if pieces:
                        yield from self._encode(pieces, count)
                        pieces = []
                        append = pieces.append
                        size = count = 0
                append(line)
                size += n
                count += 1
        if pieces:
            yield from self._encode(pieces, count)

    def _as_floats(self, g: _Group, values: Sequence[float]) -> bytes | None:
        """The values text of ``values`` converted with ``float`` (as ints and bools are), or None
        when it still holds more than plain decimals; the group then always converts."""
        if g.floats:
            return None
        try:
            vt = g.values_format % tuple(map(float, values))
        except (TypeError, ValueError):
            return None
        if vt.count(46) != g.n or 101 in vt:
            return None
        g.floats = True
        return vt

    def _sample_lines(self, c: SampleContainer, ts: int) -> tuple[bytes, int, int]:
        """(UTF-8 text, lines, characters) of ``c`` written sample by sample: NaN and infinite values left
        out, exponents spelled out, and each point InfluxDB would overwrite moved to a free time."""
        tags = c.tags
        head, after, tag_text = self._tag_cache.get(tags) or self._for_tags(tags)
        names: list[str] = []
        texts: list[str] = []
        for metric, value in zip(c.metrics, c.values):
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
            names.append(self._name(metric))
            texts.append(text)
        if not names:
            return b"", 0, 0
        tail = after + str(ts) + "\n"
        taken = self._taken
        bucket = taken.window(ts)[2]
        t = -1
        if bucket is None:
            taken.unchecked += len(names)
            t = ts
        elif len(set(names)) == len(names):
            if ts not in bucket:
                bucket[ts] = (tag_text, tuple(names))
                t = ts
            else:
                t = taken.claim_all(tuple(names), tag_text, ts)
        if t >= 0:
            if t != ts:
                tail = after + str(t) + "\n"
            lines = [name + head + text + tail for name, text in zip(names, texts)]
        else:
            claim = taken.claim
            lines = []
            for name, text in zip(names, texts):
                t = claim(name, tag_text, ts)
                lines.append(name + head + text + (tail if t == ts else after + str(t) + "\n"))
        text = "".join(lines)
        return text.encode("utf-8"), len(lines), len(text)

    def _encode(self, pieces: list[bytes], points: int) -> Iterator[Batch]:
        batch = Batch(b"".join(pieces), points)
        if len(batch.body) <= self.max_bytes or points == 1:
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


def _lines(text: bytes) -> list[bytes]:
    """The lines of ``text``, each with its ``\\n`` (line protocol escapes any other newline)."""
    lines = text.split(b"\n")
    lines.pop()
    return [line + b"\n" for line in lines]
