"""Store operations of multi-instance runs (issue 17): instances, stop, verdict and setup data.

A mixin of :class:`~horde_insights.store.base.Store`, kept apart so that the base class stays about
samples. Instance rows are written by the push itself (see ``Store.ingest``); every method here is
one transaction.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

__all__ = ["MultiRunStore"]

_INSTANCE_COLUMNS = "instance_id, first_seen_at, last_seen_at, finished_at, run_status, result_status, timed_out_at"


class MultiRunStore:
    """Instances, stop, verdict and setup data of runs (mixed into ``Store``)."""

    # provided by Store
    def _tx(self) -> contextlib.AbstractContextManager[None]:  # pragma: no cover - overridden
        raise NotImplementedError

    def _x(self, sql: str, args: tuple[Any, ...] = ()) -> Any:  # pragma: no cover - overridden
        raise NotImplementedError

    _lock: Any

    def instances(self, run_id: int) -> list[dict[str, Any]]:
        """The run's instances seen so far (pushed or finished), ordered by id (numerically when numeric)."""
        with self._lock:
            rows = self._x(f"SELECT {_INSTANCE_COLUMNS} FROM instances WHERE run_id = ?", (run_id,)).fetchall()
        keys = [k.strip() for k in _INSTANCE_COLUMNS.split(",")]
        out = [dict(zip(keys, r)) for r in rows]
        out.sort(
            key=lambda i: (0, int(i["instance_id"]), "") if i["instance_id"].isdigit() else (1, 0, i["instance_id"])
        )
        return out

    def finish_instance(
        self, run_id: int, instance_id: str, *, run_status: int, result_status: int, now: float
    ) -> bool:
        """Record an instance's end (the first report counts); False when it had already finished."""
        with self._tx():
            cur = self._x(
                "INSERT INTO instances (run_id, instance_id, first_seen_at, last_seen_at, finished_at, run_status, "
                "result_status) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (run_id, instance_id) DO UPDATE SET "
                "finished_at = excluded.finished_at, run_status = excluded.run_status, "
                "result_status = excluded.result_status, last_seen_at = excluded.last_seen_at "
                "WHERE instances.finished_at IS NULL",
                (run_id, instance_id, now, now, now, run_status, result_status),
            )
            self._x("UPDATE runs SET last_seen_at = ? WHERE id = ?", (now, run_id))
            return bool(cur.rowcount)

    def stop_run(
        self,
        run_id: int,
        *,
        run_status: int,
        result_status: int | None,
        reason: str,
        threshold_results: dict[str, Any] | None,
        now: float,
    ) -> bool:
        """Mark a run stopped and ended with ``run_status`` (5 by user, 8 by threshold, 6 by system);
        False when it was already stopped or had ended (then nothing changes)."""
        with self._tx():
            cur = self._x(
                "UPDATE runs SET stopped_at = ?, abort_reason = ?, run_status = ?, result_status = ?, "
                "threshold_results = COALESCE(?, threshold_results), ended_at = ?, last_seen_at = ? "
                "WHERE id = ? AND stopped_at IS NULL AND ended_at IS NULL",
                (
                    now,
                    reason,
                    run_status,
                    result_status,
                    None if threshold_results is None else json.dumps(threshold_results),
                    now,
                    now,
                    run_id,
                ),
            )
            return bool(cur.rowcount)

    def time_out_instances(self, cutoff: float, now: float, timeout: float) -> list[tuple[int, list[str]]]:
        """Mark unfinished instances of running multi-instance runs silent since before ``cutoff`` as timed
        out, and their runs Timed out (4); return (run id, [instance ids]) of each run timed out now."""
        with self._tx():
            rows = self._x(
                "SELECT i.run_id, i.instance_id FROM instances i JOIN runs r ON r.id = i.run_id "
                "WHERE r.run_status = 2 AND r.instances > 1 AND r.stopped_at IS NULL "
                "AND i.finished_at IS NULL AND i.timed_out_at IS NULL AND i.last_seen_at < ?",
                (cutoff,),
            ).fetchall()
            by_run: dict[int, list[str]] = {}
            for run_id, instance_id in rows:
                by_run.setdefault(int(run_id), []).append(instance_id)
            for run_id, ids in by_run.items():
                for instance_id in ids:
                    self._x(
                        "UPDATE instances SET timed_out_at = ? WHERE run_id = ? AND instance_id = ?",
                        (now, run_id, instance_id),
                    )
                names = ", ".join(ids)
                reason = f"instance{'s' if len(ids) > 1 else ''} {names} silent for more than {timeout:g} s"
                self._x(
                    "UPDATE runs SET run_status = 4, timed_out_at = ?, abort_reason = ? WHERE id = ?",
                    (now, reason, run_id),
                )
        return sorted(by_run.items())

    def runs_to_judge(self) -> list[int]:
        """Ids of running runs whose thresholds Insights evaluates (``process_thresholds`` or several
        instances), not stopped."""
        with self._lock:
            rows = self._x(
                "SELECT id FROM runs WHERE run_status = 2 AND stopped_at IS NULL AND thresholds <> '{}' "
                "AND (process_thresholds = 1 OR instances > 1)"
            ).fetchall()
        return [int(r[0]) for r in rows]

    def set_verdict(self, run_id: int, verdict: dict[str, Any]) -> None:
        """Store the latest evaluation of the run's thresholds."""
        with self._tx():
            self._x("UPDATE runs SET verdict = ? WHERE id = ?", (json.dumps(verdict), run_id))

    def put_setup(self, run_id: int, published: dict[str, Any]) -> bool:
        """Publish the run's setup result (``{"data": …}`` or ``{"error": …}``) once; False when it
        was already published."""
        with self._tx():
            cur = self._x("UPDATE runs SET setup = ? WHERE id = ? AND setup IS NULL", (json.dumps(published), run_id))
            return bool(cur.rowcount)

    def get_setup(self, run_id: int) -> dict[str, Any] | None:
        """The run's published setup result, or None."""
        with self._lock:
            row = self._x("SELECT setup FROM runs WHERE id = ?", (run_id,)).fetchone()
        return json.loads(row[0]) if row and row[0] else None
