from __future__ import annotations

import os

import pytest
from horde.testing.fixtures import chromium_bin, k6_bin  # noqa: F401
from horde_insights.testing import InsightsProcess, Postgres, find_postgres_bin

CI = os.environ.get("CI", "").lower() == "true"


def need(what: str) -> None:
    """Skip (or, with CI=true, fail) when a required service binary is missing."""
    if CI:
        pytest.fail(f"{what} is required in CI but missing")
    pytest.skip(f"{what} not installed")


@pytest.fixture(scope="session")
def postgres():
    bindir = find_postgres_bin()
    if bindir is None:
        need("PostgreSQL server (Debian package postgresql)")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        need("psycopg")
    pg = Postgres(bindir).start()
    yield pg
    pg.stop()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def db_kind(request):
    """Every test that uses a service runs once on SQLite and once on PostgreSQL."""
    return request.param


def _new_db(kind, request, tmp_path_factory) -> str:
    if kind == "sqlite":
        return str(tmp_path_factory.mktemp("sqlite") / "insights.db")
    return request.getfixturevalue("postgres").new_database()


@pytest.fixture(scope="session")
def server(db_kind, request, tmp_path_factory):
    """One service per database kind, shared: tests isolate themselves by project (each token
    created without a project name gets a new project)."""
    srv = InsightsProcess(
        _new_db(db_kind, request, tmp_path_factory), log=tmp_path_factory.mktemp("log") / "insights.log"
    ).start()
    yield srv
    srv.stop()


@pytest.fixture
def make_server(db_kind, request, tmp_path_factory, tmp_path):
    """A dedicated service on a fresh database (for timeouts and restarts)."""
    started = []

    def make(timeout: float = 120, args: tuple[str, ...] = ()) -> InsightsProcess:
        srv = InsightsProcess(
            _new_db(db_kind, request, tmp_path_factory), timeout=timeout, log=tmp_path / "insights.log", args=args
        ).start()
        started.append(srv)
        return srv

    yield make
    for s in started:
        s.stop()
