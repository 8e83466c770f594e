"""Thresholds: k6's pass/fail criteria on metrics, parsed from ``options["thresholds"]``.

``options["thresholds"]`` maps a metric name, optionally with a sub-metric
selector (``http_req_duration{status:200}``), to a list of expressions
(``"p(95)<500"``) or objects ``{"threshold": ..., "abortOnFail": bool,
"delayAbortEval": "10s"}``. :func:`parse_thresholds` checks them against the
metric registry exactly as k6 does (same grammar, same error messages, exit
code 104) and creates the sub-metrics they name. :meth:`Thresholds.evaluate`
runs them against a :class:`~horde.metrics.MetricStore`: every 2 s during the
run (``final=False``: empty sinks skipped, ``abortOnFail`` honoured) and once
at the end (``final=True``: empty sinks evaluate as 0).
"""

from __future__ import annotations

import logging
import math
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .durations import DurationError, format_duration, parse_duration_ns
from .errors import AbortReason, ExitCode, RunError, UserError
from .metrics import (
    CounterSink,
    GaugeSink,
    Metric,
    MetricRegistry,
    MetricStore,
    MetricType,
    RateSink,
    Sink,
    Submetric,
    TrendSink,
    new_sink,
)
from .metrics.gofmt import go_float

__all__ = [
    "ThresholdError",
    "ThresholdExpression",
    "Threshold",
    "MetricThresholds",
    "Thresholds",
    "EvaluationResult",
    "PeriodicEvaluator",
    "EVALUATION_PERIOD",
    "parse_expression",
    "parse_metric_key",
    "selector_tags",
    "aggregate_values",
    "go_parse_float",
    "parse_thresholds",
    "SUPPORTED_AGGREGATIONS",
    "EXPECTED_RESPONSE_SUBMETRIC",
]

OPERATORS = ("<=", "<", ">=", ">", "===", "==", "!=")
"""Scanned in this order; the first whose first occurrence leaves a non-empty right side wins."""

_AGGREGATIONS = ("value", "count", "rate", "avg", "min", "med", "max")

SUPPORTED_AGGREGATIONS: dict[MetricType, tuple[str, ...]] = {
    MetricType.COUNTER: ("count", "rate"),
    MetricType.GAUGE: ("value",),
    MetricType.RATE: ("rate",),
    MetricType.TREND: ("avg", "min", "max", "med", "p"),
}
"""Aggregation methods a threshold may use, per metric type (``p`` = any ``p(N)``)."""

_log = logging.getLogger("horde.thresholds")

EVALUATION_PERIOD = 2.0
"""Seconds between threshold evaluations during a run, as in k6."""

EXPECTED_RESPONSE_SUBMETRIC = "http_req_duration{expected_response:true}"
"""The sub-metric k6 always creates (when the expected_response tag is on) so the summary can show it."""


