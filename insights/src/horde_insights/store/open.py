"""Open a store from a URL: a file path or ``sqlite:///path`` for SQLite, ``postgresql://…`` for PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from .base import Store, StoreError

__all__ = ["open_store"]


def open_store(url: str) -> Store:
    """The store for ``url``; raises :class:`StoreError` naming the database when it cannot be opened."""
    if url.startswith(("postgresql://", "postgres://")):
        from .postgres import PostgresDialect, connect

        return Store(connect(url), PostgresDialect(), describe=_redact(url), connect=lambda: connect(url))
    path = url[len("sqlite:///") :] if url.startswith("sqlite:///") else url
    if path.startswith("sqlite:"):
        raise StoreError(f"database URL {url!r}: write sqlite:///PATH (three slashes) or a plain file path")
    from .sqlite import SqliteDialect, connect

    return Store(connect(Path(path)), SqliteDialect(), describe=f"sqlite:///{path}")


def _redact(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        return f"{scheme}://{creds.split(':', 1)[0]}:***@{host}" if ":" in creds else url
    return url
