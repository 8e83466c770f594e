from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest
from horde.testing.fixtures import target  # noqa: F401  (session fixture: the HTTP target of test scripts)
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
    return subprocess.Popen(
        cmd,
        env=cloud_env(srv, token, **env_extra),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


SCRIPT = """
from horde import http, check, sleep, env

options = {"vus": 2, "thresholds": {"http_req_duration": ["p(95)<0" if env.get("FAIL") else "p(95)<500"],
                                    "checks": ["rate>0.5"]}}


async def default(data):
    res = await http.get(env["TARGET"] + "/json")
    check(res, {"status is 200 <b>": lambda r: r.status == 200})
    pause = sleep(0.01)
    if hasattr(pause, "__await__"):
        await pause
"""


def _horde_exe() -> str | None:
    exe = shutil.which("horde") or os.path.join(os.path.dirname(sys.executable), "horde")
    if not os.path.exists(exe):
        return None
    return exe if subprocess.run([exe, "run", "--help"], capture_output=True, timeout=60).returncode == 0 else None


@pytest.fixture(params=["driver", "horde-run"])
def start_run(request, target):
    """Start a run streaming to a service with --out cloud and --out json=out.json: either through
    driver.py (the Manager, no engine) or through the real ``horde run``.

    ``start(srv, token, tmp_path, seconds, threshold_fail=False, **env) -> Popen``
    """
    if request.param == "driver":

        def start(srv, token, tmp_path, seconds, threshold_fail=False, **env):
            args = ["--seconds", str(seconds), "--rate", "200"] + (["--threshold-fail"] if threshold_fail else [])
            return start_driver(srv, token, tmp_path, *args, **env)

        return start
    exe = _horde_exe()
    if exe is None:
        pytest.fail("`horde run` (the engine) is not installed next to this plugin")

    def start(srv, token, tmp_path, seconds, threshold_fail=False, **env):
        script = tmp_path / "driver-script.py"
        script.write_text(SCRIPT)
        cmd = [
            exe,
            "run",
            str(script),
            "--out",
            "cloud",
            "--out",
            f"json={tmp_path / 'out.json'}",
            "--duration",
            f"{seconds}s",
            "-e",
            f"TARGET={target.url}",  # not the service: its outages must not fail the script's checks
            "--no-summary",
        ]
        if threshold_fail:
            cmd += ["-e", "FAIL=1"]
        return subprocess.Popen(
            cmd,
            env=cloud_env(srv, token, **env),
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    return start
