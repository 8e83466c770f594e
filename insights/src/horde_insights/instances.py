"""Runs of N instances: instance finish, stop, progress, k6-operator's events, the creator's finish,
and the per-instance view of a run.

An instance is named by the ``instance_id`` tag of the series it pushes (k6-operator starts runner
I with ``--tag instance_id=I``, horde ``--instance I/N`` does the same); series without the tag
belong to instance ``"1"``. Lifecycle: Created → Running at the first data → Finished when all
``instances`` have reported their end (``POST /v1/tests/{ref}/instances/{id}/finish``) or when the
creator finishes the run (``POST /v1/tests/{ref}``: k6-operator, ``horde-insights run finish``);
Timed out when an instance stays silent for the timeout (see the Reaper); stopped (Finished,
aborted by user, or Aborted by threshold) by ``POST /api/v1/runs/{id}/stop`` or an ``abortOnFail``
threshold on the merged data. Every function takes ``(store, project_id, run, …)`` and returns the
reply body; bad input raises :class:`ApiError`.
"""

from __future__ import annotations

import json
import logging
import time
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from .http import ApiError
from .states import FINAL_STATUSES, STATUS_LABELS
from .store import Store
from .store.base import DEFAULT_INSTANCE, INSTANCE_ID_TAG
from .verdict import aggregates, judge

__all__ = [
    "STOPPED_CODE",
    "refuse_if_stopped",
    "finish_instance",
    "finish_run",
    "stop_run",
    "test_progress",
    "operator_events",
    "run_view",
    "instance_of",
]

log = logging.getLogger("horde_insights")

STOPPED_CODE = 4
"""k6 cloud's error code, with HTTP 403, for "this test run takes no more data": k6's cloud output
stops sending for good (and aborts the test with ``K6_CLOUD_STOP_ON_ERROR=true``)."""

ABORTED_BY_USER = 5
_FINISHED = 3


