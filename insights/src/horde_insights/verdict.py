"""Central thresholds: a run's thresholds evaluated on the merged data of all its instances.

Counters are summed, rates merged (passes over total), trends merged from their histograms (a
percentile over the union of every instance's requests, within the histogram's bucket width),
gauges read at their latest value. :func:`judge` stores the verdict in the run; a failed
``abortOnFail`` threshold (past its ``delayAbortEval``) stops the run, Aborted by threshold.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from typing import Any

from .histogram import Histogram
from .store import Store
from .thresholds import Threshold, ThresholdError, parse_selector, parse_thresholds

__all__ = ["judge", "evaluate", "aggregates", "VerdictJudge"]

log = logging.getLogger("horde_insights")

ABORTED_BY_THRESHOLD = 8
"""k6's run status of a run stopped by an ``abortOnFail`` threshold."""


def aggregates(rows: Iterable[tuple[Any, ...]], tags: dict[str, str], elapsed: float) -> dict[str, Any]:
    """The aggregate values of one metric's rows (as ``Store.points`` returns them) restricted to the
    series carrying ``tags``: ``count``, ``rate``, ``value``, ``avg``, ``min``, ``max`` and the
    histogram for percentiles, as k6 computes them for the metric's type."""
    mtype = None
    total = passes = 0.0
    gauge_t = gauge_v = None
    lo = hi = None
    hist = Histogram()
    for _metric, ty, labels, t, value, count, sm, mn, mx, buckets, res in rows:
        if tags and any(labels.get(k) != v for k, v in tags.items()):
            continue
        mtype = ty
        if ty == "counter":
            total += value
        elif ty == "rate":
            passes += value
            total += count
        elif ty == "gauge":
            if gauge_t is None or t >= gauge_t:
                gauge_t, gauge_v = t, value
            lo = mn if lo is None else min(lo, mn)
            hi = mx if hi is None else max(hi, mx)
        elif ty == "trend":
            hist.merge(buckets or {}, count, sm, mn, mx, res)
    out: dict[str, Any] = {"type": mtype}
    if mtype == "counter":
        out.update(count=total, rate=total / elapsed if elapsed > 0 else None)
    elif mtype == "rate":
        out.update(rate=passes / total if total else None, count=total)
    elif mtype == "gauge":
        out.update(value=gauge_v, min=lo, max=hi)
    elif mtype == "trend":
        out.update(
            count=hist.count,
            avg=hist.avg,
            min=hist.min if hist.count else None,
            max=hist.max if hist.count else None,
            hist=hist,
        )
    return out


def _value(th: Threshold, agg: dict[str, Any]) -> float | None:
    if th.aggregation == "p":
        h = agg.get("hist")
        return h.quantile((th.percentile or 0) / 100.0) if h is not None else None
    if th.aggregation == "med":
        h = agg.get("hist")
        return h.quantile(0.5) if h is not None else None
    v = agg.get(th.aggregation)
    return float(v) if isinstance(v, (int, float)) else None


def evaluate(store: Store, run: dict[str, Any], now: float) -> tuple[dict[str, Any], list[Threshold]]:
    """(verdict, thresholds) of a run on its merged data. The verdict is ``{"evaluated_at", "passed",
    "thresholds": [{metric, threshold, ok, value, abort_on_fail}], "failed": ["metric: expr", …],
    "results": {metric: {expr: failed}}}`` (``results`` as k6's finish call reports them)."""
    try:
        parsed = parse_thresholds(run["thresholds"] or {})
    except ThresholdError as exc:
        return {"evaluated_at": now, "passed": None, "error": str(exc), "thresholds": [], "failed": []}, []
    names = sorted({parse_selector(th.metric)[0] for th in parsed})
    rows = store.points(run["id"], tuple(names)) if names else []
    by_metric: dict[str, list[tuple[Any, ...]]] = {}
    for r in rows:
        by_metric.setdefault(r[0], []).append(r)
    first, last = run.get("first_data_at"), run.get("last_data_at")
    elapsed = (last - first + (run.get("period") or 1)) if first is not None and last is not None else 0.0
    cache: dict[str, dict[str, Any]] = {}
    out_rows: list[dict[str, Any]] = []
    failed: list[str] = []
    results: dict[str, dict[str, bool]] = {}
    for th in parsed:
        agg = cache.get(th.metric)
        if agg is None:
            name, tags = parse_selector(th.metric)
            agg = cache[th.metric] = aggregates(by_metric.get(name, []), tags, elapsed)
        value = _value(th, agg)
        ok = th.passes(value)
        out_rows.append(
            {"metric": th.metric, "threshold": th.source, "ok": ok, "value": value, "abort_on_fail": th.abort_on_fail}
        )
        results.setdefault(th.metric, {})[th.source] = not ok
        if not ok:
            failed.append(f"{th.metric}: {th.source}")
    verdict = {"evaluated_at": now, "passed": not failed, "thresholds": out_rows, "failed": failed, "results": results}
    return verdict, parsed


def judge(store: Store, run: dict[str, Any], now: float | None = None, *, final: bool = False) -> dict[str, Any]:
    """Evaluate the run's thresholds on merged data and store the verdict; unless ``final``, a failed
    ``abortOnFail`` threshold past its delay stops the run (when Insights processes its thresholds)."""
    now = time.time() if now is None else now
    verdict, parsed = evaluate(store, run, now)
    store.set_verdict(run["id"], verdict)
    if final or not run.get("process_thresholds") or run.get("stopped_at") is not None:
        return verdict
    started = run.get("first_data_at") or run["created_at"]
    for th, row in zip(parsed, verdict["thresholds"]):
        if row["ok"] or not th.abort_on_fail or now - started < th.delay_abort_eval:
            continue
        value = row["value"]
        reason = f"threshold '{th.source}' on {th.metric} crossed (value {value:g})"
        if store.stop_run(
            run["id"],
            run_status=ABORTED_BY_THRESHOLD,
            result_status=1,
            reason=reason,
            threshold_results=verdict["results"],
            now=now,
        ):
            log.info("run %s stopped: %s", run["id"], reason)
        break
    return verdict


class VerdictJudge:
    """Re-evaluates the thresholds of running runs (called by the Reaper about every second): a run
    is judged again once new data arrived, and no more often than five times the last evaluation
    took, so a large run cannot keep the service busy evaluating."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._next: dict[int, float] = {}
        self._seen: dict[int, float] = {}

    def tick(self, now: float | None = None) -> None:
        """Judge every running run due for it."""
        now = time.time() if now is None else now
        due = self.store.runs_to_judge()
        for rid in due:
            if self._next.get(rid, 0.0) > now:
                continue
            run = self.store.get_run_by_id(rid)
            if run is None or self._seen.get(rid) == run["last_seen_at"]:
                continue
            began = time.monotonic()
            judge(self.store, run, now)
            took = time.monotonic() - began
            self._seen[rid] = run["last_seen_at"]
            self._next[rid] = now + max(0.0, 5 * took)
        for rid in list(self._next):
            if rid not in due:
                self._next.pop(rid, None)
                self._seen.pop(rid, None)
