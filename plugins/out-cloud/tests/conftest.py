from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from horde_insights.testing import InsightsProcess

HERE = os.path.dirname(__file__)
CI = os.environ.get("CI", "").lower() == "true"


@pytest.fixture
def make_server(tmp_path):
    started = []

    def make(timeout: float = 120) -> InsightsProcess:
        srv = InsightsProcess(str(tmp_path / "insights.db"), timeout=timeout, log=tmp_path / "insights.log").start()
        started.append(srv)
        return srv

    yield make
    for s in started:
        s.stop()


@pytest.fixture
def server(make_server):
    return make_server()


def cloud_env(srv, token, **extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("HORDE_CLOUD_")}
    env.update(HORDE_CLOUD_HOST=srv.url, HORDE_CLOUD_TOKEN=token, PYTHONUNBUFFERED="1", **extra)
    return env


def start_driver(srv, token, tmp_path, *args, **env_extra) -> subprocess.Popen:
    """The engine stand-in (driver.py): a synthetic run through the real Manager with --out cloud and json."""
    cmd = [sys.executable, os.path.join(HERE, "driver.py"), "--json", str(tmp_path / "out.json"), *args]
    return subprocess.Popen(cmd, env=cloud_env(srv, token, **env_extra), cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.fixture(scope="session")
def horde_run():
    """The ``horde`` command when its engine (``horde run``) is installed; skips until the engine lands."""
    exe = shutil.which("horde") or os.path.join(os.path.dirname(sys.executable), "horde")
    ok = os.path.exists(exe) and subprocess.run([exe, "run", "--help"], capture_output=True, timeout=60).returncode == 0
    if not ok:
        pytest.skip("`horde run` (the engine) is not available yet")
    return exe
