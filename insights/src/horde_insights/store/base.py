"""The store: one SQL schema and its operations, shared by SQLite and PostgreSQL.

A run's samples are stored as they arrive, one row per (time series, time
bucket) value, never merged in place: pushes are written in groups, one
transaction each (see pushes.py), and a push whose idempotency key was seen
before for the run is dropped whole.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

from .multirun import MultiRunStore
from .pushes import DEFAULT_INSTANCE, INSTANCE_ID_TAG, PushStore

__all__ = ["Store", "StoreError", "ACTIVE_STATUSES", "INSTANCE_ID_TAG", "DEFAULT_INSTANCE"]

ACTIVE_STATUSES = (-2, 2)
"""Run statuses that the no-data timeout can end (created, running)."""


class StoreError(Exception):
    """The database cannot be opened or used; the message names it."""


def _schema(id_col: str) -> list[str]:
    # points.series_id has no foreign key: points are written only by ingest, with the ids it has just
    # resolved, and deleted before their series; a key check per point was ~40 % of PostgreSQL's work
    # per push (a database created earlier loses that constraint when opened, see _migrate)
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
            series_id BIGINT NOT NULL, run_id BIGINT NOT NULL,
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


_RUN_COLUMNS = (
    "id, project_id, name, created_at, last_seen_at, first_data_at, last_data_at, ended_at, "
    "timed_out_at, run_status, result_status, vus, duration, period, thresholds, "
    "threshold_results, pushes, duplicates, instances, process_thresholds, stopped_at, abort_reason, verdict, setup"
)

_RUN_CHILD_TABLES = ("series", "pushes", "instances")
"""Tables whose rows belong to one run (``run_id``), deleted with it after its points, in this order."""


class Store(PushStore, MultiRunStore):
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
        self._opened_lock = threading.Lock()
        self._init_pushes()
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
        if self._d.name == "postgresql":  # see _schema: points no longer reference series
            self._conn.execute("ALTER TABLE points DROP CONSTRAINT IF EXISTS points_series_id_fkey")

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
            with self._opened_lock:
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
        with self._opened_lock:
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
            self._forget_series(run_id)
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


def _run_dict(row) -> dict:
    keys = [k.strip() for k in _RUN_COLUMNS.split(",")]
    d = dict(zip(keys, row))
    d["thresholds"] = json.loads(d["thresholds"] or "{}")
    d["threshold_results"] = json.loads(d["threshold_results"]) if d["threshold_results"] else None
    d["process_thresholds"] = bool(d["process_thresholds"])
    d["verdict"] = json.loads(d["verdict"]) if d["verdict"] else None
    d["setup"] = json.loads(d["setup"]) if d["setup"] else None
    return d
