"""Durations as k6 reads and writes them.

k6 accepts Go duration strings (``500ms``, ``1s``, ``1m30s``, ``1h``,
``2.5s``, ``1h2m3.5s``, units ``ns us µs ms s m h``) extended with days
(``1d``, ``1d12h``). A bare integer, as a string or a number, means
**milliseconds** (``"500"`` and ``500`` are half a second); a JSON/Python
float is milliseconds too (``1.5`` is 1.5 ms). A decimal string without a
unit (``"2.5"``) is an error, as in k6.

:func:`parse_duration` returns seconds (float); :func:`parse_duration_ns`
integer nanoseconds; :func:`format_duration` writes Go's ``Duration.String()``
(``10s``, ``1m30s``, ``1h0m0s``, ``500ms``) — the form k6 serializes
durations in (e.g. ``delayAbortEval`` in its JSON output).
"""

from __future__ import annotations

import re
from typing import Any

from .errors import ExitCode, UserError

__all__ = ["DurationError", "parse_duration", "parse_duration_ns", "format_duration", "option_seconds"]

_NS = 1
_US = 1_000
_MS = 1_000_000
_S = 1_000_000_000
_M = 60 * _S
_H = 60 * _M
_D = 24 * _H

_UNITS = {"ns": _NS, "us": _US, "µs": _US, "μs": _US, "ms": _MS, "s": _S, "m": _M, "h": _H}
_INT_RE = re.compile(r"[+-]?[0-9]+\Z")
_MAX_NS = (1 << 63) - 1
_EXPECTED = "expected a string such as '1m30s' or a number of milliseconds"


class DurationError(ValueError):
    """A duration k6 would refuse; the message is k6's (Go's ``time`` package wording)."""


def _quote(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _go_parse_duration(orig: str) -> int:
    """Go's ``time.ParseDuration`` in integer nanoseconds."""
    s = orig
    neg = False
    if s and s[0] in "+-":
        neg = s[0] == "-"
        s = s[1:]
    if s == "0":
        return 0
    if not s:
        raise DurationError(f"time: invalid duration {_quote(orig)}")
    total = 0
    while s:
        # integer part
        i = 0
        while i < len(s) and s[i].isascii() and s[i].isdigit():
            i += 1
        int_part, s = s[:i], s[i:]
        frac_part = ""
        if s.startswith("."):
            s = s[1:]
            j = 0
            while j < len(s) and s[j].isascii() and s[j].isdigit():
                j += 1
            frac_part, s = s[:j], s[j:]
            if not int_part and not frac_part:
                raise DurationError(f"time: invalid duration {_quote(orig)}")
        elif not int_part:
            raise DurationError(f"time: invalid duration {_quote(orig)}")
        k = 0
        while k < len(s) and s[k] != "." and not (s[k].isascii() and s[k].isdigit()):
            k += 1
        unit_text, s = s[:k], s[k:]
        if not unit_text:
            raise DurationError(f"time: missing unit in duration {_quote(orig)}")
        unit = _UNITS.get(unit_text)
        if unit is None:
            raise DurationError(f"time: unknown unit {_quote(unit_text)} in duration {_quote(orig)}")
        value = int(int_part or "0") * unit
        if frac_part:
            # exact: fraction * unit, truncated toward zero like Go
            value += int(frac_part) * unit // (10 ** len(frac_part))
        total += value
        if total > _MAX_NS:
            raise DurationError(f"time: invalid duration {_quote(orig)}")
    return -total if neg else total


def _parse_extended(text: str) -> int:
    """k6's ``types.ParseExtendedDuration``: integer strings are ms; ``d`` (days) is allowed."""
    if _INT_RE.match(text):
        return int(text) * _MS
    d = text.find("d")
    if d < 0:
        return _go_parse_duration(text)
    hours = 0
    if d + 1 < len(text):
        hours = _go_parse_duration(text[d + 1 :])
        if hours < 0:
            raise DurationError(f"invalid time format '{text[d + 1 :]}'")
    days_text = text[:d]
    if not _INT_RE.match(days_text):
        raise DurationError(f"strconv.ParseInt: parsing {_quote(days_text)}: invalid syntax")
    days = int(days_text)
    if days < 0:
        hours = -hours
    return days * _D + hours


def parse_duration_ns(value: str | int | float) -> int:
    """``value`` in integer nanoseconds: a k6 duration string, or a number of milliseconds.

    Raises :class:`DurationError` with k6's message for anything else.
    """
    if isinstance(value, bool):
        raise DurationError(f"invalid duration {value!r}: {_EXPECTED}")
    if isinstance(value, int):
        return value * _MS
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise DurationError(f"invalid duration {value!r}")
        return int(value * _MS)
    if isinstance(value, str):
        return _parse_extended(value)
    raise DurationError(f"invalid duration {value!r}: expected a string such as '1m30s' or a number of milliseconds")


def parse_duration(value: str | int | float) -> float:
    """``value`` in seconds (float); see :func:`parse_duration_ns` for the accepted forms."""
    return parse_duration_ns(value) / _S


def _frac(v: int, prec: int) -> tuple[str, int]:
    """Go's fmtFrac: the fraction of ``v`` over ``10**prec`` without trailing zeros, and the integer part."""
    digits = ""
    printed = False
    for _ in range(prec):
        digit = v % 10
        printed = printed or digit != 0
        if printed:
            digits = str(digit) + digits
        v //= 10
    return ("." + digits if printed else ""), v


def format_duration(value_s: float | None = None, *, ns: int | None = None) -> str:
    """Go's ``time.Duration.String()`` of ``value_s`` seconds (or ``ns`` nanoseconds).

    ``0s``, ``1.5µs``, ``500ms``, ``10s``, ``1m30s``, ``1h0m0s``, ``26h3m4.5s``.
    """
    if ns is None:
        ns = round((value_s or 0.0) * _S)
    if ns == 0:
        return "0s"
    neg = ns < 0
    u = -ns if neg else ns
    sign = "-" if neg else ""
    if u < _S:
        if u < _US:
            return f"{sign}{u}ns"
        if u < _MS:
            frac, whole = _frac(u, 3)
            return f"{sign}{whole}{frac}µs"
        frac, whole = _frac(u, 6)
        return f"{sign}{whole}{frac}ms"
    frac, whole = _frac(u, 9)
    out = f"{whole % 60}{frac}s"
    whole //= 60
    if whole > 0:
        out = f"{whole % 60}m" + out
        whole //= 60
        if whole > 0:
            out = f"{whole}h" + out
    return sign + out


def option_seconds(value: Any, what: str = "duration") -> float:
    """An option's k6 duration (``"1m30s"``, ``"500ms"``; a bare number is milliseconds) in seconds.

    Raises :class:`~horde.errors.UserError` with exit code 104 (invalid config), naming ``what``.
    """
    if isinstance(value, bool):
        raise UserError(f"invalid {what} {value!r}", ExitCode.INVALID_CONFIG)
    try:
        return parse_duration(value)
    except (DurationError, TypeError, ValueError) as exc:
        raise UserError(f"invalid {what} {value!r}: {exc}", ExitCode.INVALID_CONFIG) from None
