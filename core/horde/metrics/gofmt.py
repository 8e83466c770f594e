"""Go-compatible text for numbers and times, as k6's outputs write them: the one home of Go-style floats.

:func:`go_float` is Go's ``%g``-like shortest form (k6's JSON and thresholds),
:func:`go_float_decimal` the shortest form without an exponent (InfluxDB line
protocol), :func:`go_float_fixed` Go's ``%f`` (k6's CSV); :func:`rfc3339_nano`
a time as Go's ``time.RFC3339Nano``.
"""

from __future__ import annotations

import math
import time as _time

__all__ = ["go_float", "go_float_decimal", "go_float_fixed", "rfc3339_nano"]


def go_float(v: float) -> str:
    """``v`` as Go's ``strconv.FormatFloat(v, 'g', -1, 64)``: shortest digits, exponent when exp < -4 or >= 6.

    Examples: ``1``, ``0.32227``, ``999999``, ``1e+06``, ``1.234567e+06``, ``1e-05``.
    """
    a = v if v >= 0 else -v
    if 1e-4 <= a < 1e6:  # the common case: Python's repr already writes what Go writes
        return str(int(v)) if v == int(v) else repr(float(v))
    if 0 < a < 1e-4 or 1e16 <= a < math.inf:  # both use the exponent form, with the same digits
        return repr(float(v))
    if v != v:
        return "NaN"
    if v in (math.inf, -math.inf):
        return "+Inf" if v > 0 else "-Inf"
    if v == int(v) and -1e6 < v < 1e6:
        return str(int(v)) if v or math.copysign(1.0, v) > 0 else "-0"
    r = repr(float(v))
    sign = ""
    if r[0] == "-":
        sign, r = "-", r[1:]
    mant, _, exp_s = r.partition("e")
    exp = int(exp_s) if exp_s else 0
    intpart, _, frac = mant.partition(".")
    if frac == "0":
        frac = ""
    digits = (intpart + frac).lstrip("0")
    # decimal exponent of the first significant digit
    if intpart.strip("0"):
        dexp = len(intpart.lstrip("0")) - 1 + exp
    else:
        dexp = -(len(frac) - len(frac.lstrip("0"))) - 1 + exp
    digits = digits.rstrip("0") or "0"
    if dexp < -4 or dexp >= 6:
        m = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{sign}{m}e{'-' if dexp < 0 else '+'}{abs(dexp):02d}"
    if dexp < 0:
        return f"{sign}0.{'0' * (-dexp - 1)}{digits}"
    if len(digits) <= dexp + 1:
        return f"{sign}{digits}{'0' * (dexp + 1 - len(digits))}"
    return f"{sign}{digits[: dexp + 1]}.{digits[dexp + 1 :]}"


def go_float_decimal(v: float) -> str:
    """``v`` as Go's ``strconv.FormatFloat(v, 'f', -1, 64)``: shortest digits, never an exponent.

    Examples: ``1``, ``0.232383``, ``1200000``, ``0.00001``.
    """
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


def go_float_fixed(v: float) -> str:
    """``v`` as Go's ``fmt.Sprintf("%f", v)``: six decimals; ``+Inf``, ``-Inf``, ``NaN``."""
    if math.isfinite(v):
        return "%f" % v
    if v != v:
        return "NaN"
    return "+Inf" if v > 0 else "-Inf"


_second_cache: dict[int, str] = {}


def rfc3339_nano(ns: int) -> str:
    """Go's ``time.RFC3339Nano`` of ``ns`` nanoseconds since the epoch, in the local zone.

    Trailing zeros of the fraction are trimmed; ``Z`` when the offset is zero.
    """
    sec, frac = divmod(ns, 1_000_000_000)
    prefix = _second_cache.get(sec)
    if prefix is None:
        if len(_second_cache) > 4:
            _second_cache.clear()
        lt = _time.localtime(sec)
        off = lt.tm_gmtoff or 0
        if off == 0:  # Go's "Z07:00" writes Z for every zero offset, whatever the zone's name
            zone = "Z"
        else:
            sign = "+" if off >= 0 else "-"
            off = abs(off)
            zone = f"{sign}{off // 3600:02d}:{off % 3600 // 60:02d}"
        prefix = _time.strftime("%Y-%m-%dT%H:%M:%S", lt) + "\0" + zone
        _second_cache[sec] = prefix
    base, zone = prefix.split("\0")
    if frac:
        return f"{base}.{frac:09d}".rstrip("0") + zone
    return base + zone
