"""Engine test helpers: write a script, run it in-process or as the real `horde` command."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from horde.engine.run import RunRequest, TestRun
from horde.testing.fixtures import target  # noqa: F401  (session fixture)

HORDE = str(Path(sys.executable).with_name("horde"))


class Result:
    def __init__(self, code: int, stdout: str, run: TestRun | None = None, stderr: str = "") -> None:
        self.code, self.stdout, self.run, self.stderr = code, stdout, run, stderr


@pytest.fixture
def script(tmp_path):
    """``script(body)`` writes a test script and returns its path."""

    def write(body: str, name: str = "script.py") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(body))
        return path

    return write


@pytest.fixture
def run_script(tmp_path, target):
    """Run a script in-process: ``run_script(path, outs=[...], **cli_options)`` -> Result."""

    def run(path: Path, outs=(), quiet=True, env=None, **kw) -> Result:
        out = io.StringIO()
        req = RunRequest(
            script=path,
            outs=list(outs),
            cli_options=kw.pop("cli", {}),
            env_vars={"TARGET": target.url, **(env or {})},
            quiet=quiet,
            stdout=out,
            stderr=io.StringIO(),
            environ={k: v for k, v in os.environ.items() if not k.startswith("HORDE_")},
            **kw,
        )
        tr = TestRun(req)
        code = tr.execute()
        return Result(code, out.getvalue(), tr)

    return run


@pytest.fixture
def horde_cmd(target):
    """Run the real ``horde`` console script: ``horde_cmd("run", path, ...)`` -> CompletedProcess."""

    def call(*args, timeout=60, env=None):
        e = {k: v for k, v in os.environ.items() if not k.startswith("HORDE_")}
        e.update(env or {})
        return subprocess.run([HORDE, *map(str, args)], capture_output=True, text=True, timeout=timeout, env=e)

    return call


def read_points(path: Path) -> list[dict]:
    """The Point records of a json output file."""
    return [r for r in map(json.loads, path.read_text().splitlines()) if r["type"] == "Point"]


def count(points: list[dict], metric: str) -> float:
    return sum(p["data"]["value"] for p in points if p["metric"] == metric)
