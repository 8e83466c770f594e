"""Go-compatible durations: k6's extended duration syntax in, Go's ``Duration.String`` out.

Durations are integer nanoseconds, as Go's ``time.Duration``.
"""

from __future__ import annotations

import re

__all__ = ["parse_duration", "parse_extended_duration", "format_duration", "DurationError"]

NS, US, MS, SECOND, MINUTE, HOUR = 1, 1_000, 1_000_000, 1_000_000_000, 60_000_000_000, 3_600_000_000_000
_UNITS = {"ns": NS, "us": US, "\u00b5s": US, "\u03bcs": US, "ms": MS, "s": SECOND, "m": MINUTE, "h": HOUR}
_INT = re.compile(r"[+-]?[0-9]+\Z")
_MAX = (1 << 63) - 1


class DurationError(ValueError):
    """A duration that does not parse; the message is Go's."""


def _invalid(orig: str) -> DurationError:
    return DurationError(f'time: invalid duration "{orig}"')


def parse_duration(text: str) -> int:
    """Go's ``time.ParseDuration``: ``1h2m3.5s``, ``300ms``, ``-1.5h``; ``0`` alone needs no unit."""
    orig, s, neg = text, text, False
    if s and s[0] in "+-":
        neg, s = s[0] == "-", s[1:]
    if s == "0":
        return 0
    if not s:
        raise _invalid(orig)
    total = 0
    while s:
        if not (s[0] == "." or "0" <= s[0] <= "9"):
            raise _invalid(orig)
        i = 0
        while i < len(s) and "0" <= s[i] <= "9":
            i += 1
        whole, pre, s = int(s[:i] or 0), i > 0, s[i:]
        frac, scale, post = 0, 1, False
        if s and s[0] == ".":
            s = s[1:]
            i = 0
            while i < len(s) and "0" <= s[i] <= "9":
                i += 1
            digits, s = s[:i], s[i:]
            post = i > 0
            if digits:
                # Go keeps at most what fits an int64; further digits do not matter
                digits = digits[:18]
                frac, scale = int(digits), 10 ** len(digits)
        if not pre and not post:
            raise _invalid(orig)
        i = 0
        while i < len(s) and not (s[i] == "." or "0" <= s[i] <= "9"):
            i += 1
        if i == 0:
            raise DurationError(f'time: missing unit in duration "{orig}"')
        unit_name, s = s[:i], s[i:]
        unit = _UNITS.get(unit_name)
        if unit is None:
            raise DurationError(f'time: unknown unit "{unit_name}" in duration "{orig}"')
        value = whole * unit + (int(frac * (unit / scale)) if frac else 0)
        total += value
        if total > _MAX + (1 if neg else 0):
            raise _invalid(orig)
    return -total if neg else total


def parse_extended_duration(text: str) -> int:
    """k6's ``types.ParseExtendedDuration``: a bare integer is milliseconds, ``2d12h`` adds days."""
    if _INT.match(text):
        return int(text) * MS
    d = text.find("d")
    if d < 0:
        return parse_duration(text)
    hours = 0
    if d + 1 < len(text):
        hours = parse_duration(text[d + 1:])
        if hours < 0:
            raise DurationError(f"invalid time format '{text[d + 1:]}'")
    if not _INT.match(text[:d]):
        raise DurationError(f'strconv.ParseInt: parsing "{text[:d]}": invalid syntax')
    days = int(text[:d])
    if days < 0:
        hours = -hours
    return days * 24 * HOUR + hours


def _frac(v: int, prec: int) -> tuple[str, int]:
    digits = f"{v % 10 ** prec:0{prec}d}".rstrip("0")
    return ("." + digits if digits else ""), v // 10 ** prec


def format_duration(ns: int) -> str:
    """Go's ``time.Duration.String``: ``0s``, ``1.5s``, ``1m30s``, ``1h0m0s``, ``500ms``, ``-2s``."""
    if ns == 0:
        return "0s"
    sign, u = ("-" if ns < 0 else ""), abs(ns)
    if u < SECOND:
        if u < US:
            return f"{sign}{u}ns"
        if u < MS:
            frac, whole = _frac(u, 3)
            return f"{sign}{whole}{frac}\u00b5s"
        frac, whole = _frac(u, 6)
        return f"{sign}{whole}{frac}ms"
    frac, secs = _frac(u, 9)
    text = f"{secs % 60}{frac}s"
    mins = secs // 60
    if mins:
        text = f"{mins % 60}m{text}"
        hours = mins // 60
        if hours:
            text = f"{hours}h{text}"
    return sign + text
