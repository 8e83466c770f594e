"""k6's InfluxDB schema in line protocol, cut into size-capped batches.

One line per sample: ``<metric>[,<tag>=<value>…] [<tagAsField>=…,]value=<v>[,…] <time>``.
Tags are the sample's tags sorted by key, minus empty values and minus the
``tagsAsFields`` names, which become typed fields; metadata is never written.
Values are written as k6 writes them: the shortest decimal that reads back as
the same float, without an exponent (``1``, ``0.232383``, ``1000000000000000000000``).

The text is made per container, not per sample. What a (tag set, metrics
tuple) pair derives is computed once and kept (:class:`_Group`): its lines as
UTF-8 with only the values and the time left out, and its series. The values
of a container are formatted by one ``%r`` format into a short bytes string,
which shows at a glance whether they all are plain decimals (one ``.``, no
``e``: no exponent, NaN, infinity, bool or int); if so, the ``.0`` of whole
numbers is cut and one more format puts them into the lines, the time joined
in. Anything else goes sample by sample, as does a container whose series are
not all at one time or are shared with another pair.
"""

from __future__ import annotations

import math
import re
from typing import Iterable, Iterator, Mapping

from horde.metrics import TagSet

__all__ = ["Batch", "LineEncoder", "format_float", "escape_tag", "escape_measurement", "split_body"]

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


def format_float(v: float) -> str:
    """The shortest decimal form of ``v`` without an exponent (``1``, ``0.232383``, ``1200000``)."""
    if v.is_integer() and -1e16 < v < 1e16:
        return str(int(v))
    r = repr(v)
    if "e" not in r:
        return r
    mant, _, exp_s = r.partition("e")
    exp = int(exp_s)
    sign = ""
    if mant[0] == "-":
        sign, mant = "-", mant[1:]
    intpart, _, frac = mant.partition(".")
    digits = intpart + frac
    point = len(intpart) + exp
    if point <= 0:
        return f"{sign}0.{'0' * -point}{digits}".rstrip("0").rstrip(".")
    if point >= len(digits):
        return sign + digits + "0" * (point - len(digits))
    return f"{sign}{digits[:point]}.{digits[point:]}"


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
            return format_float(f)
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
    """What the lines of one (tag set, metrics tuple) pair share, and the time of its series.

    ``segments`` joined by a time text form a template of the container's
    lines: ``%s`` is each value, the last one takes the empty string. While
    ``owned``, the group's series are distinct, all at time ``last``, and
    written by no one else: their time is kept here instead of per series.
    """

    __slots__ = ("metrics", "n", "keys", "distinct", "values_format", "segments", "extra", "floats", "owned",
                 "last")

    def __init__(self, metrics: tuple, names: list[str], head: str, after: str) -> None:
        self.metrics = metrics
        self.n = n = len(names)
        self.keys = tuple(name + head for name in names)
        self.distinct = 0 < n == len(set(self.keys))
        self.values_format = b"%r\x00" * n
        tail = _literal(after)
        self.segments = [(b"\n" if i else b"") + _literal(key) + b"%s" + tail for i, key in enumerate(self.keys)]
        self.segments.append(b"\n%s")
        static = "".join(self.keys) + (after + "\n") * n
        self.extra = len(static.encode("utf-8")) - len(static)
        """UTF-8 bytes minus characters of a container's lines (batches are capped in characters)."""
        self.floats = False
        """Values are converted with ``float`` first (they were not all floats once)."""
        self.owned = False
        self.last = -1


_ONCE = _Group((), [], "", "")
"""The group of a pair seen once: never ``owned``, its containers go sample by sample."""


