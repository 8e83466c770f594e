"""Numbers and values written the way k6's end-of-test summary (JavaScript) writes them.

``Number.prototype.toString``, ``toFixed`` and k6's ``humanizeValue``:
time in ``ns``/``µs``/``ms``/``s``/``1m30s`` (truncated to 2 decimals),
data in 1000-based ``B``/``kB``/``MB``, rates as truncated percentages.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal

__all__ = [
    "js_number",
    "js_to_fixed",
    "to_fixed_no_trailing_zeros",
    "humanize_value",
    "humanize_bytes",
    "humanize_duration",
    "TIME_UNITS",
]

TIME_UNITS = {"s": ("s", 0.001), "ms": ("ms", 1.0), "us": ("µs", 1000.0)}
"""``--summary-time-unit`` values: (suffix, factor from milliseconds)."""


def js_number(x: float) -> str:
    """JavaScript's ``String(x)`` for a number: ``1``, ``0.5``, ``1e-7``, ``1e+21``."""
    if x != x:
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    if x == 0:
        return "0"
    x = float(x)
    if x.is_integer() and abs(x) < 1e21:
        return str(int(x))
    sign = "-" if x < 0 else ""
    digits_t = Decimal(repr(abs(x))).normalize().as_tuple()
    digits = "".join(map(str, digits_t.digits))
    k = len(digits)
    n = digits_t.exponent + k  # value = 0.digits * 10**n
    if k <= n <= 21:
        return sign + digits + "0" * (n - k)
    if 0 < n <= 21:
        return sign + digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return sign + "0." + "0" * (-n) + digits
    e = n - 1
    mant = digits[0] + ("." + digits[1:] if k > 1 else "")
    return f"{sign}{mant}e{'+' if e >= 0 else '-'}{abs(e)}"


def js_to_fixed(x: float, digits: int) -> str:
    """JavaScript's ``x.toFixed(digits)`` (exact value, ties away from zero)."""
    if x != x:
        return "NaN"
    if abs(x) >= 1e21 or math.isinf(x):
        return js_number(x)
    if x == 0:
        x = 0.0
    # Exact binary value, ties away from zero; (-0.001).toFixed(2) is "-0.00" in JavaScript too.
    return format(Decimal(x).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP), "f")


def to_fixed_no_trailing_zeros(x: float, digits: int) -> str:
    """``parseFloat(x.toFixed(digits)).toString()``."""
    return js_number(float(js_to_fixed(x, digits)))


def _trunc_no_trailing_zeros(x: float, digits: int) -> str:
    mult = 10.0**digits
    return to_fixed_no_trailing_zeros(math.trunc(mult * x) / mult, digits)


def _generic_duration(ms: float) -> str:
    if ms == 0:
        return "0s"
    if ms < 0.001:
        return js_number(math.trunc(ms * 1_000_000)) + "ns"
    if ms < 1:
        return _trunc_no_trailing_zeros(ms * 1000, 2) + "µs"
    if ms < 1000:
        return _trunc_no_trailing_zeros(ms, 2) + "ms"
    text = _trunc_no_trailing_zeros(math.fmod(ms, 60000) / 1000, 0 if ms > 60000 else 2) + "s"
    rem = math.trunc(ms / 60000)
    if rem < 1:
        return text
    text = f"{rem % 60}m{text}"
    rem = math.trunc(rem / 60)
    if rem < 1:
        return text
    return f"{rem}h{text}"


def humanize_duration(ms: float, time_unit: str | None = None) -> str:
    """A duration in milliseconds as k6's summary shows it (``249µs``, ``101.58ms``, ``1m10s``).

    With ``time_unit`` (``s``, ``ms`` or ``us``) every value uses that unit with 2 decimals.
    """
    unit = TIME_UNITS.get(time_unit or "")
    if unit is not None:
        return js_to_fixed(ms * unit[1], 2) + unit[0]
    return _generic_duration(ms)


_BYTE_UNITS = ("B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB")


def humanize_bytes(n: float) -> str:
    """A byte count in 1000-based units as k6's summary shows it (``604 B``, ``2.3 kB``, ``11 kB``)."""
    if n < 10:
        return js_number(n) + " B"
    e = math.floor(math.log(n) / math.log(1000))
    val = math.floor((n / 1000.0**e) * 10 + 0.5) / 10
    return js_to_fixed(val, 1 if val < 10 else 0) + " " + _BYTE_UNITS[int(e)]


def humanize_value(value: float, metric_type: str, contains: str, time_unit: str | None = None) -> str:
    """k6's ``humanizeValue``: rates as ``NN.NN%`` (truncated), data as bytes, time as durations."""
    if metric_type == "rate":
        return js_to_fixed(math.trunc(value * 100 * 100) / 100, 2) + "%"
    if contains == "data":
        return humanize_bytes(value)
    if contains == "time":
        return humanize_duration(value, time_unit)
    return to_fixed_no_trailing_zeros(value, 6)
