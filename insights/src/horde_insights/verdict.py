"""Central thresholds: a run's thresholds evaluated on the merged data of all its instances.

Counters are summed, rates merged (passes over total), trends merged from their histograms (a
percentile over the union of every instance's requests, within the histogram's bucket width),
gauges read at their latest value. :func:`judge` stores the verdict in the run; a failed
``abortOnFail`` threshold (past its ``delayAbortEval``) stops the run, Aborted by threshold.

Live evaluation is incremental: :class:`VerdictJudge` keeps one :class:`RunTally` per running run
(built once from the store, then fed by every stored push), so judging a long run every second
costs a few quantiles, not a re-read of its samples.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from typing import Any

from .histogram import Histogram
from .store import Store
from .thresholds import Threshold, ThresholdError, parse_selector, parse_thresholds
from .wire.metricset import MetricSet

__all__ = ["judge", "evaluate", "aggregates", "Aggregate", "RunTally", "VerdictJudge"]

log = logging.getLogger("horde_insights")

ABORTED_BY_THRESHOLD = 8
"""k6's run status of a run stopped by an ``abortOnFail`` threshold."""


class Aggregate:
    """The running aggregate of one metric (or submetric) over any number of series and instances."""

    __slots__ = ("mtype", "total", "passes", "gauge_t", "gauge_v", "lo", "hi", "hist")

    def __init__(self) -> None:
        self.mtype: str | None = None
        self.total = 0.0
        self.passes = 0.0
        self.gauge_t: float | None = None
        self.gauge_v: float | None = None
        self.lo: float | None = None
        self.hi: float | None = None
        self.hist = Histogram()

    def add(
        self,
        mtype: str,
        t: float,
        value: float,
        count: int,
        total: float,
        lo: float,
        hi: float,
        buckets: dict[int, int] | None,
        resolution: float,
    ) -> None:
        """Add one stored value (a point of a series; the fields as ``Store.points`` returns them)."""
        self.mtype = mtype
        if mtype == "counter":
            self.total += value
        elif mtype == "rate":
            self.passes += value
            self.total += count
        elif mtype == "gauge":
            if self.gauge_t is None or t >= self.gauge_t:
                self.gauge_t, self.gauge_v = t, value
            self.lo = lo if self.lo is None else min(self.lo, lo)
            self.hi = hi if self.hi is None else max(self.hi, hi)
        elif mtype == "trend":
            self.hist.merge(buckets or {}, count, total, lo, hi, resolution)

    def values(self, elapsed: float) -> dict[str, Any]:
        """``count``, ``rate``, ``value``, ``avg``, ``min``, ``max`` and the histogram (``hist``), as
        k6 computes them for the metric's type; ``elapsed`` seconds give a counter's rate."""
        out: dict[str, Any] = {"type": self.mtype}
        h = self.hist
        if self.mtype == "counter":
            out.update(count=self.total, rate=self.total / elapsed if elapsed > 0 else None)
        elif self.mtype == "rate":
            out.update(rate=self.passes / self.total if self.total else None, count=self.total)
        elif self.mtype == "gauge":
            out.update(value=self.gauge_v, min=self.lo, max=self.hi)
        elif self.mtype == "trend":
            out.update(
                count=h.count,
                avg=h.avg,
                min=h.min if h.count else None,
                max=h.max if h.count else None,
                hist=h,
            )
        return out


def _matches(labels: dict[str, str], tags: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in tags.items())


def aggregates(rows: Iterable[tuple[Any, ...]], tags: dict[str, str], elapsed: float) -> dict[str, Any]:
    """The aggregate values (:meth:`Aggregate.values`) of one metric's rows (as ``Store.points``
    returns them) restricted to the series carrying ``tags``."""
    agg = Aggregate()
    for _metric, ty, labels, t, value, count, sm, mn, mx, buckets, res in rows:
        if not tags or _matches(labels, tags):
            agg.add(ty, t, value, count, sm, mn, mx, buckets, res)
    return agg.values(elapsed)


class RunTally:
    """The aggregates of every metric and submetric a run's thresholds name."""

    def __init__(self, thresholds: list[Threshold]) -> None:
        self.thresholds = thresholds
        self.aggs: dict[str, Aggregate] = {}
        self._by_name: dict[str, list[tuple[str, dict[str, str]]]] = {}
        for th in thresholds:
            if th.metric not in self.aggs:
                name, tags = parse_selector(th.metric)
                self.aggs[th.metric] = Aggregate()
                self._by_name.setdefault(name, []).append((th.metric, tags))

    @property
    def metric_names(self) -> tuple[str, ...]:
        return tuple(sorted(self._by_name))

    def add_rows(self, rows: Iterable[tuple[Any, ...]]) -> None:
        """Add stored rows (``Store.points``)."""
        for name, ty, labels, t, value, count, sm, mn, mx, buckets, res in rows:
            for key, tags in self._by_name.get(name, ()):
                if _matches(labels, tags):
                    self.aggs[key].add(ty, t, value, count, sm, mn, mx, buckets, res)

    def add_push(self, ms: MetricSet) -> None:
        """Add a push that was just stored (only the series of metrics the thresholds name)."""
        for name, mtype, series in ms.metrics:
            selectors = self._by_name.get(name)
            if not selectors:
                continue
            for s in series:
                for key, tags in selectors:
                    if _matches(s.labels, tags):
                        agg = self.aggs[key]
                        for p in s.points:
                            agg.add(mtype, p.time, p.value, p.count, p.sum, p.min, p.max, p.hist, p.resolution)


