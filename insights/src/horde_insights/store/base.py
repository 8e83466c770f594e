"""The store: one SQL schema and its operations, shared by SQLite and PostgreSQL.

A run's samples are stored as they arrive, one row per (time series, time
bucket) value, never merged in place: a push is one transaction, and a push
whose idempotency key was seen before for the run is dropped whole.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from ..wire.metricset import MetricSet
from .multirun import MultiRunStore

__all__ = ["Store", "StoreError", "ACTIVE_STATUSES", "INSTANCE_ID_TAG", "DEFAULT_INSTANCE"]

ACTIVE_STATUSES = (-2, 2)
"""Run statuses that the no-data timeout can end (created, running)."""


class StoreError(Exception):
    """The database cannot be opened or used; the message names it."""


def _schema(id_col: str) -> list[str]:
    return [
        f"""CREATE TABLE IF NOT EXISTS projects (
            id {id_col}, name TEXT NOT NULL UNIQUE, created_at DOUBLE PRECISION NOT NULL)""",
        """CREATE TABLE IF NOT EXISTS tokens (
            hash TEXT PRIMARY KEY, project_id BIGINT NOT NULL REFERENCES projects(id),
            label TEXT NOT NULL, created_at DOUBLE PRECISION NOT NULL)""",
        f"""CREATE TABLE IF NOT EXISTS runs (
            id {id_col}, project_id BIGINT NOT NULL REFERENCES projects(id),
            name TEXT NOT NULL, create_key TEXT,
            created_at DOUBLE PRECISION NOT NULL, last_seen_at DOUBLE PRECISION NOT NULL,
            first_data_at DOUBLE PRECISION, last_data_at DOUBLE PRECISION,
            ended_at DOUBLE PRECISION, timed_out_at DOUBLE PRECISION,
            run_status INTEGER NOT NULL, result_status INTEGER,
            vus BIGINT NOT NULL DEFAULT 0, duration DOUBLE PRECISION NOT NULL DEFAULT 0,
            period INTEGER NOT NULL DEFAULT 0,
            thresholds TEXT NOT NULL DEFAULT '{{}}', threshold_results TEXT,
            pushes BIGINT NOT NULL DEFAULT 0, duplicates BIGINT NOT NULL DEFAULT 0,
            UNIQUE (project_id, create_key))""",
        "CREATE INDEX IF NOT EXISTS runs_project ON runs (project_id, id)",
        """CREATE TABLE IF NOT EXISTS pushes (
            run_id BIGINT NOT NULL REFERENCES runs(id), key TEXT NOT NULL,
            received_at DOUBLE PRECISION NOT NULL, PRIMARY KEY (run_id, key))""",
        f"""CREATE TABLE IF NOT EXISTS series (
            id {id_col}, run_id BIGINT NOT NULL REFERENCES runs(id), metric TEXT NOT NULL,
            type TEXT NOT NULL, labels TEXT NOT NULL, UNIQUE (run_id, metric, labels))""",
        """CREATE TABLE IF NOT EXISTS points (
            series_id BIGINT NOT NULL REFERENCES series(id), run_id BIGINT NOT NULL,
            t DOUBLE PRECISION NOT NULL, value DOUBLE PRECISION NOT NULL, count BIGINT NOT NULL,
            sum DOUBLE PRECISION NOT NULL, min DOUBLE PRECISION NOT NULL, max DOUBLE PRECISION NOT NULL,
            hist TEXT, resolution DOUBLE PRECISION NOT NULL DEFAULT 1)""",
        "CREATE INDEX IF NOT EXISTS points_run ON points (run_id, series_id)",
        """CREATE TABLE IF NOT EXISTS instances (
            run_id BIGINT NOT NULL REFERENCES runs(id), instance_id TEXT NOT NULL,
            first_seen_at DOUBLE PRECISION NOT NULL, last_seen_at DOUBLE PRECISION NOT NULL,
            finished_at DOUBLE PRECISION, run_status INTEGER, result_status INTEGER,
            timed_out_at DOUBLE PRECISION, PRIMARY KEY (run_id, instance_id))""",
    ]


_ADDED_RUN_COLUMNS = (
    ("instances", "INTEGER NOT NULL DEFAULT 1"),
    ("process_thresholds", "INTEGER NOT NULL DEFAULT 0"),
    ("stopped_at", "DOUBLE PRECISION"),
    ("abort_reason", "TEXT"),
    ("verdict", "TEXT"),
    ("setup", "TEXT"),
)
"""Columns of ``runs`` added for multi-instance runs (issue 17); a database created before them
gets them by ``ALTER TABLE … ADD COLUMN`` when it is opened."""

INSTANCE_ID_TAG = "instance_id"
"""The series tag naming the instance that pushed it (k6-operator's ``--tag instance_id=I``)."""
DEFAULT_INSTANCE = "1"
"""The instance of series pushed without an ``instance_id`` tag."""


_RUN_COLUMNS = (
    "id, project_id, name, created_at, last_seen_at, first_data_at, last_data_at, ended_at, "
    "timed_out_at, run_status, result_status, vus, duration, period, thresholds, "
    "threshold_results, pushes, duplicates, instances, process_thresholds, stopped_at, abort_reason, verdict, setup"
)

_RUN_CHILD_TABLES = ("series", "pushes", "instances")
"""Tables whose rows belong to one run (``run_id``), deleted with it after its points, in this order."""

_COPY_POINTS = "COPY points (series_id, run_id, t, value, count, sum, min, max, hist, resolution) FROM STDIN"


class Store(MultiRunStore):
    """Thread-safe access to one database (one connection, serialized by a lock)."""

    def __init__(self, conn: Any, dialect: Any, *, describe: str, connect: Any = None) -> None:
        self._d = dialect
        # SQLite: one connection, one lock. PostgreSQL (``connect`` given): a connection per thread, opened
        # on its first use, so the service's store threads work at once (each waits on its own round trips)
        self._connect = connect
        self._shared_lock = threading.RLock()
        self._local = threading.local()
        self._local.conn = conn
        self._main = conn
        self._opened: list[Any] = [conn]
        self._cache_lock = threading.Lock()
        self._series_cache: dict[int, dict[tuple[str, str], int]] = {}
        self.describe = describe
        """The database, for messages (a PostgreSQL password is masked)."""
        try:
            with self._tx():
                for stmt in _schema(dialect.id_column):
                    self._conn.execute(stmt)
                self._migrate()
        except dialect.errors as exc:
            raise StoreError(f"cannot create the schema in {describe}: {exc}") from None

    def _migrate(self) -> None:
        """Add the columns a database created by an older version lacks (inside the schema transaction)."""
        cur = self._conn.execute("SELECT * FROM runs WHERE 1 = 0")
        have = {d[0] for d in cur.description}
        cur.fetchall()
        for name, decl in _ADDED_RUN_COLUMNS:
            if name not in have:
                self._conn.execute(f"ALTER TABLE runs ADD COLUMN {name} {decl}")

    @property
    def dialect(self) -> str:
        return self._d.name

    @property
    def _conn(self) -> Any:
        """This thread's connection (the only one, on SQLite)."""
        if self._connect is None:
            return self._main
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._connect()
            with self._cache_lock:
                self._opened.append(conn)
        return conn

    @property
    def _lock(self) -> Any:
        """The lock around this thread's use of its connection (shared on SQLite)."""
        if self._connect is None:
            return self._shared_lock
        lock = getattr(self._local, "lock", None)
        if lock is None:
            lock = self._local.lock = threading.RLock()
        return lock

    def close(self) -> None:
        with self._cache_lock:
            opened, self._opened = self._opened, []
        for conn in opened:
            try:
                conn.close()
            except Exception:  # closing at exit: the other connections still get closed
                pass

    @contextlib.contextmanager
    def _tx(self) -> Iterator[None]:
        with self._lock:
            if self._d.name == "sqlite":
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    yield
                except BaseException:
                    self._conn.execute("ROLLBACK")
                    raise
                self._conn.execute("COMMIT")
            else:
                with self._conn.transaction():
                    yield

    def _x(self, sql: str, args: tuple = ()):
        return self._conn.execute(self._d.sql(sql), args)

    # -- projects and tokens ------------------------------------------------------------
    def project_id(self, name: str, *, create: bool = False) -> int | None:
        """The id of project ``name``; created when ``create`` and missing."""
        with self._tx():
            row = self._x("SELECT id FROM projects WHERE name = ?", (name,)).fetchone()
            if row is None and create:
                row = self._x(
                    "INSERT INTO projects (name, created_at) VALUES (?, ?) RETURNING id", (name, time.time())
                ).fetchone()
            return None if row is None else int(row[0])

    def add_token(self, token_hash: str, project_id: int, label: str) -> None:
        with self._tx():
            self._x(
                "INSERT INTO tokens (hash, project_id, label, created_at) VALUES (?, ?, ?, ?)",
                (token_hash, project_id, label, time.time()),
            )

    def token_project(self, token_hash: str) -> tuple[int, str] | None:
        """(project id, project name) of a token hash, or None."""
        with self._lock:
            row = self._x(
                "SELECT p.id, p.name FROM tokens t JOIN projects p ON p.id = t.project_id WHERE t.hash = ?",
                (token_hash,),
            ).fetchone()
        return None if row is None else (int(row[0]), row[1])

    def list_tokens(self) -> list[dict]:
        with self._lock:
            rows = self._x(
                "SELECT p.name, t.label, t.created_at, t.hash FROM tokens t "
                "JOIN projects p ON p.id = t.project_id ORDER BY t.created_at"
            ).fetchall()
        return [{"project": r[0], "label": r[1], "created_at": r[2], "hash_prefix": r[3][:12]} for r in rows]

    # -- runs ------------------------------------------------------------------------------
    def create_run(
        self,
        project_id: int,
        *,
        name: str,
        vus: int,
        duration: float,
        thresholds: dict,
        key: str | None,
        now: float,
        instances: int = 1,
        process_thresholds: bool = False,
    ) -> tuple[int, bool]:
        """Create a run (status created); return (id, created). A repeated idempotency key returns the first run."""
        with self._tx():
            if key:
                row = self._x(
                    "SELECT id FROM runs WHERE project_id = ? AND create_key = ?", (project_id, key)
                ).fetchone()
                if row is not None:
                    return int(row[0]), False
            row = self._x(
                "INSERT INTO runs (project_id, name, create_key, created_at, last_seen_at, run_status, vus, "
                "duration, thresholds, instances, process_thresholds) VALUES (?, ?, ?, ?, ?, -2, ?, ?, ?, ?, ?) "
                "RETURNING id",
                (
                    project_id,
                    name,
                    key,
                    now,
                    now,
                    int(vus),
                    float(duration),
                    json.dumps(thresholds),
                    int(instances),
                    1 if process_thresholds else 0,
                ),
            ).fetchone()
            return int(row[0]), True

    def get_run(self, project_id: int, run_id: int) -> dict | None:
        """The run ``run_id`` if it belongs to ``project_id``."""
        with self._lock:
            row = self._x(
                f"SELECT {_RUN_COLUMNS} FROM runs WHERE id = ? AND project_id = ?", (run_id, project_id)
            ).fetchone()
        return None if row is None else _run_dict(row)

    def get_run_by_id(self, run_id: int) -> dict | None:
        """The run ``run_id`` whatever its project (for the service's own background work)."""
        with self._lock:
            row = self._x(f"SELECT {_RUN_COLUMNS} FROM runs WHERE id = ?", (run_id,)).fetchone()
        return None if row is None else _run_dict(row)

    def list_runs(self, project_id: int, limit: int = 200) -> list[dict]:
        with self._lock:
            rows = self._x(
                f"SELECT {_RUN_COLUMNS} FROM runs WHERE project_id = ? ORDER BY id DESC LIMIT ?", (project_id, limit)
            ).fetchall()
        return [_run_dict(r) for r in rows]

    def search_runs(
        self, project_id: int, *, name_like: str | None, statuses: tuple[int, ...] | None, limit: int, offset: int
    ) -> tuple[list[dict], int]:
        """One page of ``project_id``'s runs, newest first, and how many match in all.

        ``name_like``: a case-insensitive substring of the name; ``statuses``:
        only runs with one of these run statuses (None: any).
        """
        where = "project_id = ?"
        args: tuple = (project_id,)
        if name_like:
            escaped = name_like.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            where += " AND LOWER(name) LIKE ? ESCAPE '\\'"
            args += (f"%{escaped}%",)
        if statuses is not None:
            where += " AND run_status IN (" + ",".join("?" * len(statuses)) + ")" if statuses else " AND 1 = 0"
            args += tuple(statuses)
        with self._lock:
            total = int(self._x(f"SELECT COUNT(*) FROM runs WHERE {where}", args).fetchone()[0])
            rows = self._x(
                f"SELECT {_RUN_COLUMNS} FROM runs WHERE {where} ORDER BY id DESC LIMIT ? OFFSET ?",
                (*args, limit, offset),
            ).fetchall()
        return [_run_dict(r) for r in rows], total

    def delete_run(self, run_id: int) -> int:
        """Delete a run with its points and every row of :data:`_RUN_CHILD_TABLES` in one transaction;
        the number of points deleted."""
        with self._tx():
            points = self._x("DELETE FROM points WHERE run_id = ?", (run_id,)).rowcount
            for table in _RUN_CHILD_TABLES:
                self._x(f"DELETE FROM {table} WHERE run_id = ?", (run_id,))
            self._x("DELETE FROM runs WHERE id = ?", (run_id,))
            self._series_cache.pop(run_id, None)
        return int(points)

    def project_name(self, project_id: int) -> str | None:
        """The name of project ``project_id`` (None when it does not exist)."""
        with self._lock:
            row = self._x("SELECT name FROM projects WHERE id = ?", (project_id,)).fetchone()
        return None if row is None else str(row[0])

    def finish_run(self, run_id: int, *, run_status: int, result_status: int, thresholds: dict, now: float) -> None:
        """Record the finish call (also for a run that already timed out: the finish closes it)."""
        with self._tx():
            self._x(
                "UPDATE runs SET run_status = ?, result_status = ?, threshold_results = ?, ended_at = ?, "
                "last_seen_at = ? WHERE id = ?",
                (run_status, result_status, json.dumps(thresholds), now, now, run_id),
            )

    def time_out(self, cutoff: float, now: float, created_cutoff: float | None = None) -> list[int]:
        """Mark active runs last heard of before ``cutoff`` (created runs no instance has joined yet: before
        ``created_cutoff``, by default ``cutoff``) as timed out (4), saying why in their abort reason (a
        created run never joined, or a running one gone silent); return their ids."""
        created_cutoff = cutoff if created_cutoff is None else created_cutoff
        with self._tx():
            rows = self._x(
                "UPDATE runs SET run_status = 4, timed_out_at = ?, abort_reason = COALESCE(abort_reason, "
                "CASE WHEN run_status = -2 THEN ? ELSE ? END) "
                "WHERE (run_status = -2 AND last_seen_at < ?) OR (run_status = 2 AND last_seen_at < ?) RETURNING id",
                (
                    now,
                    f"no data within {now - created_cutoff:g} s of its creation",
                    f"nothing heard for more than {now - cutoff:g} s",
                    created_cutoff,
                    cutoff,
                ),
            ).fetchall()
        return [int(r[0]) for r in rows]

    # -- samples ---------------------------------------------------------------------------
    def ingest(
        self,
        run_id: int,
        key: str | None,
        ms: MetricSet,
        now: float,
        on_stored: Callable[[int, MetricSet], None] | None = None,
    ) -> bool:
        """Store one push in one transaction; False when its idempotency key was already seen.
        ``on_stored(run_id, ms)`` is called after the commit of a stored push, the store still held
        (see :meth:`exclusive`)."""
        try:
            with self._lock:
                stored = self._ingest(run_id, key, ms, now)
                if stored and on_stored is not None:
                    on_stored(run_id, ms)
                return stored
        except BaseException:
            self._series_cache.pop(run_id, None)
            raise

    def exclusive(self) -> contextlib.AbstractContextManager[Any]:
        """Hold the store: no push is stored (nor its ``on_stored`` called) meanwhile."""
        return self._lock

    def _ingest(self, run_id: int, key: str | None, ms: MetricSet, now: float) -> bool:
        with self._tx():
            if key:
                cur = self._x(
                    "INSERT INTO pushes (run_id, key, received_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                    (run_id, key, now),
                )
                if cur.rowcount == 0:
                    self._x("UPDATE runs SET duplicates = duplicates + 1, last_seen_at = ? WHERE id = ?", (now, run_id))
                    return False
            ids = self._series_ids(run_id, ms)
            self._seen_instances(run_id, ms, now)
            rows = []
            first = last = None
            for name, _mtype, series in ms.metrics:
                for s in series:
                    sid = ids[(name, s.text or _labels_text(s.labels))]
                    for p in s.points:
                        hist = _hist_text(p.hist) if p.hist is not None else None
                        rows.append((sid, run_id, p.time, p.value, p.count, p.sum, p.min, p.max, hist, p.resolution))
                        first = p.time if first is None or p.time < first else first
                        last = p.time if last is None or p.time > last else last
            if rows:
                sql = self._d.sql(
                    "INSERT INTO points (series_id, run_id, t, value, count, sum, min, max, hist, "
                    "resolution) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                )
                if self._d.name == "sqlite":
                    self._conn.executemany(sql, rows)
                else:  # COPY: rows formatted in C by psycopg, one round trip (5x executemany's speed)
                    with self._conn.cursor() as cur, cur.copy(_COPY_POINTS) as copy:
                        for row in rows:
                            copy.write_row(row)
            self._x(
                "UPDATE runs SET last_seen_at = ?, pushes = pushes + 1, "
                "run_status = CASE WHEN run_status = -2 THEN 2 ELSE run_status END, "
                "period = CASE WHEN ? > 0 THEN ? ELSE period END, "
                "first_data_at = CASE WHEN first_data_at IS NULL OR first_data_at > ? THEN ? ELSE first_data_at END, "
                "last_data_at = CASE WHEN last_data_at IS NULL OR last_data_at < ? THEN ? ELSE last_data_at END "
                "WHERE id = ?",
                (
                    now,
                    ms.aggregation_period,
                    ms.aggregation_period,
                    first if first is not None else now,
                    first if first is not None else now,
                    last if last is not None else now,
                    last if last is not None else now,
                    run_id,
                ),
            )
            return True

    def _seen_instances(self, run_id: int, ms: MetricSet, now: float) -> None:
        """Record the instances (``instance_id`` series tag) a push came from, inside its transaction."""
        seen = {s.labels.get(INSTANCE_ID_TAG, DEFAULT_INSTANCE) for _, _, series in ms.metrics for s in series}
        if not seen:
            return
        sql = self._d.sql(
            "INSERT INTO instances (run_id, instance_id, first_seen_at, last_seen_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (run_id, instance_id) DO UPDATE SET last_seen_at = excluded.last_seen_at"
        )
        args = [(run_id, i[:200], now, now) for i in sorted(seen)]
        if self._d.name == "sqlite":
            self._conn.executemany(sql, args)
        else:
            with self._conn.cursor() as cur:
                cur.executemany(sql, args)

    def _series_ids(self, run_id: int, ms: MetricSet) -> dict[tuple[str, str], int]:
        """Ids of every series of a push, creating the new ones in bulk (inside the push's transaction)."""
        wanted = {(name, s.text or _labels_text(s.labels)): mtype for name, mtype, series in ms.metrics for s in series}
        known = self._series_cache.get(run_id, {})
        missing = [k for k in wanted if k not in known]
        if not missing:
            return known
        sql = self._d.sql(
            "INSERT INTO series (run_id, metric, type, labels) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING"
        )
        args = [(run_id, name, wanted[(name, text)], text) for name, text in missing]
        if self._d.name == "sqlite":
            self._conn.executemany(sql, args)
        else:
            with self._conn.cursor() as cur:
                cur.executemany(sql, args)
        # the ids of the missing ones only (a run of many instances has many series: never re-read all)
        ids: dict[tuple[str, str], int] = {}
        by_metric: dict[str, list[str]] = {}
        for name, text in missing:
            by_metric.setdefault(name, []).append(text)
        for name, texts in by_metric.items():
            for i in range(0, len(texts), 500):
                chunk = texts[i : i + 500]
                rows = self._x(
                    "SELECT id, labels FROM series WHERE run_id = ? AND metric = ? AND labels IN ("
                    + ",".join("?" * len(chunk))
                    + ")",
                    (run_id, name, *chunk),
                ).fetchall()
                ids.update({(name, text): int(sid) for sid, text in rows})
        # added to the run's cache (pushes of other instances add theirs at the same time); a rolled-back
        # push leaves ids of rows that do not exist, so the run's cache is dropped on any error (see ingest)
        with self._cache_lock:
            cached = self._series_cache.pop(run_id, None) or {}
            cached.update(ids)
            self._series_cache[run_id] = cached
            while len(self._series_cache) > 64:  # runs streaming now; the oldest entry goes first
                self._series_cache.pop(next(iter(self._series_cache)))
        return {**known, **ids}

    def points(self, run_id: int, metrics: tuple[str, ...] | None = None) -> list[tuple]:
        """Rows (metric, type, labels dict, t, value, count, sum, min, max, hist dict|None, resolution)."""
        sql = (
            "SELECT s.metric, s.type, s.labels, p.t, p.value, p.count, p.sum, p.min, p.max, p.hist, p.resolution "
            "FROM points p JOIN series s ON s.id = p.series_id WHERE p.run_id = ?"
        )
        args: tuple = (run_id,)
        if metrics:
            sql += " AND s.metric IN (" + ",".join("?" * len(metrics)) + ")"
            args += tuple(metrics)
        with self._lock:
            rows = self._x(sql, args).fetchall()
        labels_cache: dict[str, dict] = {}
        out = []
        for m, ty, lab, t, v, c, s, lo, hi, hist, res in rows:
            ld = labels_cache.get(lab)
            if ld is None:
                ld = labels_cache[lab] = json.loads(lab)
            out.append(
                (m, ty, ld, t, v, c, s, lo, hi, {int(k): n for k, n in json.loads(hist).items()} if hist else None, res)
            )
        return out


def _hist_text(hist: dict[int, int]) -> str:
    """A trend histogram (int bucket -> int count) as compact JSON text: the text of
    ``json.dumps(hist, separators=(",", ":"))`` (keys in dict order) at about half its cost."""
    return "{" + ",".join([f'"{k}":{n}' for k, n in hist.items()]) + "}"


def _labels_text(labels: dict) -> str:
    return json.dumps(labels, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _run_dict(row) -> dict:
    keys = [k.strip() for k in _RUN_COLUMNS.split(",")]
    d = dict(zip(keys, row))
    d["thresholds"] = json.loads(d["thresholds"] or "{}")
    d["threshold_results"] = json.loads(d["threshold_results"]) if d["threshold_results"] else None
    d["process_thresholds"] = bool(d["process_thresholds"])
    d["verdict"] = json.loads(d["verdict"]) if d["verdict"] else None
    d["setup"] = json.loads(d["setup"]) if d["setup"] else None
    return d