class ThresholdError(UserError):
    """An invalid threshold definition: k6's message, exit code 104 (invalid config)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, ExitCode.INVALID_CONFIG)


def _go_quote(s: str) -> str:
    """Go's ``%q`` for the strings that appear in k6's messages."""
    out = []
    for ch in s:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


_DEC_FLOAT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\Z")
_HEX_FLOAT = re.compile(r"[+-]?0[xX](?:[0-9a-fA-F]+(?:\.[0-9a-fA-F]*)?|\.[0-9a-fA-F]+)[pP][+-]?[0-9]+\Z")
_SPECIAL = {
    "inf": math.inf,
    "+inf": math.inf,
    "-inf": -math.inf,
    "infinity": math.inf,
    "+infinity": math.inf,
    "-infinity": -math.inf,
    "nan": math.nan,
}


def go_parse_float(text: str) -> float:
    """Go's ``strconv.ParseFloat(text, 64)``: no surrounding spaces; ``ValueError`` with Go's message."""
    special = _SPECIAL.get(text.lower())
    if special is not None:
        return special
    if _DEC_FLOAT.match(text):
        value = float(text)
    elif _HEX_FLOAT.match(text):
        value = float.fromhex(text)
    else:
        raise ValueError(f"strconv.ParseFloat: parsing {_go_quote(text)}: invalid syntax")
    if math.isinf(value):
        raise ValueError(f"strconv.ParseFloat: parsing {_go_quote(text)}: value out of range")
    return value


@dataclass(frozen=True)
class ThresholdExpression:
    """A parsed ``aggregation operator number``.

    ``aggregation`` is one of ``value count rate avg min med max`` or ``p``
    (then ``percentile`` holds N of ``p(N)``, 0..100). ``lhs`` is the left
    side as written (trimmed), e.g. ``p(99.9)``.
    """

    aggregation: str
    percentile: float | None
    operator: str
    value: float
    lhs: str

    @property
    def key(self) -> str:
        """The aggregate this expression reads: ``avg``, ``p(95)`` (``p(95.0)`` gives ``p(95)`` too)."""
        if self.aggregation == "p":
            return f"p({go_float(self.percentile)})"
        return self.aggregation

    def passes(self, lhs: float) -> bool:
        """Apply the operator to ``lhs`` (the metric's aggregate) and the threshold's number."""
        op = self.operator
        if op == ">":
            return lhs > self.value
        if op == ">=":
            return lhs >= self.value
        if op == "<=":
            return lhs <= self.value
        if op == "<":
            return lhs < self.value
        if op in ("==", "==="):
            return lhs == self.value
        return lhs != self.value


def _scan(source: str) -> tuple[str, str, str]:
    for op in OPERATORS:
        left, found, right = source.partition(op)
        if found and right:
            return left.strip(), op, right.strip()
    raise ValueError("malformed threshold expression")


def parse_expression(source: str) -> ThresholdExpression:
    """Parse ``source`` (e.g. ``"p(95) < 500"``) with k6's grammar; :class:`ThresholdError` if invalid."""
    try:
        lhs, op, rhs = _scan(source)
    except ValueError as e:
        raise ThresholdError(f"failed parsing threshold expression {_go_quote(source)}; reason: {e}") from None
    percentile: float | None = None
    if lhs in _AGGREGATIONS:
        aggregation = lhs
    elif lhs.startswith("p(") and lhs.endswith(")") and len(lhs) >= 3:
        aggregation = "p"
        try:
            percentile = go_parse_float(lhs[2:-1])
        except ValueError as e:
            raise ThresholdError(
                f"failed parsing threshold expression's {_go_quote(source)} left hand side; "
                f"reason: malformed percentile value; reason: {e}"
            ) from None
        if math.isnan(percentile) or not 0 <= percentile <= 100:
            raise ThresholdError(
                f"failed parsing threshold expression's {_go_quote(source)} left hand side; "
                "reason: malformed percentile value, provide a number between 0 and 100"
            )
    else:
        raise ThresholdError(
            f"failed parsing threshold expression's {_go_quote(source)} left hand side; "
            "reason: failed parsing method from expression"
        )
    try:
        value = go_parse_float(rhs)
    except ValueError as e:
        # "expresion's" is k6's spelling.
        raise ThresholdError(
            f"failed parsing threshold expresion's {_go_quote(source)} right hand side; reason: {e}"
        ) from None
    return ThresholdExpression(aggregation, percentile, op, value, lhs)


class Threshold:
    """One threshold of one metric: its source text, options and parsed expression.

    ``last_failed`` is the outcome of the last evaluation that ran it (False
    until then); outputs that report thresholds (the cloud output) read it
    at stop time.
    """

    __slots__ = ("source", "abort_on_fail", "delay_abort_eval", "delay_abort_eval_s", "expression", "last_failed")

    def __init__(
        self, source: str, abort_on_fail: bool = False, delay_abort_eval: str | int | float | None = None
    ) -> None:
        self.source = source
        self.abort_on_fail = bool(abort_on_fail)
        self.expression = parse_expression(source)
        if delay_abort_eval is None:
            self.delay_abort_eval: str | None = None
            self.delay_abort_eval_s: float | None = None
        else:
            try:
                ns = parse_duration_ns(delay_abort_eval)
            except DurationError as e:
                raise ThresholdError(f"invalid delayAbortEval of threshold {_go_quote(source)}: {e}") from None
            self.delay_abort_eval = format_duration(ns=ns)
            """``delayAbortEval`` as k6 serializes it (Go duration text: ``10s``, ``1m30s``)."""
            self.delay_abort_eval_s = ns / 1e9
        self.last_failed = False

    @classmethod
    def from_config(cls, config: Any, key: str = "") -> Threshold:
        """A threshold from one element of an options list: a string or k6's object form."""
        if isinstance(config, str):
            return cls(config)
        if isinstance(config, Mapping):
            source = config.get("threshold", "")
            if source is None:
                source = ""
            if not isinstance(source, str):
                raise ThresholdError(
                    f"invalid threshold definition on {key}: 'threshold' must be a string, got {source!r}"
                )
            abort = config.get("abortOnFail", False)
            if abort is None:
                abort = False
            if not isinstance(abort, bool):
                raise ThresholdError(
                    f"invalid threshold definition on {key}: 'abortOnFail' must be true or false, got {abort!r}"
                )
            return cls(source, abort, config.get("delayAbortEval"))
        raise ThresholdError(
            f"invalid threshold definition on {key}: expected a string such as 'p(95)<500' or an object "
            f"{{threshold, abortOnFail, delayAbortEval}}, got {config!r}"
        )

    def to_json(self) -> str | dict:
        """k6's serialized form: the source string, or the object when ``abortOnFail`` is set."""
        if not self.abort_on_fail:
            return self.source
        return {"threshold": self.source, "abortOnFail": True, "delayAbortEval": self.delay_abort_eval}

    def __repr__(self) -> str:
        return f"Threshold({self.source!r}{', abortOnFail' if self.abort_on_fail else ''})"


def parse_metric_key(key: str) -> tuple[str, str | None]:
    """Split ``name{k:v,...}`` into ``(name, selector text)`` with k6's validation (selector None if absent)."""
    opening = key.find("{")
    closing = key.rfind("}")
    if opening < 0 and closing < 0:
        return key, None
    prefix = "unable to validate threshold expressions; reason: parsing metric name failed, metric "
    if opening < 0 or closing < 0:
        raise ThresholdError(prefix + f"{_go_quote(key)} has unmatched opening/close curly brace")
    if closing < opening:
        raise ThresholdError(prefix + f"{_go_quote(key)} closing curly brace appears before opening one")
    if closing != len(key) - 1:
        raise ThresholdError(prefix + f"{_go_quote(key)} lacks a closing curly brace in its last position")
    for piece in key[opening + 1 : closing].split(","):
        _, colon, value = piece.partition(":")
        if not colon or not value:
            raise ThresholdError(prefix + f"{_go_quote(piece)} tag expression is malformed")
    return key[:opening], key[opening + 1 : -1]


def selector_tags(selector: str) -> tuple[str, dict[str, str]]:
    """k6's ``AddSubmetric``: the trimmed suffix and the tags it selects (quotes and spaces trimmed)."""
    suffix = selector.strip()
    tags: dict[str, str] = {}
    for kv in suffix.split(","):
        if not kv:
            continue
        key, colon, value = kv.partition(":")
        key = key.strip().strip("\"'")
        tags[key] = value.strip().strip("\"'") if colon else ""
    return suffix, tags


@dataclass
class MetricThresholds:
    """The thresholds of one options key, bound to its metric or sub-metric."""

    key: str
    """The key as written in the options (``http_req_duration{ status:200 }``)."""
    metric: Metric
    """The metric the key names (the parent, for a sub-metric key)."""
    submetric: Submetric | None
    thresholds: list[Threshold]
    tainted: bool | None = None
    """True if a threshold failed at the last evaluation, None before any."""

    @property
    def target(self) -> Metric | Submetric:
        """What the thresholds read: the sub-metric if the key has a selector, else the metric."""
        return self.submetric if self.submetric is not None else self.metric

    @property
    def name(self) -> str:
        """k6's name of the target: ``http_req_duration`` or ``http_req_duration{status:200}``."""
        return self.target.name


@dataclass
class EvaluationResult:
    """The outcome of one :meth:`Thresholds.evaluate`."""

    breached: list[str] = field(default_factory=list)
    """Sorted names of the metrics (or sub-metrics) with at least one failed threshold."""
    abort: bool = False
    """A failed ``abortOnFail`` threshold asks to stop the run (only during the run, after its delay)."""
    final: bool = False
    failed: list[tuple[str, Threshold]] = field(default_factory=list)
    """(metric name, threshold) for every threshold that failed, in definition order."""

    @property
    def ok(self) -> bool:
        return not self.breached

    @property
    def message(self) -> str | None:
        """k6's error text for this outcome, or None when nothing was breached (or no abort during the run)."""
        names = ", ".join(self.breached)
        if self.final and self.breached:
            return f"thresholds on metrics '{names}' have been crossed"
        if self.abort:
            return (
                f"thresholds on metrics '{names}' were crossed; at least one has abortOnFail enabled, "
                "stopping test prematurely"
            )
        return None

    def error(self) -> RunError | None:
        """The run's final error (exit code 99): set after the final evaluation, or on abortOnFail."""
        msg = self.message
        if msg is None:
            return None
        reason = AbortReason.THRESHOLDS_AFTER_TEST_END if self.final else AbortReason.THRESHOLD
        return RunError(msg, reason=reason, exit_code=ExitCode.THRESHOLDS_HAVE_FAILED)


class Thresholds:
    """Every threshold of a run, grouped per options key.

    ``by_key`` (options key -> list of :class:`Threshold`) is what outputs
    receive through ``set_thresholds``; each threshold has ``to_json()``.
    """

    def __init__(self, entries: Iterable[MetricThresholds] = ()) -> None:
        self.entries: list[MetricThresholds] = list(entries)
        self.by_key: dict[str, list[Threshold]] = {e.key: e.thresholds for e in self.entries}

    def __len__(self) -> int:
        return len(self.entries)

    def __bool__(self) -> bool:
        return bool(self.entries)

    def __iter__(self):
        return iter(self.entries)

    def by_name(self) -> dict[str, MetricThresholds]:
        """Entries by target name (``http_req_duration{status:200}``); a later key naming the same target wins."""
        return {e.name: e for e in self.entries}

    def targets(self) -> list[Metric | Submetric]:
        """The metrics and sub-metrics that have thresholds."""
        return [e.target for e in self.entries]

    def evaluate(self, store: MetricStore, elapsed_s: float, final: bool = False) -> EvaluationResult:
        """Run every threshold against ``store`` at ``elapsed_s`` seconds of test time.

        During the run (``final=False``) metrics whose sink is empty are
        skipped and a failed ``abortOnFail`` threshold sets ``abort`` once
        ``elapsed_s`` exceeds its ``delayAbortEval``. At the end
        (``final=True``) every metric is evaluated, empty ones as zero.
        An aggregate that does not exist (a Rate without samples, a Counter's
        rate at 0 s) passes.
        """
        result = EvaluationResult(final=final)
        with store.locked():
            for entry in self.entries:
                if not entry.thresholds:
                    continue
                sink = store.sink(entry.target)
                if sink is None or sink.is_empty():
                    if not final:
                        continue
                    if sink is None:
                        sink = new_sink(entry.metric.type)
                values = aggregate_values(sink, elapsed_s, entry.thresholds)
                entry_ok = True
                for t in entry.thresholds:
                    lhs = values.get(t.expression.key)
                    passed = True if lhs is None else t.expression.passes(lhs)
                    t.last_failed = not passed
                    if passed:
                        continue
                    entry_ok = False
                    result.failed.append((entry.name, t))
                    if (
                        not final
                        and t.abort_on_fail
                        and (t.delay_abort_eval_s is None or t.delay_abort_eval_s < elapsed_s)
                    ):
                        result.abort = True
                entry.tainted = not entry_ok
                if not entry_ok and entry.name not in result.breached:
                    result.breached.append(entry.name)
        result.breached.sort()
        return result


def aggregate_values(sink: Sink, elapsed_s: float, thresholds: Iterable[Threshold] = ()) -> dict[str, float]:
    """The aggregates thresholds read from ``sink``, by key (``count``, ``rate``, ``p(95)``...).

    Missing keys are k6's "no value": a Rate without samples has no ``rate``,
    a Counter has no ``rate`` at 0 s.
    """
    if isinstance(sink, CounterSink):
        values = {"count": sink.count}
        if elapsed_s > 0:
            values["rate"] = sink.count / elapsed_s
        return values
    if isinstance(sink, GaugeSink):
        return {"value": sink.value}
    if isinstance(sink, RateSink):
        return {"rate": sink.trues / sink.total} if sink.total else {}
    if isinstance(sink, TrendSink):
        if sink.count:
            values = {"min": sink.min, "max": sink.max, "avg": sink.avg, "med": sink.percentile(0.5)}
        else:
            values = {"min": 0.0, "max": 0.0, "avg": 0.0, "med": 0.0}
        for t in thresholds:
            expr = t.expression
            if expr.aggregation == "p":
                values[expr.key] = sink.percentile(expr.percentile / 100)
        return values
    raise TypeError(f"unknown sink type {type(sink).__name__}")


def parse_thresholds(
    options_thresholds: Mapping[str, Any] | None,
    registry: MetricRegistry,
    *,
    expected_response_submetric: bool = True,
) -> Thresholds:
    """Parse and validate ``options["thresholds"]`` against ``registry``, as k6 does before a run.

    Creates the sub-metrics the keys select (``metric.add_submetric``), and
    ``http_req_duration{expected_response:true}`` when
    ``expected_response_submetric`` (k6 does when the ``expected_response``
    system tag is enabled). Must run before any sample reaches the store.
    Raises :class:`ThresholdError` (a :class:`~horde.errors.UserError`, exit
    code 104) with k6's message for a bad expression, an unknown metric or an
    aggregation the metric's type does not support.
    """
    entries: list[MetricThresholds] = []
    if options_thresholds is None:
        options_thresholds = {}
    if not isinstance(options_thresholds, Mapping):
        raise ThresholdError(
            f"invalid thresholds option: expected a mapping of metric name to a list of thresholds, "
            f"got {type(options_thresholds).__name__}"
        )
    for key, definitions in options_thresholds.items():
        if not isinstance(key, str):
            raise ThresholdError(f"invalid thresholds option: metric names must be strings, got {key!r}")
        if isinstance(definitions, (str, Mapping)) or not isinstance(definitions, (list, tuple)):
            raise ThresholdError(
                f"invalid thresholds on {key}: expected a list such as ['p(95)<500'], got {definitions!r}"
            )
        thresholds = [Threshold.from_config(d, key) for d in definitions]
        name, selector = parse_metric_key(key)
        metric = registry.get(name)
        if metric is None:
            raise ThresholdError(f"invalid threshold defined on {key}; reason: no metric name {_go_quote(key)} found")
        allowed = SUPPORTED_AGGREGATIONS[metric.type]
        for t in thresholds:
            if t.expression.aggregation not in allowed:
                raise ThresholdError(
                    f"invalid threshold {_go_quote(t.source)} applied on metric {key}; reason: "
                    f"unsupported aggregation method {t.expression.aggregation} on metric of type {metric.type}. "
                    f"supported aggregation methods for this metric are: {', '.join(allowed)}"
                )
        submetric = None
        if selector is not None:
            suffix, tags = selector_tags(selector)
            submetric = metric.add_submetric(suffix, tags)
            for tag in ("vu", "iter"):
                if tag in tags:
                    _log.warning(
                        "The high-cardinality '%s' metric tag is metadata in horde (as in k6 v0.41+), "
                        "so thresholds like '%s' that are based on it won't work correctly.",
                        tag,
                        key,
                    )
        entries.append(MetricThresholds(key, metric, submetric, thresholds))
    if expected_response_submetric:
        duration = registry.get("http_req_duration")
        if duration is not None:
            duration.add_submetric("expected_response:true", {"expected_response": "true"})
    return Thresholds(entries)


class PeriodicEvaluator:
    """k6's threshold loop: evaluate every ``period`` seconds on a thread, then once more at the end.

    ``elapsed`` returns the test run time in seconds; ``on_abort(error)`` is
    called (once, from the evaluator's thread) when a failed ``abortOnFail``
    threshold asks to stop the run; ``error`` is a
    :class:`~horde.errors.RunError` with exit code 99 and reason THRESHOLD.
    :meth:`finish` stops the loop and returns the final evaluation; call it
    after the last samples reached the store and before outputs are stopped.
    """

    def __init__(
        self,
        thresholds: Thresholds,
        store: MetricStore,
        elapsed: Callable[[], float],
        on_abort: Callable[[RunError], None],
        period: float = EVALUATION_PERIOD,
    ) -> None:
        if period <= 0:
            raise ValueError(f"threshold evaluation period should be positive but was {period}")
        self.thresholds = thresholds
        self.store = store
        self.elapsed = elapsed
        self.on_abort = on_abort
        self.period = period
        self.last: EvaluationResult | None = None
        """The latest periodic result."""
        self._stop = threading.Event()
        self._aborted = False
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the loop (nothing to do when there are no thresholds)."""
        if not self.thresholds or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._loop, name="horde-thresholds", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.period):
            try:
                result = self.thresholds.evaluate(self.store, self.elapsed(), final=False)
            except Exception:  # pragma: no cover - a bug must not kill the run silently
                _log.exception("Threshold evaluation failed")
                continue
            self.last = result
            if result.abort and not self._aborted:
                self._aborted = True
                err = result.error()
                _log.debug("%s", err)
                self.on_abort(err)

    def finish(self) -> EvaluationResult:
        """Stop the loop and run the final evaluation (empty sinks count as zero)."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()
        return self.thresholds.evaluate(self.store, self.elapsed(), final=True)
