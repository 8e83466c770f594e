"""Rows of k6's CSV: the header, and samples as text, with Go ``encoding/csv`` quoting.

Rows are built as ``str`` (for standard output) or as UTF-8 ``bytes`` (for a
file: ``bytes % args`` copies literal text with ``memcpy``, and needs no
encoding afterwards). All the values of a container are written by one ``%``
format of a cached template holding one line per metric:

- ``name,<time>,%F<tag columns>,<extra_tags>,\\n`` for a container without
  metadata, cached per tag set (interned: an identity hash) while the time
  text stays the same (a second, for ``unix`` and ``rfc3339``);
- else ``name,<time>,%F<mark>\\n`` from a template per metrics tuple, the mark
  replaced afterwards by the tag columns, ``extra_tags`` and metadata.

``%F`` is ``%f`` but writes ``INF``/``NAN``: a non-finite value shows as an
``N`` (time texts never hold one), and such a container is written sample by
sample (Go's ``+Inf``…), as is one whose values are not a tuple of one value
per metric.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from horde.metrics import METADATA_SYSTEM_TAGS, SYSTEM_TAGS, Metric, SampleContainer, TagSet, go_float_fixed

from .config import TimeFormat
from .timefmt import time_formatter, time_step

__all__ = ["go_quote", "columns_for", "RowFormatter"]

# unicode.IsSpace: Latin-1 spaces plus the White_Space property (Python's isspace() adds \x1c-\x1f)
_GO_SPACE = frozenset(
    "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
    "\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
_SPECIAL = re.compile('[,"\r\n]')


def go_quote(field: str) -> str:
    """``field`` as Go's ``csv.Writer`` writes it with the default settings.

    Quoted when it holds ``,``, ``"``, CR or LF, starts with a Unicode space,
    or is exactly ``\\.``; inner quotes are doubled; empty fields stay bare.
    """
    if not field:
        return field
    if field[0] in _GO_SPACE or _SPECIAL.search(field) or field == "\\.":
        return '"' + field.replace('"', '""') + '"'
    return field


def columns_for(system_tags: Iterable[str]) -> tuple[tuple[str, ...], frozenset[str]]:
    """``(tag columns, ignored tags)`` for the enabled system tags, as k6's ``buildTagSets``.

    Columns are the enabled indexable system tags, sorted; ignored are the
    disabled indexable ones (kept out of ``extra_tags`` and ``metadata``).
    The non-indexable ``vu`` and ``iter`` are neither: they reach ``metadata``.
    """
    enabled = set(system_tags)
    indexable = [t for t in SYSTEM_TAGS if t not in METADATA_SYSTEM_TAGS]
    columns = tuple(sorted(t for t in indexable if t in enabled))
    ignored = frozenset(t for t in indexable if t not in enabled)
    return columns, ignored


_STAMP, _TAIL = "\x00", "\x01"
"""Marks of the timestamp and of a row's end in a template without tags; metric names
(``[A-Za-z0-9_]``) never hold them."""


_STAMPED_STEP = 1_000_000_000
"""Templates holding the time text are cached only for time formats whose text lasts this
many nanoseconds; finer texts change too often for that to pay off."""


def _utf8(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


def _same(text: str) -> str:
    return text


class RowFormatter:
    """Turns sample containers into CSV rows for one output (not thread-safe: use from one thread).

    With ``binary``, rows are UTF-8 ``bytes`` (unpaired surrogates as ``surrogateescape``
    writes them; rows holding text it cannot write are encoded whole with ``replace``),
    else ``str``.
    """

    MAX_CACHED = 100_000
    """Tag sets whose column runs are kept; the caches restart when they grow past this."""

    def __init__(
        self, system_tags: Iterable[str], time_format: TimeFormat = TimeFormat.UNIX, *, binary: bool = False
    ) -> None:
        self._system_tags = tuple(system_tags)
        self.columns, self.ignored = columns_for(self._system_tags)
        self.binary = binary
        self._time_format = time_format
        self._skip = frozenset(self.columns) | self.ignored
        self._time: Callable[[int], str] = time_formatter(time_format)
        self._step = time_step(time_format)
        self._piece: Callable[[str], Any] = _utf8 if binary else _same
        # what "in" finds an N with: an int for bytes (a bytes needle is first tried as an int, at a cost)
        self._n: Any = ord("N") if binary else "N"
        self._empty = self._piece("")
        self._stamp_mark, self._tail_mark = self._piece(_STAMP), self._piece(_TAIL)
        self._runs: dict[TagSet, str] = {}
        self._tails: dict[TagSet, Any] = {}
        self._bases: dict[Sequence[Metric], tuple[Any, bool]] = {}
        self._text: RowFormatter | None = None
        # the text of the times in [_lo, _hi), and the templates holding it (set by _rows)
        self._lo = self._hi = 0
        self._stamp = ""
        self._stamp_piece = self._empty
        self._stamped: dict[TagSet, tuple[Sequence[Metric], Any, bool]] = {}

    def header(self) -> Any:
        """The header line, ending in ``\\n``."""
        return self._piece(
            ",".join(("metric_name", "timestamp", "metric_value", *self.columns, "extra_tags", "metadata")) + "\n"
        )

    def _pairs(self, items: Iterable[tuple[str, str]]) -> str:
        skip = self._skip
        return "&".join([f"{k}={v}" for k, v in items if k not in skip])

    def tag_run(self, tags: TagSet) -> str:
        """``,<tag columns…>,<extra_tags>,`` for ``tags`` (cached per tag set)."""
        run = self._runs.get(tags)
        if run is None:
            get = tags.get
            fields = [go_quote(get(c) or "") for c in self.columns]
            fields.append(go_quote(self._pairs(tags.items())))
            run = "," + ",".join(fields) + ","
            if len(self._runs) >= self.MAX_CACHED:
                self._runs.clear()
                self._tails.clear()
            self._runs[tags] = run
        return run

    def metadata(self, metadata: Mapping[str, str] | None) -> str:
        """The ``metadata`` field: ``k=v&k=v`` of every key that is not a column, quoted as needed."""
        if not metadata:
            return ""
        return go_quote(self._pairs(metadata.items()))

    def _tail(self, tags: TagSet) -> Any:
        tail = self._tails[tags] = self._piece(self.tag_run(tags))
        return tail

    def _base(self, metrics: Sequence[Metric]) -> tuple[Any, bool]:
        """``(template with marks, no N in it)`` of ``metrics``, cached per metrics tuple."""
        template = self._piece(
            "".join(go_quote(m.name).replace("%", "%%") + "," + _STAMP + ",%F" + _TAIL + "\n" for m in metrics)
        )
        base = self._bases[metrics] = (template, self._n not in template)
        return base

    def _stamped_form(self, tags: TagSet, metrics: Sequence[Metric]) -> tuple[Sequence[Metric], Any, bool]:
        """``(metrics, template, no N in it)`` of ``tags`` with the current time, cached until it changes."""
        base, n_free = self._bases.get(metrics) or self._base(metrics)
        tail = self._tails.get(tags) or self._tail(tags)
        template = base.replace(self._stamp_mark, self._stamp_piece).replace(
            self._tail_mark, tail.replace(self._piece("%"), self._piece("%%"))
        )  # the tail last: it may hold marks
        entry = self._stamped[tags] = (metrics, template, n_free and self._n not in tail)
        return entry

    def _sample_rows(self, c: SampleContainer, stamp: str) -> Any:
        """The rows of container ``c`` sample by sample, with time text ``stamp`` (the slow path)."""
        tail = self.tag_run(c.tags) + self.metadata(c.metadata) + "\n"
        stamp = "," + stamp + ","
        return self._piece(
            "".join(go_quote(m.name) + stamp + go_float_fixed(v) + tail for m, v in zip(c.metrics, c.values))
        )

    def rows(self, containers: Sequence[SampleContainer]) -> Any:
        """The rows of every sample of ``containers``, in order, as one ``str`` (or ``bytes``)."""
        if not self.binary:
            return self._rows(containers)
        try:
            return self._rows(containers)
        except UnicodeEncodeError:
            if self._text is None:
                self._text = RowFormatter(self._system_tags, self._time_format)
            return self._text.rows(containers).encode("utf-8", "replace")

    def _rows(self, containers: Sequence[SampleContainer]) -> Any:
        out: list[Any] = []
        append = out.append
        piece, fmt_time, step = self._piece, self._time, self._step
        has_n, stamp_mark, tail_mark = self._n, self._stamp_mark, self._tail_mark
        bases, tails = self._bases, self._tails
        lo, hi, stamp, stamp_piece, stamped = self._lo, self._hi, self._stamp, self._stamp_piece, self._stamped
        per_time = step < _STAMPED_STEP
        last_md = md_field = None
        for c in containers:
            t = c.time
            if not lo <= t < hi:
                lo = self._lo = t - t % step
                hi = self._hi = lo + step
                stamp = self._stamp = fmt_time(t)
                stamp_piece = self._stamp_piece = piece(stamp)
                if not per_time:
                    stamped = self._stamped = {}
            tags, metrics, md = c.tags, c.metrics, c.metadata
            try:
                if md or per_time:
                    template, n_free = bases.get(metrics) or self._base(metrics)
                    text = template.replace(stamp_mark, stamp_piece) % c.values
                else:
                    entry = stamped.get(tags)
                    if entry is None or (entry[0] is not metrics and entry[0] != metrics):
                        entry = self._stamped_form(tags, metrics)
                    text, n_free = entry[1] % c.values, entry[2]
            except TypeError:  # metrics or values not tuples, or not one value per metric
                append(self._sample_rows(c, stamp))
                continue
            if has_n in text and (n_free or not all(map(math.isfinite, c.values))):
                append(self._sample_rows(c, stamp))
            elif md:
                if md is not last_md:
                    last_md, md_field = md, piece(self.metadata(md))
                append(text.replace(tail_mark, (tails.get(tags) or self._tail(tags)) + md_field))
            elif per_time:
                append(text.replace(tail_mark, tails.get(tags) or self._tail(tags)))
            else:
                append(text)
        return self._empty.join(out)
