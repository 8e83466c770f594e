"""The plugin as a user gets it: discovered through its entry point, listed by `horde plugins`."""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys

HORDE = pathlib.Path(sys.executable).with_name("horde")


def test_horde_plugins_lists_web_dashboard():
    proc = subprocess.run([str(HORDE), "plugins", "--json"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    found = {p["name"]: p for p in json.loads(proc.stdout)["plugins"]}["web-dashboard"]
    assert found["distribution"] == "horde-out-dashboard" and found["status"] == "ok" and not found["builtin"]
    assert found["target"] == "horde_out_dashboard.output:DashboardOutput"
    assert set(found["hooks"]) >= {"description", "start", "add_samples", "stop", "set_thresholds", "report"}


def test_the_wheel_carries_the_page_and_the_vendored_chart_library():
    from importlib import resources

    web = resources.files("horde_out_dashboard").joinpath("web")
    for name in ("index.html", "app.js", "style.css", "vendor/uplot/uPlot.iife.min.js", "vendor/uplot/LICENSE"):
        assert web.joinpath(name).is_file(), name
