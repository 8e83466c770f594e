"""k6 threshold expressions, parsed and checked against aggregate values (no horde core inside).

A threshold is ``aggregation operator number``: ``p(95)<500``, ``rate<0.01``, ``count>100``,
``avg<=200``, ``med``, ``min``, ``max``, ``value``, with ``<``, ``<=``, ``>``, ``>=``, ``==``,
``===`` or ``!=``. It belongs to a metric, or to a submetric ``name{tag:value,…}`` (only the
series with those tags). As in k6, a threshold *passes* when its expression is true; a threshold
whose aggregate has no value yet (no samples) passes.
"""

from __future__ import annotations

import dataclasses
import math
import operator
import re
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["ThresholdError", "Threshold", "parse_thresholds", "parse_selector", "parse_duration"]

_OPS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le,
    ">=": operator.ge,
    "===": operator.eq,
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    ">": operator.gt,
}
_EXPR = re.compile(
    r"^\s*(?P<agg>count|rate|value|avg|min|max|med|p\(\s*(?P<p>[0-9]+(?:\.[0-9]+)?)\s*\))\s*"
    r"(?P<op><=|>=|===|==|!=|<|>)\s*(?P<num>[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?)\s*$"
)


class ThresholdError(ValueError):
    """A threshold that cannot be parsed; the message names it."""


@dataclasses.dataclass(frozen=True)
class Threshold:
    """One parsed threshold of a metric or submetric."""

    metric: str
    """The metric as written, with its ``{tag:value}`` selector if any (the key of the thresholds object)."""
    source: str
    """The expression as written, e.g. ``p(95)<500``."""
    aggregation: str
    """``count``, ``rate``, ``value``, ``avg``, ``min``, ``max``, ``med`` or ``p(N)``."""
    percentile: float | None
    op: str
    bound: float
    abort_on_fail: bool = False
    delay_abort_eval: float = 0.0
    """Seconds after the start of the data before ``abort_on_fail`` may stop the run."""

    def passes(self, value: float | None) -> bool:
        """True when the expression holds for ``value`` (or there is no value yet)."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return True
        return _OPS[self.op](value, self.bound)


def parse_duration(text: Any) -> float:
    """Seconds of a k6 duration such as ``10s``, ``1m30s``, ``500ms`` or a number of milliseconds."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        return float(text) / 1000.0
    if not isinstance(text, str):
        raise ThresholdError(f"delayAbortEval {text!r} is not a duration")
    t = text.strip()
    if re.fullmatch(r"[0-9]+(\.[0-9]+)?", t):
        return float(t) / 1000.0
    total, pos = 0.0, 0
    for m in re.finditer(r"([0-9]+(?:\.[0-9]+)?)(ms|us|µs|h|m|s)", t):
        if m.start() != pos:
            break
        scale = {"ms": 0.001, "us": 1e-6, "µs": 1e-6, "s": 1.0, "m": 60.0, "h": 3600.0}[m.group(2)]
        total += float(m.group(1)) * scale
        pos = m.end()
    if not t or pos != len(t):
        raise ThresholdError(f"delayAbortEval {text!r} is not a duration (use e.g. 10s, 1m)")
    return total


def parse_selector(metric: str) -> tuple[str, dict[str, str]]:
    """``name{tag:value,…}`` → (name, {tag: value}); a plain name has no tags."""
    m = re.fullmatch(r"\s*([^{}\s]+)\s*(?:\{(.*)\})?\s*", metric)
    if m is None:
        raise ThresholdError(f"threshold metric {metric!r} is not 'name' or 'name{{tag:value}}'")
    tags: dict[str, str] = {}
    for part in (m.group(2) or "").split(","):
        if not part.strip():
            continue
        if ":" not in part:
            raise ThresholdError(f"threshold metric {metric!r}: selector part {part.strip()!r} is not 'tag:value'")
        key, value = part.split(":", 1)
        tags[key.strip().strip("\"'")] = value.strip().strip("\"'")
    return m.group(1), tags


def _one(metric: str, item: Any) -> Threshold:
    abort, delay = False, 0.0
    if isinstance(item, Mapping):
        source = item.get("threshold")
        abort = bool(item.get("abortOnFail", False))
        if item.get("delayAbortEval") not in (None, ""):
            delay = parse_duration(item["delayAbortEval"])
    else:
        source = item
    if not isinstance(source, str):
        raise ThresholdError(f"threshold of {metric!r}: {source!r} is not an expression string")
    m = _EXPR.match(source)
    if m is None:
        raise ThresholdError(
            f"threshold {source!r} of {metric!r} is not 'aggregation operator number' (e.g. p(95)<500, rate<0.01)"
        )
    agg = m.group("agg")
    pct = float(m.group("p")) if m.group("p") is not None else None
    if pct is not None:
        if not 0 <= pct <= 100:
            raise ThresholdError(f"threshold {source!r} of {metric!r}: percentile must be within 0..100")
        agg = "p"
    return Threshold(metric, source, agg, pct, m.group("op"), float(m.group("num")), abort, delay)


def parse_thresholds(defined: Mapping[str, Any]) -> list[Threshold]:
    """Every threshold of a k6 ``thresholds`` object ({metric: [expression or {threshold, abortOnFail,
    delayAbortEval}, …]}); raises :class:`ThresholdError` naming the first bad one."""
    out: list[Threshold] = []
    for metric, items in defined.items():
        parse_selector(metric)
        for item in items if isinstance(items, list) else [items]:
            out.append(_one(metric, item))
    return out
