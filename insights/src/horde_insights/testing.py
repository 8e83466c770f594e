"""Helpers for tests that need a real Insights process or a real PostgreSQL (used by this
distribution's tests and by horde-out-cloud's). Nothing here is imported by the service."""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from horde.testing import free_port

__all__ = ["InsightsProcess", "Postgres", "find_postgres_bin", "api"]


def api(
    url: str,
    token: str | None,
    method: str = "GET",
    body: bytes | None = None,
    headers: dict | None = None,
    timeout: float = 10,
) -> tuple[int, dict]:
    """One HTTP call; returns (status, JSON body)."""
    h = dict(headers or {})
    if token is not None:
        h["Authorization"] = f"Token {token}"
    req = urllib.request.Request(url, data=body, method=method, headers=h)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as err:
        data = err.read()
        try:
            return err.code, json.loads(data or b"{}")
        except ValueError:
            return err.code, {"raw": data.decode("utf-8", "replace")}


class InsightsProcess:
    """``horde-insights serve`` as a child process on a free port (``port`` kept across restarts)."""

    def __init__(
        self, db: str, *, timeout: float = 120, port: int = 0, log: Path | None = None, args: tuple[str, ...] = ()
    ) -> None:
        self.db = db
        self.args = args
        self.timeout = timeout
        self.port = port or free_port()
        self.log = log
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _cmd(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "horde_insights", *args]

    def start(self) -> InsightsProcess:
        out = open(self.log, "ab") if self.log else subprocess.DEVNULL
        self.proc = subprocess.Popen(
            self._cmd("serve", "--db", self.db, "--port", str(self.port), "--timeout", f"{self.timeout}", *self.args),
            stdout=subprocess.PIPE,
            stderr=out,
        )
        line = self.proc.stdout.readline().decode()  # type: ignore[union-attr]
        if "listening on" not in line:
            self.proc.kill()
            raise RuntimeError(f"horde-insights did not start: {line!r}")
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None

    def token(self, project: str | None = None) -> str:
        """A new token for ``project`` (a new, unique project when None), written to the database
        the way ``horde-insights token create`` does."""
        from .auth import hash_token, new_token
        from .store import open_store

        if project is None:
            project = f"p-{os.urandom(4).hex()}"
        store = open_store(self.db)
        try:
            token = new_token()
            store.add_token(hash_token(token), store.project_id(project, create=True), "test")
        finally:
            store.close()
        return token

    def get(self, path: str, token: str | None) -> tuple[int, dict]:
        return api(self.url + path, token)

    def run(self, token: str, run_id: str) -> dict:
        status, body = self.get(f"/api/v1/runs/{run_id}", token)
        assert status == 200, body
        return body

    def wait_state(self, token: str, run_id: str, states: tuple[str, ...], within: float = 30) -> dict:
        end = time.monotonic() + within
        while True:
            body = self.run(token, run_id)
            if body["run"]["state"] in states or time.monotonic() > end:
                return body
            time.sleep(0.2)


def find_postgres_bin() -> Path | None:
    """The directory of Debian's PostgreSQL server binaries (initdb, pg_ctl), or None."""
    for cand in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if os.path.exists(os.path.join(cand, "initdb")):
            return Path(cand)
    found = shutil.which("initdb")
    return Path(found).parent if found else None


class Postgres:
    """A throw-away PostgreSQL cluster in a temp dir on a free port (as user ``postgres`` when run as root)."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="horde-insights-pg-"))
        self._n = 0
        self._as: list[str] = []
        if os.geteuid() == 0:
            import pwd

            user = "postgres" if _user_exists("postgres") else "nobody"
            pw = pwd.getpwnam(user)
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
            self._as = ["runuser", "-u", user, "--"]
            self.user = user
        else:
            import getpass

            self.user = getpass.getuser()

    def start(self) -> Postgres:
        data = self.dir / "data"
        subprocess.run(
            self._as
            + [
                str(self.bindir / "initdb"),
                "-D",
                str(data),
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
                "-E",
                "UTF8",
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
        subprocess.run(
            self._as
            + [
                str(self.bindir / "pg_ctl"),
                "-D",
                str(data),
                "-l",
                str(self.dir / "log"),
                "--wait",
                "-t",
                "60",
                "-o",
                f"-p {self.port} -k {self.dir} -h 127.0.0.1 -F",
                "start",
            ],
            check=True,
            capture_output=True,
            timeout=90,
        )
        return self

    def stop(self) -> None:
        subprocess.run(
            self._as + [str(self.bindir / "pg_ctl"), "-D", str(self.dir / "data"), "-m", "immediate", "--wait", "stop"],
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(self.dir, ignore_errors=True)

    def new_database(self) -> str:
        """Create an empty database; return its URL."""
        import psycopg

        self._n += 1
        name = f"insights_{os.getpid()}_{self._n}"
        with psycopg.connect(f"postgresql://postgres@127.0.0.1:{self.port}/postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"


def _user_exists(name: str) -> bool:
    import pwd

    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False