class LineEncoder:
    """Turns sample containers into :class:`Batch` objects capped in bytes and points.

    ``invalid`` counts samples whose value is NaN or infinite: InfluxDB cannot
    store them, so they are left out (and reported), never sent.
    """

    MAX_CACHED = 100_000
    """Tag sets and series remembered; each table restarts past this."""
    MAX_GROUPS = 10_000
    """(tag set, metrics) pairs remembered (a group holds a few kB)."""

    def __init__(self, tags_as_fields: Mapping[str, str], divisor: int = 1,
                 max_bytes: int = 5_000_000, max_points: int = 10_000) -> None:
        self.tags_as_fields = dict(tags_as_fields)
        self.divisor = divisor
        self.max_bytes = max_bytes
        self.max_points = max_points
        self.invalid = 0
        self._tag_cache: dict[TagSet, tuple[str, str]] = {}
        self._names: dict[object, str] = {}
        self._groups: dict[tuple, _Group] = {}
        self._seen: set[tuple] = set()
        self._by_tags: dict[TagSet, _Group] = {}
        self._last_time: dict[str, int] = {}
        self._owner: dict[str, _Group] = {}
        """Series whose time is kept by a group (``owned``) rather than in ``_last_time``."""
        self.bumped = 0
        """Points moved 1 time unit later because their series already had a point at that time."""

    def _for_tags(self, tags: TagSet) -> tuple[str, str]:
        """(``,tags… <fields before value>value=``, ``<,fields after value> ``) for a tag set."""
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
        if len(self._tag_cache) > self.MAX_CACHED:
            self._tag_cache.clear()
        self._tag_cache[tags] = cached
        return cached

    def _name(self, metric) -> str:
        name = self._names.get(metric)
        if name is None:
            name = self._names[metric] = escape_measurement(metric.name)
        return name

    def _group(self, tags: TagSet, metrics) -> _Group:
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
            head, after = self._tag_cache.get(tags) or self._for_tags(tags)
            group = self._groups[key] = _Group(key[1], [self._name(m) for m in key[1]], head, after)
        self._by_tags[tags] = group
        return group

    def lines(self, containers: Iterable) -> Iterator[str]:
        """One line (with its newline) per sample, in order."""
        for batch in self.batches(containers):
            yield from batch.body.decode("utf-8").splitlines(keepends=True)

    def batches(self, containers: Iterable) -> Iterator[Batch]:
        """The lines of ``containers`` grouped into batches of at most ``max_points`` lines and ``max_bytes`` bytes.

        Bytes are counted as characters, then a batch whose UTF-8 is longer is
        halved until it fits; a single line longer than ``max_bytes`` travels
        alone.

        InfluxDB keeps one point per series and time: a second point with the
        same measurement, tags and timestamp would silently replace the first
        (two requests ending in the same nanosecond in two worker processes,
        or in the same millisecond with ``precision=ms``). So a point whose
        series already has a point at or after its time is written one time
        unit after that one, and counted in ``bumped``: nothing is overwritten.
        """
        max_bytes, max_points = self.max_bytes, self.max_points
        divisor = self.divisor
        by_tags, group_of = self._by_tags, self._group
        if len(self._last_time) + len(self._owner) > self.MAX_CACHED:
            self._forget_times()
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
            if g.owned:
                values = c.values
                try:
                    vt = g.values_format % (values if values.__class__ is tuple and not g.floats
                                            else tuple(map(float, values)))
                except (TypeError, ValueError):  # not one value per metric, or not numbers
                    pass
                if vt is None or vt.count(46) != g.n or 101 in vt:  # not one "." per value, or an "e"
                    vt = self._as_floats(g, values)
            if vt is not None:
                if ts <= g.last:
                    ts = g.last + 1
                    self.bumped += g.n
                g.last = ts
                text = (b"%d" % ts).join(g.segments) % tuple(vt.replace(b".0\x00", b"\x00").split(b"\x00"))
                points = g.n
                chars = len(text) - g.extra
            else:
                text, points, chars = self._sample_lines(c, g, ts)
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

    def _as_floats(self, g: _Group, values) -> bytes | None:
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

    def _sample_lines(self, c, g: _Group, ts: int) -> tuple[bytes, int, int]:
        """(UTF-8 text, lines, characters) of ``c`` written sample by sample: each series' time on
        its own, NaN and infinite values left out, exponents spelled out."""
        tags = c.tags
        head, after = self._tag_cache.get(tags) or self._for_tags(tags)
        tail = after + str(ts) + "\n"
        last_time, owner = self._last_time, self._owner
        lines = []
        for metric, value in zip(c.metrics, c.values):
            name = self._name(metric)
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
            if series in owner:
                self._release(owner[series])
            prev = last_time.get(series, -1)
            if ts > prev:
                last_time[series] = ts
                lines.append(series + text + tail)
            else:
                self.bumped += 1
                last_time[series] = prev + 1
                lines.append(series + text + after + str(prev + 1) + "\n")
        if g.distinct:
            self._acquire(g)
        text = "".join(lines)
        return text.encode("utf-8"), len(lines), len(text)

    def _release(self, g: _Group) -> None:
        """Give the times of ``g``'s series back to the per-series table."""
        g.owned = False
        last_time, owner = self._last_time, self._owner
        for key in g.keys:
            del owner[key]
            last_time[key] = g.last

    def _acquire(self, g: _Group) -> None:
        """Keep the time of ``g``'s series in ``g`` if they are all at one time (none owned elsewhere)."""
        last_time, owner = self._last_time, self._owner
        last = last_time.get(g.keys[0])
        if last is None or any(last_time.get(key) != last for key in g.keys):
            return
        for key in g.keys:
            del last_time[key]
            owner[key] = g
        g.last = last
        g.owned = True

    def _forget_times(self) -> None:
        for g in set(self._owner.values()):
            g.owned = False
        self._owner.clear()
        self._last_time.clear()

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
