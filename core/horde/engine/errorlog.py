"""Script errors, reported not flooded: the first of each kind in full, then counts at most once a second.

An error's kind is its type, message and place in the script (file:line and
function). The first occurrence of a kind is logged as k6 does
(``ERRO[0003] KeyError: 'TARGET' at script.py:35 (default)``); later ones are
only counted, and at most one line a second says how many came since the
last line. The end of the run lists every kind with its count. Memory stays
flat: at most :data:`MAX_KINDS` kinds are kept, the rest are counted together.

Worker processes keep an :class:`ErrorCounts` and send what they counted with
every batch; the coordinator's :class:`ErrorLog` merges them, so the lines are
printed once for the whole run.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from types import TracebackType

__all__ = ["ErrorCounts", "ErrorKey", "ErrorLog", "MAX_KINDS", "SUMMARY_PERIOD", "error_key"]

ErrorKey = tuple[str, str]
"""(what happened, where): ``("KeyError: 'TARGET'", "script.py:35 (default)")``."""

MAX_KINDS = 100
"""Distinct error kinds kept; beyond, errors are counted under one "other errors" kind."""

SUMMARY_PERIOD = 1.0
"""Seconds between two summary lines at most."""

_OTHER: ErrorKey = ("other errors", "(more than 100 distinct kinds)")
_MAX_TEXT = 300


def error_key(exc: BaseException, script: Path | str) -> ErrorKey:
    """The kind of ``exc``: its type and one-line message, and its innermost frame in ``script``.

    Walks the traceback by hand (no source lines are read): this runs for
    every failed iteration.
    """
    script_file = str(script)
    where = ""
    tb: TracebackType | None = exc.__traceback__
    while tb is not None:
        code = tb.tb_frame.f_code
        if code.co_filename == script_file:
            where = f"{Path(script_file).name}:{tb.tb_lineno} ({code.co_name})"
        tb = tb.tb_next
    try:
        text = " ".join(str(exc).split())
    except Exception:  # a broken __str__ in script code
        text = "<unprintable>"
    if len(text) > _MAX_TEXT:
        text = text[:_MAX_TEXT] + "..."
    what = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return what, where


def format_error(key: ErrorKey) -> str:
    """``KeyError: 'TARGET' at script.py:35 (default)``."""
    what, where = key
    return f"{what} at {where}" if where else what


class ErrorCounts:
    """Counts per error kind since the last :meth:`take` (at most :data:`MAX_KINDS` kinds)."""

    def __init__(self) -> None:
        self.counts: dict[ErrorKey, int] = {}

    def add(self, key: ErrorKey, n: int = 1) -> None:
        """Count ``n`` errors of kind ``key``."""
        counts = self.counts
        if key in counts:
            counts[key] += n
        elif len(counts) < MAX_KINDS:
            counts[key] = n
        else:
            counts[_OTHER] = counts.get(_OTHER, 0) + n

    def take(self) -> list[tuple[ErrorKey, int]]:
        """The counts so far, emptied."""
        items = list(self.counts.items())
        self.counts = {}
        return items


class ErrorLog:
    """The run's script errors: first of each kind logged, the rest summarised, totals at the end."""

    def __init__(self, logger: logging.Logger | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.log = logger or logging.getLogger("horde.script")
        self.clock = clock
        self.totals: dict[ErrorKey, int] = {}
        self._since: dict[ErrorKey, int] = {}
        self._last_line = clock()
        self.total = 0

    def add(self, key: ErrorKey, n: int = 1) -> None:
        """Count ``n`` errors of ``key``: the first ever is logged in full, the rest summarised."""
        if n <= 0:
            return
        self.total += n
        totals = self.totals
        if key not in totals:
            if len(totals) >= MAX_KINDS:
                key = _OTHER
            if key not in totals:
                totals[key] = 0
                self.log.error("%s", format_error(key))
                self._last_line = self.clock()
                totals[key] = 1
                n -= 1
        if n:
            totals[key] += n
            self._since[key] = self._since.get(key, 0) + n
        if self._since and self.clock() - self._last_line >= SUMMARY_PERIOD:
            self.flush()

    def merge(self, items: Iterable[tuple[ErrorKey, int]]) -> None:
        """Add counts sent by a worker process."""
        for key, n in items:
            self.add(tuple(key), n)  # type: ignore[arg-type]  # pickled tuples stay tuples

    def flush(self) -> None:
        """Log one line for what was counted since the last line (nothing if nothing was)."""
        since, self._since = self._since, {}
        now = self.clock()
        window = now - self._last_line
        self._last_line = now
        if not since:
            return
        n = sum(since.values())
        kinds = sorted(since.items(), key=lambda kv: -kv[1])
        parts = "; ".join(f"{c}x {format_error(k)}" for k, c in kinds[:3])
        more = f"; and {len(kinds) - 3} more kinds" if len(kinds) > 3 else ""
        self.log.error("%d more script errors in the last %.1fs: %s%s", n, window, parts, more)

    def report(self) -> list[str]:
        """Lines for the end of the run: the total, then every kind with its count, most frequent first.

        What was counted since the last summary line is in these totals (no last summary line is logged).
        """
        self._since = {}
        if not self.totals:
            return []
        lines = [f"script errors: {self.total} in {len(self.totals)} distinct kind(s)"]
        for key, c in sorted(self.totals.items(), key=lambda kv: -kv[1]):
            lines.append(f"  {c}x {format_error(key)}")
        return lines