def _value(th: Threshold, agg: dict[str, Any]) -> float | None:
    if th.aggregation in ("p", "med"):
        h = agg.get("hist")
        q = 0.5 if th.aggregation == "med" else (th.percentile or 0) / 100.0
        return h.quantile(q) if h is not None else None
    v = agg.get(th.aggregation)
    return float(v) if isinstance(v, (int, float)) else None


def _tally_from_store(store: Store, run: dict[str, Any]) -> RunTally | str:
    """The run's tally built from its stored samples, or the message of a threshold that does not parse."""
    try:
        tally = RunTally(parse_thresholds(run["thresholds"] or {}))
    except ThresholdError as exc:
        return str(exc)
    if tally.metric_names:
        tally.add_rows(store.points(run["id"], tally.metric_names))
    return tally


def evaluate(store: Store, run: dict[str, Any], now: float, tally: RunTally | None = None) -> dict[str, Any]:
    """The verdict of a run on its merged data (read from the store unless a live ``tally`` is
    given): ``{"evaluated_at", "passed", "thresholds": [{metric, threshold, ok, value,
    abort_on_fail}], "failed": ["metric: expr", …], "results": {metric: {expr: failed}}}``
    (``results`` as k6's finish call reports them)."""
    built = tally if tally is not None else _tally_from_store(store, run)
    if isinstance(built, str):
        return {"evaluated_at": now, "passed": None, "error": built, "thresholds": [], "failed": []}
    first, last = run.get("first_data_at"), run.get("last_data_at")
    elapsed = (last - first + (run.get("period") or 1)) if first is not None and last is not None else 0.0
    values = {key: agg.values(elapsed) for key, agg in built.aggs.items()}
    rows: list[dict[str, Any]] = []
    failed: list[str] = []
    results: dict[str, dict[str, bool]] = {}
    for th in built.thresholds:
        value = _value(th, values[th.metric])
        ok = th.passes(value)
        rows.append(
            {"metric": th.metric, "threshold": th.source, "ok": ok, "value": value, "abort_on_fail": th.abort_on_fail}
        )
        results.setdefault(th.metric, {})[th.source] = not ok
        if not ok:
            failed.append(f"{th.metric}: {th.source}")
    return {"evaluated_at": now, "passed": not failed, "thresholds": rows, "failed": failed, "results": results}


def judge(
    store: Store,
    run: dict[str, Any],
    now: float | None = None,
    *,
    final: bool = False,
    tally: RunTally | None = None,
) -> dict[str, Any]:
    """Evaluate the run's thresholds on merged data and store the verdict. In a live judgement (a
    ``tally`` given, not ``final``), a failed ``abortOnFail`` threshold past its delay stops the run
    when Insights processes its thresholds."""
    now = time.time() if now is None else now
    verdict = evaluate(store, run, now, tally)
    store.set_verdict(run["id"], verdict)
    if final or tally is None or not run.get("process_thresholds") or run.get("stopped_at") is not None:
        return verdict  # only a live judgement (from a tally) stops a run
    started = run.get("first_data_at") or run["created_at"]
    for th, row in zip(tally.thresholds, verdict["thresholds"]):
        if row["ok"] or not th.abort_on_fail or now - started < th.delay_abort_eval:
            continue
        reason = f"threshold '{th.source}' on {th.metric} crossed (value {row['value']:g})"
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
    """Re-evaluates the thresholds of running runs (the Reaper calls :meth:`tick` about every second):
    a run is judged again once new data arrived, from its live tally. The push path calls
    :meth:`observe` for every stored push while it still holds the store (see ``Store.ingest``), so a
    tally built from the store under the same lock counts every push exactly once."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._tallies: dict[int, RunTally] = {}
        self._seen: dict[int, float] = {}

    def observe(self, run_id: int, ms: MetricSet) -> None:
        """A push of ``run_id`` was stored (called with the store held)."""
        tally = self._tallies.get(run_id)
        if tally is not None:
            try:
                tally.add_push(ms)
            except Exception:  # never fail a stored push; the tally is rebuilt from the store
                log.exception("live thresholds of run %s: tally dropped", run_id)
                self._tallies.pop(run_id, None)
                self._seen.pop(run_id, None)

    def tick(self, now: float | None = None) -> None:
        """Judge every running run that received data since its last judgement."""
        now = time.time() if now is None else now
        due = self.store.runs_to_judge()
        for rid in due:
            run = self.store.get_run_by_id(rid)
            if run is None or self._seen.get(rid) == run["last_seen_at"]:
                continue
            with self.store.exclusive():
                tally = self._tallies.get(rid)
                if tally is None:
                    built = _tally_from_store(self.store, run)
                    if isinstance(built, str):
                        self._seen[rid] = run["last_seen_at"]
                        continue
                    tally = self._tallies[rid] = built
                judge(self.store, run, now, tally=tally)
            self._seen[rid] = run["last_seen_at"]
        for rid in list(self._tallies):
            if rid not in due:
                self._tallies.pop(rid, None)
                self._seen.pop(rid, None)
