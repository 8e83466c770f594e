"""The plugin as a user gets it: pip install into a fresh venv, `horde plugins`, pip uninstall.

Needs pip to reach a package index for the core's dependencies (pluggy, click,
importlib-metadata) and setuptools; without CI it skips when none is reachable.
"""

import json
import os
import pathlib
import subprocess
import sys

import pytest

PLUGIN = pathlib.Path(__file__).resolve().parents[1]
CORE = PLUGIN.parents[1]


def _run(*cmd, timeout=300):
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("PYTHONPATH", None)
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=timeout, env=env)


def _plugins(venv):
    proc = _run(venv / "bin" / "horde", "plugins", "--json")
    assert proc.returncode == 0, proc.stderr
    return {p["name"]: p for p in json.loads(proc.stdout)["plugins"]}


@pytest.mark.skipif(not (CORE / "pyproject.toml").exists(), reason="needs the horde source tree next to the plugin")
def test_pip_install_and_uninstall_in_a_fresh_venv(tmp_path):
    venv = tmp_path / "venv"
    assert _run(sys.executable, "-m", "venv", venv).returncode == 0
    pip = venv / "bin" / "pip"
    core = _run(pip, "install", "-q", CORE)
    if core.returncode != 0:
        if os.environ.get("CI") == "true":
            pytest.fail(f"pip install of the core failed:\n{core.stderr[-2000:]}")
        pytest.skip(f"pip cannot install the core here (no package index?): {core.stderr.strip()[-300:]}")
    assert "csv" not in _plugins(venv)

    proc = _run(pip, "install", "-q", PLUGIN)
    assert proc.returncode == 0, proc.stderr
    csv = _plugins(venv)["csv"]
    assert csv["distribution"] == "horde-out-csv" and csv["status"] == "ok" and not csv["builtin"]
    assert csv["target"] == "horde_out_csv.output:CsvOutput"
    assert set(csv["hooks"]) >= {"description", "start", "add_samples", "stop"}

    proc = _run(pip, "uninstall", "-y", "-q", "horde-out-csv")
    assert proc.returncode == 0, proc.stderr
    assert "csv" not in _plugins(venv)