def _json(body: bytes, what: str) -> dict[str, Any]:
    try:
        data = json.loads(body.decode("utf-8") or "{}")
    except (UnicodeDecodeError, ValueError) as exc:
        raise ApiError(400, f"{what}: body is not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise ApiError(400, f"{what}: body must be a JSON object")
    return data


def _statuses(data: Mapping[str, Any], what: str) -> tuple[int, int]:
    status = data.get("run_status", _FINISHED)
    if isinstance(status, bool) or not isinstance(status, int) or status not in FINAL_STATUSES or status == 4:
        raise ApiError(400, f"{what}: run_status must be one of 3, 5, 6, 7, 8, 9, got {json.dumps(status)[:40]}")
    result = data.get("result_status", 0)
    if isinstance(result, bool) or result not in (0, 1):
        raise ApiError(400, f"{what}: result_status must be 0 (passed) or 1 (failed), got {json.dumps(result)[:40]}")
    return status, result


def instance_of(labels: Mapping[str, str]) -> str:
    """The instance a series belongs to."""
    return labels.get(INSTANCE_ID_TAG, DEFAULT_INSTANCE)


def refuse_if_stopped(run: dict[str, Any]) -> None:
    """Raise k6's stopped-run error (403, code 4) for a push into a stopped run."""
    if run.get("stopped_at") is not None:
        reason = run.get("abort_reason") or "stopped"
        raise ApiError(403, f"test run {run['id']} was stopped ({reason}); it takes no more data", code=STOPPED_CODE)


def _close_if_all_finished(store: Store, run: dict[str, Any], now: float) -> None:
    """Finish the run when every expected instance has reported its end."""
    insts = store.instances(run["id"])
    done = [i for i in insts if i["finished_at"] is not None]
    if len(done) < max(1, int(run["instances"])) or run["ended_at"] is not None:
        return
    statuses = [i["run_status"] for i in done]
    worst = next((s for s in statuses if s not in (_FINISHED, ABORTED_BY_USER)), None)
    status = worst if worst is not None else (ABORTED_BY_USER if ABORTED_BY_USER in statuses else _FINISHED)
    if run["run_status"] == 4:
        status = 4  # an instance timed out: the run stays Timed out, naming it
    if run["process_thresholds"] and run["thresholds"]:
        verdict = judge(store, store.get_run_by_id(run["id"]) or run, now, final=True)
        result = 1 if verdict.get("passed") is False else 0
        results = verdict.get("results") or {}
    else:
        result = 1 if any(i["result_status"] == 1 for i in done) else 0
        results = {}
    store.finish_run(run["id"], run_status=status, result_status=result, thresholds=results, now=now)
    log.info("run %s finished: all %d instances reported their end", run["id"], len(done))


def finish_instance(
    store: Store, project_id: int, run: dict[str, Any], instance_id: str, body: bytes
) -> dict[str, Any]:
    """``POST /v1/tests/{ref}/instances/{instance_id}/finish`` ``{"run_status", "result_status"}``:
    one instance's end; the run finishes when all its instances have finished."""
    if not instance_id or len(instance_id) > 200:
        raise ApiError(400, "instance finish: the instance id must have 1 to 200 characters")
    status, result = _statuses(_json(body, "instance finish"), "instance finish")
    now = time.time()
    first = store.finish_instance(run["id"], instance_id, run_status=status, result_status=result, now=now)
    _close_if_all_finished(store, store.get_run_by_id(run["id"]) or run, now)
    return {"instance_id": instance_id, "recorded": first}


def finish_run(store: Store, project_id: int, run: dict[str, Any], body: bytes) -> dict[str, Any]:
    """``POST /v1/tests/{ref}``: the finish call of k6 (one instance) or of the run's creator
    (k6-operator, ``horde-insights run finish``) for a run of several instances. A stopped run keeps
    its stop status; a run of several instances that timed out stays Timed out (its end is recorded);
    when Insights processes the thresholds, the result is its own verdict on the merged data. A
    stopped single-instance run whose thresholds k6 judges takes k6's result and keeps its stop status."""
    data = _json(body, "finish run")
    status, result = _statuses(data, "finish run")
    thresholds = data.get("thresholds") or {}
    if not isinstance(thresholds, dict) or not all(isinstance(v, dict) for v in thresholds.values()):
        raise ApiError(400, "finish run: thresholds must map metric names to {expression: failed} objects")
    now = time.time()
    judged = bool(run["process_thresholds"] and run["thresholds"])
    if run["stopped_at"] is not None:
        if not judged and run["instances"] == 1:  # k6's own verdict, the stop status kept
            store.finish_run(
                run["id"], run_status=run["run_status"], result_status=result, thresholds=thresholds, now=now
            )
        return {}
    if run["instances"] > 1 and run["run_status"] == 4:
        status = 4
    if judged:
        verdict = judge(store, run, now, final=True)
        if verdict.get("passed") is not None:
            result = 0 if verdict["passed"] else 1
            thresholds = verdict["results"]
    store.finish_run(run["id"], run_status=status, result_status=result, thresholds=thresholds, now=now)
    return {}


def stop_run(store: Store, project_id: int, run: dict[str, Any], body: bytes) -> dict[str, Any]:
    """``POST /api/v1/runs/{id}/stop`` (the run page's Stop button, ``horde-insights run stop``) and
    k6 cloud's ``POST /v1/tests/{ref}/stop``: the run is stopped, Finished as aborted by user;
    pushes then get k6's stopped-run error and horde instances stop. 409 when the run had ended."""
    if run["stopped_at"] is not None:
        return {"stopped": True, "abort_reason": run["abort_reason"]}
    if run["ended_at"] is not None:
        raise ApiError(409, f"test run {run['id']} has already ended ({STATUS_LABELS.get(run['run_status'])})")
    now = time.time()
    result, results = 0, None
    if run["thresholds"] and (run["process_thresholds"] or run["instances"] > 1):
        verdict = judge(store, run, now, final=True)
        result = 1 if verdict.get("passed") is False else 0
        results = verdict.get("results")
    reason = "stopped by user"
    if not store.stop_run(
        run["id"], run_status=ABORTED_BY_USER, result_status=result, reason=reason, threshold_results=results, now=now
    ):
        latest = store.get_run_by_id(run["id"]) or run
        return {"stopped": latest["stopped_at"] is not None, "abort_reason": latest["abort_reason"]}
    log.info("run %s stopped by user", run["id"])
    return {"stopped": True, "abort_reason": reason}


def test_progress(store: Store, project_id: int, run: dict[str, Any], params: Mapping[str, str]) -> dict[str, Any]:
    """``GET /v1/test-progress/{ref}``: k6 cloud's progress reply plus ``instances``,
    ``instances_finished``, ``stopped`` and ``abort_reason`` (out-cloud polls it to learn a stop)."""
    now = time.time()
    ended = run["ended_at"] or run["timed_out_at"]
    if ended is not None:
        progress = 1.0
    elif run["duration"] and run["first_data_at"]:
        progress = max(0.0, min(1.0, (now - run["first_data_at"]) / run["duration"]))
    else:
        progress = 0.0
    insts = store.instances(run["id"])
    return {
        "progress": progress,
        "run_status": run["run_status"],
        "run_status_text": STATUS_LABELS.get(run["run_status"], "unknown"),
        "result_status": run["result_status"] if run["result_status"] is not None else 0,
        "instances": run["instances"],
        "instances_finished": [i["instance_id"] for i in insts if i["finished_at"] is not None],
        "stopped": run["stopped_at"] is not None,
        "abort_reason": run["abort_reason"],
    }


def operator_events(store: Store, project_id: int, run: dict[str, Any], body: bytes) -> dict[str, Any]:
    """``POST /orchestrator/v1/testruns/{ref}/events``: k6-operator reports errors (setup failed,
    runner failed, …) as a list of ``{"event_type", "event": {"error_code", "error_detail", "reason",
    "origin"}}``; an abort event stops the run, Aborted by system, with the error as its reason."""
    try:
        events = json.loads(body.decode("utf-8") or "[]")
    except (UnicodeDecodeError, ValueError) as exc:
        raise ApiError(400, f"test run events: body is not valid JSON ({exc})") from None
    if not isinstance(events, list) or not all(isinstance(e, dict) for e in events):
        raise ApiError(400, "test run events: body must be a JSON list of event objects")
    details = []
    abort = False
    for e in events:
        kind = e.get("event_type")
        ev = e.get("event") if isinstance(e.get("event"), dict) else {}
        if kind == "TestRunAbortEvent":
            abort = True
            if ev.get("reason"):
                details.append(str(ev["reason"])[:300])
        elif kind == "TestRunErrorEvent":
            code = ev.get("error_code")
            detail = ev.get("error_detail") or ev.get("error_detail_public") or ""
            details.append(f"error {code}" + (f": {str(detail)[:300]}" if detail else ""))
    if details:
        log.info("run %s: k6-operator reported %s", run["id"], "; ".join(details))
    stopped = False
    if abort:
        reason = "aborted by k6-operator" + (f" ({'; '.join(details)})" if details else "")
        stopped = store.stop_run(
            run["id"], run_status=6, result_status=1, reason=reason, threshold_results=None, now=time.time()
        )
    return {"received": len(events), "stopped": stopped}


def _entries(rows: list[tuple[Any, ...]], elapsed: float) -> list[dict[str, Any]]:
    """Per-metric totals of rows, in the shape of the run's ``metrics`` list."""
    by_metric: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    for r in rows:
        by_metric[r[0]].append(r)
    out = []
    for name in sorted(by_metric):
        agg = aggregates(by_metric[name], {}, elapsed)
        entry: dict[str, Any] = {"metric": name, "type": agg["type"]}
        if agg["type"] == "counter":
            entry["count"] = agg["count"]
        elif agg["type"] == "rate":
            total = agg["count"]
            entry.update(passes=(agg["rate"] or 0) * total, total=total, rate=agg["rate"])
        elif agg["type"] == "gauge":
            entry.update(value=agg["value"], min=agg["min"], max=agg["max"])
        elif agg["type"] == "trend":
            h = agg["hist"]
            entry.update(
                count=h.count,
                avg=h.avg,
                min=agg["min"],
                max=agg["max"],
                med=h.quantile(0.5),
                p90=h.quantile(0.9),
                p95=h.quantile(0.95),
                p99=h.quantile(0.99),
            )
        out.append(entry)
    return out


def _state(inst: dict[str, Any]) -> str:
    if inst["finished_at"] is not None:
        return "finished"
    if inst["timed_out_at"] is not None:
        return "timed_out"
    return "running"


def run_view(store: Store, run: dict[str, Any], rows: list[tuple[Any, ...]]) -> dict[str, Any]:
    """What ``GET /api/v1/runs/{id}`` adds for runs of instances: ``expected_instances``, ``instances``
    (``{instance_id, state, last_seen_at, finished_at, metrics}`` each), ``timed_out_instances``,
    ``verdict``, ``stopped`` and ``abort_reason``. ``rows`` are the run's points (``Store.points``)."""
    insts = store.instances(run["id"])
    per: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    for r in rows:
        per[instance_of(r[2])].append(r)
    period = run["period"] or 1
    views = []
    for inst in insts:
        mine = per.get(inst["instance_id"], [])
        times = [r[3] for r in mine]
        elapsed = (max(times) - min(times) + period) if times else 0.0
        views.append(
            {
                "instance_id": inst["instance_id"],
                "state": _state(inst),
                "first_seen_at": inst["first_seen_at"],
                "last_seen_at": inst["last_seen_at"],
                "finished_at": inst["finished_at"],
                "timed_out_at": inst["timed_out_at"],
                "run_status": inst["run_status"],
                "metrics": _entries(mine, elapsed),
            }
        )
    verdict = run.get("verdict")
    if verdict is not None:
        verdict = {k: v for k, v in verdict.items() if k != "results"}
    return {
        "expected_instances": run["instances"],
        "instances": views,
        "timed_out_instances": [i["instance_id"] for i in insts if i["timed_out_at"] is not None],
        "process_thresholds": run["process_thresholds"],
        "verdict": verdict,
        "stopped": run["stopped_at"] is not None,
        "stopped_at": run["stopped_at"],
        "abort_reason": run["abort_reason"],
    }
