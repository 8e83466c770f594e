"""Fixtures of the REST API tests (the helpers live in :mod:`apihelpers`)."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator

import pytest
from apihelpers import HORDE, CountingTarget, Proc
from horde.testing.ports import free_port


@pytest.fixture
def start(tmp_path) -> Iterator:
    """``start(argv, port)`` -> Proc; every process still alive at the end is killed."""
    procs: list[Proc] = []

    def make(argv: list[str], port: int, env: dict | None = None) -> Proc:
        p = Proc([str(a) for a in argv], port, tmp_path, env)
        procs.append(p)
        return p

    yield make
    for p in procs:
        p.kill()


@pytest.fixture
def horde_run(start, tmp_path):
    """``horde_run(script_text, *args)`` -> Proc of ``horde run SCRIPT --address 127.0.0.1:PORT ARGS`` on a free port."""

    def make(body: str, *args: str, name: str = "script.py", env: dict | None = None) -> Proc:
        script = tmp_path / name
        script.write_text(textwrap.dedent(body))
        port = free_port()
        return start([HORDE, "run", script, "--address", f"127.0.0.1:{port}", *args], port, env)

    return make


@pytest.fixture
def counting_target() -> Iterator[CountingTarget]:
    t = CountingTarget()
    yield t
    t.close()
