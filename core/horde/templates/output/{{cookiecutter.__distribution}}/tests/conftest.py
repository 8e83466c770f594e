"""Fixtures: horde's local HTTP target server, and ``horde run`` as a subprocess{% if cookiecutter.kind == "network" %};
the receiver, a real HTTP server standing in for the endpoint this output sends to{% endif %}."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
{%- if cookiecutter.kind == "network" %}
from collections.abc import Iterator
{%- endif %}
from pathlib import Path

import pytest

from horde.testing.fixtures import target  # noqa: F401  (session fixture: horde's HTTP target on 127.0.0.1)
{%- if cookiecutter.kind == "network" %}

from receiver import Receiver
{%- endif %}

SCRIPT = '''
from horde import http, check, env

options = {"vus": 2, "iterations": 6}

async def default(data):
    res = await http.get(env["TARGET"] + "/")
    check(res, {"status is 200": lambda r: r.status == 200})
'''
"""A tiny load test: 6 requests from 2 virtual users."""


{%- if cookiecutter.kind == "network" %}


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A fresh HTTP endpoint on 127.0.0.1 (free port) that keeps every batch it accepts."""
    server = Receiver()
    try:
        yield server
    finally:
        server.close()
{%- endif %}


def horde_executable() -> str:
    """The ``horde`` console script of the interpreter running the tests."""
    here = Path(sys.executable).parent / ("horde.exe" if os.name == "nt" else "horde")
    found = str(here) if here.exists() else shutil.which("horde")
    if not found:
        pytest.fail("the horde command is not installed next to this Python")
    return found


@pytest.fixture
def horde_run(tmp_path, target):
    """``horde_run(*args, env={})``: run SCRIPT against the target with ``args``; returns the CompletedProcess."""
    script = tmp_path / "script.py"
    script.write_text(SCRIPT)

    def run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
        environ = {k: v for k, v in os.environ.items() if not k.startswith("HORDE_")}
        environ.update(env or {})
        cmd = [horde_executable(), "run", str(script), "-e", f"TARGET={target.url}", "--quiet", "--no-summary", *args]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=tmp_path, env=environ)

    return run
