"""SQLite (stdlib ``sqlite3``): the embedded default, one file, WAL journal."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from .base import StoreError

__all__ = ["SqliteDialect", "connect"]


class SqliteDialect:
    name = "sqlite"
    id_column = "INTEGER PRIMARY KEY AUTOINCREMENT"
    errors: tuple[type[BaseException], ...] = (sqlite3.Error,)

    @staticmethod
    def sql(text: str) -> str:
        return text


def connect(path: Path) -> sqlite3.Connection:
    try:
        if path.parent and not path.parent.exists():
            raise StoreError(f"cannot open database {path}: directory {path.parent} does not exist")
        conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None, timeout=30)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
    except sqlite3.Error as exc:
        raise StoreError(f"cannot open database {path}: {exc}") from None
    return conn
