"""Rows of k6's CSV: the header, and samples as text, with Go ``encoding/csv`` quoting.

The part of a row that depends only on the tag set (the system-tag columns
and ``extra_tags``) is built once per tag set and cached; tag sets are
interned, so the cache lookup is an identity hash.
"""

from __future__ import annotations

import math
from typing import Callable, Iterable, Mapping, Sequence

from horde.metrics import METADATA_SYSTEM_TAGS, SYSTEM_TAGS, Metric, TagSet

from .config import TimeFormat
from .timefmt import time_formatter

__all__ = ["go_quote", "go_float", "columns_for", "RowFormatter"]

# unicode.IsSpace: Latin-1 spaces plus the White_Space property (Python's isspace() adds \x1c-\x1f)
_GO_SPACE = frozenset("\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
                      "\u2009\u200a\u2028\u2029\u202f\u205f\u3000")
_SPECIAL = (",", '"', "\r", "\n")


def go_quote(field: str) -> str:
    """``field`` as Go's ``csv.Writer`` writes it with the default settings.

    Quoted when it holds ``,``, ``"``, CR or LF, starts with a Unicode space,
    or is exactly ``\\.``; inner quotes are doubled; empty fields stay bare.
    """
    if not field:
        return field
    if field == "\\." or field[0] in _GO_SPACE or any(c in field for c in _SPECIAL):
        return '"' + field.replace('"', '""') + '"'
    return field


def go_float(value: float) -> str:
    """``value`` as Go's ``fmt.Sprintf("%f", value)``: six decimals; ``+Inf``, ``-Inf``, ``NaN``."""
    if math.isfinite(value):
        return "%f" % value
    if value != value:
        return "NaN"
    return "+Inf" if value > 0 else "-Inf"


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


class RowFormatter:
    """Turns sample containers into CSV text for one output (not thread-safe: use from one thread)."""

    MAX_CACHED = 100_000
    """Tag sets whose column runs are kept; the cache restarts when it grows past this."""

    def __init__(self, system_tags: Iterable[str], time_format: TimeFormat = TimeFormat.UNIX) -> None:
        self.columns, self.ignored = columns_for(system_tags)
        self._skip = frozenset(self.columns) | self.ignored
        self._time: Callable[[int], str] = time_formatter(time_format)
        self._runs: dict[TagSet, str] = {}
        self._names: dict[Metric, str] = {}

    def header(self) -> str:
        """The header line, ending in ``\\n``."""
        return ",".join(("metric_name", "timestamp", "metric_value", *self.columns, "extra_tags", "metadata")) + "\n"

    def _pairs(self, items: Iterable[tuple[str, str]]) -> str:
        skip = self._skip
        return "&".join(f"{k}={v}" for k, v in items if k not in skip)

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
            self._runs[tags] = run
        return run

    def metadata(self, metadata: Mapping[str, str] | None) -> str:
        """The ``metadata`` field: ``k=v&k=v`` of every key that is not a column, quoted as needed."""
        if not metadata:
            return ""
        return go_quote(self._pairs(metadata.items()))

    def _name(self, metric: Metric) -> str:
        name = self._names.get(metric)
        if name is None:
            name = self._names[metric] = go_quote(metric.name) + ","
        return name

    def rows(self, containers: Sequence) -> str:
        """The rows of every sample of ``containers``, in order, as one string."""
        out: list[str] = []
        append = out.append
        names = self._names
        runs = self._runs
        fmt_time = self._time
        last_time, stamp = None, ""
        for c in containers:
            t = c.time
            if t != last_time:
                stamp = fmt_time(t) + ","
                last_time = t
            tail = runs.get(c.tags) or self.tag_run(c.tags)
            md = c.metadata
            tail = tail + self.metadata(md) + "\n" if md else tail + "\n"
            values = c.values
            total = sum(values)
            if total - total == 0:  # every value finite (the rare inf/nan takes the slow path)
                for m, v in zip(c.metrics, values):
                    append((names.get(m) or self._name(m)) + stamp + "%f" % v + tail)
            else:
                for m, v in zip(c.metrics, values):
                    append((names.get(m) or self._name(m)) + stamp + go_float(v) + tail)
        return "".join(out)
