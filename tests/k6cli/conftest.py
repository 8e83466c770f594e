"""Fixtures of the k6 command-line tests: a recording target, and horde/k6 runners with a clean environment."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent.parent))

from hordecli import horde_script  # noqa: E402
from k6cliharness import TIMEOUT, clean_env  # noqa: E402
from recorder import Recorder  # noqa: E402


@pytest.fixture
def target():
    srv = Recorder()
    yield srv
    srv.shutdown()
    srv.server_close()


@pytest.fixture
def horde(tmp_path):
    """``horde(script_text, *args, env=...)``: run horde on a script (workers 1, no REST API)."""

    def run(text: str, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        script = tmp_path / "script.py"
        script.write_text(text)
        cmd = [horde_script(), "run", "--workers", "1", "-a", "", *args, str(script)]
        return subprocess.run(cmd, capture_output=True, text=True, env=clean_env(env), timeout=TIMEOUT, cwd=tmp_path)

    return run


@pytest.fixture
def k6(tmp_path, k6_bin):
    """``k6(script_text, *args, env=...)``: run real k6 v1.1.0 on a script (no REST API)."""

    def run(text: str, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        script = tmp_path / "script.js"
        script.write_text(text)
        cmd = [k6_bin, "run", "--address", "", *args, str(script)]
        return subprocess.run(cmd, capture_output=True, text=True, env=clean_env(env), timeout=TIMEOUT, cwd=tmp_path)

    return run
