"""The ``timestamp`` column: integer nanoseconds to text, as Go's ``time`` package writes them."""

from __future__ import annotations

import time as _time
from collections.abc import Callable

from .config import TimeFormat

__all__ = ["time_formatter", "time_step", "rfc3339"]

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


def _rfc3339_formatter(nano: bool) -> Callable[[int], str]:
    """RFC3339 text of integer nanoseconds, with the last second's date, time and zone cached
    (times mostly ascend); ``nano`` adds the fraction, trailing zeros trimmed."""
    last_sec: int | None = None
    base = zone = ""

    def fmt(ns: int) -> str:
        nonlocal last_sec, base, zone
        sec, frac = divmod(ns, _NS)
        if sec != last_sec:
            base, zone = rfc3339(sec)
            last_sec = sec
        if frac and nano:
            return f"{base}.{frac:09d}".rstrip("0") + zone
        return base + zone

    return fmt


_STEPS = {
    TimeFormat.UNIX: _NS,
    TimeFormat.UNIX_MILLI: 1_000_000,
    TimeFormat.UNIX_MICRO: 1_000,
    TimeFormat.UNIX_NANO: 1,
    TimeFormat.RFC3339: _NS,
    TimeFormat.RFC3339_NANO: 1,
}


def time_step(fmt: TimeFormat) -> int:
    """Nanoseconds one text of ``fmt`` stands for: every time in ``[t - t % step, +step)`` writes the same."""
    return _STEPS[fmt]


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
    return _rfc3339_formatter(fmt is TimeFormat.RFC3339_NANO)
