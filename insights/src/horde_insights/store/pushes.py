"""Writing pushes: group commit of concurrent pushes, one transaction per group.

A mixin of :class:`~horde_insights.store.base.Store`. Pushes that arrive while
another group is being written queue up; the next thread to hold the write
lock writes every queued push (up to :data:`GROUP_MAX_POINTS` points) in one
transaction: one insert of their idempotency keys, one of their instances, one
bulk load of their points (``COPY`` on PostgreSQL), one update per run. Many
instances pushing at once thus cost the database a few statements and one commit
per group instead of per push. A group whose transaction fails is written again
push by push, so that only the culprit's push fails.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

from ..wire.metricset import MetricSet, labels_text

__all__ = ["PushStore", "GROUP_MAX_POINTS", "GROUP_MAX_PUSHES", "INSTANCE_ID_TAG", "DEFAULT_INSTANCE"]

GROUP_MAX_POINTS = 200_000
"""A group of pushes written in one transaction holds at most this many points (or one push)."""
GROUP_MAX_PUSHES = 256
"""… and at most this many pushes."""

INSTANCE_ID_TAG = "instance_id"
"""The series tag naming the instance that pushed it (k6-operator's ``--tag instance_id=I``)."""
DEFAULT_INSTANCE = "1"
"""The instance of series pushed without an ``instance_id`` tag."""

_COPY_POINTS = "COPY points (series_id, run_id, t, value, count, sum, min, max, hist, resolution) FROM STDIN"

log = logging.getLogger(__name__)

_SERIES_PER_STATEMENT = 1000
"""New series created by one ``INSERT`` (4 parameters each: within SQLite's 32,766)."""

_SERIES_CACHE_RUNS = 64
"""Runs whose series ids are remembered (the runs streaming now); the oldest is forgotten first."""


class _Push:
    """One push waiting to be written, and its outcome."""

    __slots__ = ("run_id", "key", "ms", "now", "on_stored", "points", "rows", "stored", "error", "done")

    def __init__(
        self,
        run_id: int,
        key: str | None,
        ms: MetricSet,
        now: float,
        on_stored: Callable[[int, MetricSet], None] | None,
    ) -> None:
        self.run_id = run_id
        self.key = key
        self.ms = ms
        self.now = now
        self.on_stored = on_stored
        self.points = sum(len(s.points) for _, _, series in ms.metrics for s in series)
        self.stored = False
        self.error: BaseException | None = None
        self.done = False
        self.rows: tuple[list[tuple[Any, ...]], set[str], dict[tuple[str, str], int]] | None = None
        """The push's rows and instances, made before it was queued, with the series ids they used."""


class PushStore:
    """Stores pushes of samples (mixed into ``Store``)."""

    # provided by Store
    _d: Any
    _conn: Any

    def _tx(self) -> contextlib.AbstractContextManager[None]:  # pragma: no cover - overridden
        raise NotImplementedError

    def _x(self, sql: str, args: tuple[Any, ...] = ()) -> Any:  # pragma: no cover - overridden
        raise NotImplementedError

    def _init_pushes(self) -> None:
        self._write_lock = threading.RLock()
        self._queue_lock = threading.Lock()
        self._queue: deque[_Push] = deque()
        self._cache_lock = threading.Lock()
        self._series_cache: dict[int, dict[tuple[str, str], int]] = {}

    def ingest(
        self,
        run_id: int,
        key: str | None,
        ms: MetricSet,
        now: float,
        on_stored: Callable[[int, MetricSet], None] | None = None,
    ) -> bool:
        """Store one push; False when its idempotency key was already seen for the run.
        ``on_stored(run_id, ms)`` is called after the commit of a stored push, the store still held
        (see :meth:`exclusive`), in the order the pushes were stored."""
        push = _Push(run_id, key, ms, now, on_stored)
        ids = self._series_cache.get(run_id)
        if ids is not None:  # rows made here, in parallel, leave the one writer only the database's work
            try:
                push.rows = (*self._rows(push, ids), ids)
            except KeyError:  # new series: the writer creates them
                pass
        with self._queue_lock:
            self._queue.append(push)
        with self._write_lock:
            while not push.done:  # earlier pushes first: a group is the head of the queue
                with self._queue_lock:
                    group: list[_Push] = []
                    points = 0
                    while self._queue and len(group) < GROUP_MAX_PUSHES:
                        if group and points + self._queue[0].points > GROUP_MAX_POINTS:
                            break
                        points += self._queue[0].points
                        group.append(self._queue.popleft())
                if not group:  # cannot happen: this push is queued until it is written
                    raise RuntimeError("push lost from the write queue")
                self._write_group(group)
                for done in group:
                    if done.stored and done.error is None and done.on_stored is not None:
                        try:
                            done.on_stored(done.run_id, done.ms)
                        except Exception:  # the push is stored: its observer's failure is only logged
                            log.exception("after storing a push of run %s", done.run_id)
        if push.error is not None:
            raise push.error
        return push.stored

    def exclusive(self) -> contextlib.AbstractContextManager[Any]:
        """Hold the store's writing: no push is stored (nor its ``on_stored`` called) meanwhile."""
        return self._write_lock

    def _forget_series(self, run_id: int) -> None:
        """Drop the run's remembered series ids (its series were deleted, or a write was rolled back)."""
        with self._cache_lock:
            self._series_cache.pop(run_id, None)

    def _write_group(self, group: list[_Push]) -> None:
        """Write ``group`` and mark its pushes done (each with ``stored`` or its ``error``)."""
        try:
            self._write(group)
        except Exception as exc:
            for push in group:
                self._forget_series(push.run_id)
            if len(group) == 1:
                group[0].error = exc
            else:  # find the culprit: each push alone
                for push in group:
                    self._write_group([push])
        except BaseException as exc:  # not the database's doing: every push of the group fails with it
            for push in group:
                self._forget_series(push.run_id)
                push.error = exc
                push.done = True
            raise
        for push in group:
            push.done = True

    def _write(self, group: list[_Push]) -> None:
        """Write ``group`` in one transaction, setting each push's ``stored``."""
        with self._tx():
            stored = self._new_pushes(group)
            runs: dict[int, list[_Push]] = {}
            for push in stored:
                runs.setdefault(push.run_id, []).append(push)
            rows: list[tuple[Any, ...]] = []
            spans: dict[int, tuple[float, float] | None] = {}
            for run_id, pushes in runs.items():
                start = len(rows)
                seen: dict[str, float] = {}
                for push in pushes:
                    push_rows, instances = self._point_rows(push)
                    rows.extend(push_rows)
                    seen.update(dict.fromkeys(instances, push.now))
                self._seen_instances(run_id, seen)
                times = [row[2] for row in rows[start:]]
                spans[run_id] = (min(times), max(times)) if times else None
            if rows:
                self._insert_points(rows)
            for run_id, pushes in runs.items():
                self._update_run(run_id, pushes, spans[run_id])
        kept = {id(push) for push in stored}
        for push in group:
            push.stored = id(push) in kept

    def _new_pushes(self, group: list[_Push]) -> list[_Push]:
        """The pushes of ``group`` not seen before (by idempotency key); duplicates are counted on their run."""
        keyed: dict[tuple[int, str], _Push] = {}
        fresh: list[_Push] = []
        duplicates: dict[int, tuple[int, float]] = {}
        for push in group:
            if push.key is None:
                fresh.append(push)
            elif (push.run_id, push.key) in keyed:  # the same push twice in one group
                n, _ = duplicates.get(push.run_id, (0, 0.0))
                duplicates[push.run_id] = (n + 1, push.now)
            else:
                keyed[(push.run_id, push.key)] = push
        if keyed:
            values = list(keyed.items())
            inserted = self._x(
                "INSERT INTO pushes (run_id, key, received_at) VALUES "
                + ",".join(["(?, ?, ?)"] * len(values))
                + " ON CONFLICT DO NOTHING RETURNING run_id, key",
                tuple(a for (run_id, key), push in values for a in (run_id, key, push.now)),
            ).fetchall()
            new = {(int(r), k) for r, k in inserted}
            for ident, push in values:
                if ident in new:
                    fresh.append(push)
                else:
                    n, _ = duplicates.get(push.run_id, (0, 0.0))
                    duplicates[push.run_id] = (n + 1, push.now)
        for run_id, (n, now) in duplicates.items():
            self._x("UPDATE runs SET duplicates = duplicates + ?, last_seen_at = ? WHERE id = ?", (n, now, run_id))
        order = {id(p): i for i, p in enumerate(group)}
        return sorted(fresh, key=lambda p: order[id(p)])

    def _point_rows(self, push: _Push) -> tuple[list[tuple[Any, ...]], set[str]]:
        """The ``points`` rows of one push (creating its new series) and the instances it names."""
        made = push.rows
        if made is not None and self._series_cache.get(push.run_id) is made[2]:  # its ids are still good
            return made[0], made[1]
        try:
            return self._rows(push, self._series_cache.get(push.run_id, {}))
        except KeyError:  # series new to this service: created (or looked up), then the rows again
            return self._rows(push, self._series_ids(push.run_id, push.ms))

    @staticmethod
    def _rows(push: _Push, ids: dict[tuple[str, str], int]) -> tuple[list[tuple[Any, ...]], set[str]]:
        """One pass over a push whose series all have ids in ``ids`` (KeyError otherwise)."""
        run_id = push.run_id
        rows = []
        instances = set()
        for name, _mtype, series in push.ms.metrics:
            for s in series:
                sid = ids[(name, s.text or labels_text(s.labels))]
                instances.add(s.labels.get(INSTANCE_ID_TAG, DEFAULT_INSTANCE))
                for p in s.points:
                    hist = _hist_text(p.hist) if p.hist is not None else None
                    rows.append((sid, run_id, p.time, p.value, p.count, p.sum, p.min, p.max, hist, p.resolution))
        return rows, instances

    def _insert_points(self, rows: list[tuple[Any, ...]]) -> None:
        if self._d.name == "sqlite":
            self._conn.executemany(
                "INSERT INTO points (series_id, run_id, t, value, count, sum, min, max, hist, resolution) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
        else:  # COPY: rows formatted in C by psycopg, one round trip (5x executemany's speed)
            with self._conn.cursor() as cur, cur.copy(_COPY_POINTS) as copy:
                for row in rows:
                    copy.write_row(row)

    def _update_run(self, run_id: int, pushes: list[_Push], span: tuple[float, float] | None) -> None:
        """Count the run's stored pushes and widen its data time range to ``span`` (first, last point
        time; its status becomes running)."""
        now = max(push.now for push in pushes)
        first, last = span if span is not None else (now, now)
        period = next((push.ms.aggregation_period for push in reversed(pushes) if push.ms.aggregation_period > 0), 0)
        self._x(
            "UPDATE runs SET last_seen_at = ?, pushes = pushes + ?, "
            "run_status = CASE WHEN run_status = -2 THEN 2 ELSE run_status END, "
            "period = CASE WHEN ? > 0 THEN ? ELSE period END, "
            "first_data_at = CASE WHEN first_data_at IS NULL OR first_data_at > ? THEN ? ELSE first_data_at END, "
            "last_data_at = CASE WHEN last_data_at IS NULL OR last_data_at < ? THEN ? ELSE last_data_at END "
            "WHERE id = ?",
            (now, len(pushes), period, period, first, first, last, last, run_id),
        )

    def _seen_instances(self, run_id: int, seen: dict[str, float]) -> None:
        """Record the instances (``instance_id`` series tag) pushes came from, each with when it was last
        heard of, inside their transaction."""
        if not seen:
            return
        sql = self._d.sql(
            "INSERT INTO instances (run_id, instance_id, first_seen_at, last_seen_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (run_id, instance_id) DO UPDATE SET last_seen_at = excluded.last_seen_at"
        )
        args = [(run_id, i[:200], now, now) for i, now in sorted(seen.items())]
        if self._d.name == "sqlite":
            self._conn.executemany(sql, args)
        else:
            with self._conn.cursor() as cur:
                cur.executemany(sql, args)

    def _series_ids(self, run_id: int, ms: MetricSet) -> dict[tuple[str, str], int]:
        """Ids of every series of a push, creating the new ones in bulk (inside the push's transaction)."""
        wanted = {(name, s.text or labels_text(s.labels)): mtype for name, mtype, series in ms.metrics for s in series}
        known = self._series_cache.get(run_id, {})
        missing = [k for k in wanted if k not in known]
        if not missing:
            return known
        # created with their ids returned: no lookup of what was just written (a lookup by labels in a
        # table that grew since the planner last counted it may scan it whole, push after push)
        ids: dict[tuple[str, str], int] = {}
        for i in range(0, len(missing), _SERIES_PER_STATEMENT):
            chunk = missing[i : i + _SERIES_PER_STATEMENT]
            rows = self._x(
                "INSERT INTO series (run_id, metric, type, labels) VALUES "
                + ",".join(["(?, ?, ?, ?)"] * len(chunk))
                + " ON CONFLICT DO NOTHING RETURNING id, metric, labels",
                tuple(a for name, text in chunk for a in (run_id, name, wanted[(name, text)], text)),
            ).fetchall()
            ids.update({(name, text): int(sid) for sid, name, text in rows})
        # the ones that existed already (the service restarted, or forgot the run): looked up by labels
        by_metric: dict[str, list[str]] = {}
        for name, text in missing:
            if (name, text) not in ids:
                by_metric.setdefault(name, []).append(text)
        for name, texts in by_metric.items():
            for i in range(0, len(texts), 500):
                some = texts[i : i + 500]
                rows = self._x(
                    "SELECT id, labels FROM series WHERE run_id = ? AND metric = ? AND labels IN ("
                    + ",".join("?" * len(some))
                    + ")",
                    (run_id, name, *some),
                ).fetchall()
                ids.update({(name, text): int(sid) for sid, text in rows})
        # a rolled-back write leaves ids of rows that do not exist: the run's cache is dropped on any error
        with self._cache_lock:
            cached = self._series_cache.pop(run_id, None) or {}
            cached.update(ids)
            self._series_cache[run_id] = cached
            while len(self._series_cache) > _SERIES_CACHE_RUNS:
                self._series_cache.pop(next(iter(self._series_cache)))
        return {**known, **ids}


def _hist_text(hist: dict[int, int]) -> str:
    """A trend histogram (bucket index → count) as JSON text, as ``json.dumps`` writes it, at half its cost."""
    return "{" + ",".join([f'"{k}":{n}' for k, n in hist.items()]) + "}"
