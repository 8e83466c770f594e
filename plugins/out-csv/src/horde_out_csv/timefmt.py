"""The ``timestamp`` column: integer nanoseconds to text, as Go's ``time`` package writes them."""

from __future__ import annotations

import time as _time
from typing import Callable

from .config import TimeFormat

__all__ = ["time_formatter", "rfc3339"]

_NS = 1_000_000_000


def _zone(offset: int) -> str:
    """Go's ``Z07:00``: ``Z`` for a zero offset, else ``±hh:mm``."""
    if offset == 0:
        return "Z"
    sign = "+" if offset > 0 else "-"
    offset = abs(offset)
    return f"{sign}{offset // 3600:02d}:{offset % 3600 // 60:02d}"


def rfc3339(seconds: int) -> tuple[str, str]:
    """``(YYYY-MM-DDThh:mm:ss, zone)`` of ``seconds`` since the epoch in the process's local zone."""
    lt = _time.localtime(seconds)
    return _time.strftime("%Y-%m-%dT%H:%M:%S", lt), _zone(lt.tm_gmtoff or 0)


def _seconds_cached(build: Callable[[int, int], str]) -> Callable[[int], str]:
    """Wrap ``build(seconds, nanos)`` with a cache of the last second's prefix (times mostly ascend)."""
    last = [None, None]  # second, (base, zone)

    def fmt(ns: int) -> str:
        sec, frac = divmod(ns, _NS)
        if sec != last[0]:
            last[1] = rfc3339(sec)
            last[0] = sec
        return build(last[1], frac)

    return fmt


def time_formatter(fmt: TimeFormat) -> Callable[[int], str]:
    """A function from integer nanoseconds since the epoch to the column text for ``fmt``.

    ``unix*`` are integers (floor division, as Go's ``Unix``/``UnixMilli``…);
    ``rfc3339`` is whole seconds; ``rfc3339_nano`` trims trailing zeros of the
    fraction (Go's ``RFC3339Nano``). Both RFC3339 forms use the local zone.
    """
    if fmt is TimeFormat.UNIX:
        return lambda ns: str(ns // _NS)
    if fmt is TimeFormat.UNIX_MILLI:
        return lambda ns: str(ns // 1_000_000)
    if fmt is TimeFormat.UNIX_MICRO:
        return lambda ns: str(ns // 1_000)
    if fmt is TimeFormat.UNIX_NANO:
        return str
    if fmt is TimeFormat.RFC3339:
        return _seconds_cached(lambda bz, frac: bz[0] + bz[1])

    def nano(bz: tuple[str, str], frac: int) -> str:
        if frac:
            return f"{bz[0]}.{frac:09d}".rstrip("0") + bz[1]
        return bz[0] + bz[1]

    return _seconds_cached(nano)
