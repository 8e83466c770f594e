"""``horde run --out``: outputs chosen on the command line, through the real console script.

Written against the engine's interface (``horde run SCRIPT -o name[=arg]``).
"""

from __future__ import annotations

import json
import textwrap

import pytest
from distbuild import BROKEN_OUTPUT, WRONG_SIGNATURE_OUTPUT, simple_dist
from hordecli import run_horde

SCRIPT = textwrap.dedent(
    """\
    options = {"vus": 1, "iterations": 3}

    async def default(data):
        pass
    """
)


@pytest.fixture
def script(tmp_path):
    path = tmp_path / "script.py"
    path.write_text(SCRIPT)
    return path


def _points(path):
    return [json.loads(line) for line in path.read_text().splitlines() if json.loads(line)["type"] == "Point"]


def test_unknown_output_lists_available_without_traceback(script):
    r = run_horde("run", str(script), "--out", "nosuch=x", "--no-summary", "--quiet")
    assert r.returncode != 0
    assert "error: invalid output type 'nosuch', available types are: " in r.stderr  # json, and whatever is installed
    assert "json" in r.stderr.split("available types are: ")[1].replace(",", " ").split()
    assert "Traceback" not in r.stderr


def test_json_output_twice_and_broken_plugin_does_not_matter(script, tmp_path, site):
    s = site(simple_dist("horde-out-broken", "0.1", {"broken": "BrokenOutput"}, BROKEN_OUTPUT))
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    r = run_horde("run", str(script), "--out", f"json={a}", "-o", f"json={b}", "--no-summary", "--quiet", sites=[s])
    assert r.returncode == 0, r.stderr
    for path in (a, b):
        names = [p["metric"] for p in _points(path)]
        assert names.count("iterations") == 3


def test_horde_out_environment_variable(script, tmp_path):
    a = tmp_path / "env.json"
    r = run_horde("run", str(script), "--no-summary", "--quiet", env={"HORDE_OUT": f"json={a}"})
    assert r.returncode == 0, r.stderr
    assert [p["metric"] for p in _points(a)].count("iterations") == 3


def test_wrong_signature_output_is_a_one_line_error(script, site):
    s = site(simple_dist("horde-out-wrongsig", "0.5", {"wrongsig": "WrongOutput"}, WRONG_SIGNATURE_OUTPUT))
    r = run_horde("run", str(script), "--out", "wrongsig", "--no-summary", "--quiet", sites=[s])
    assert r.returncode != 0
    assert "Traceback" not in r.stderr
    line = [l for l in r.stderr.splitlines() if l.startswith("error: ")][0]
    assert "wrongsig" in line and "horde-out-wrongsig 0.5" in line and "add_samples" in line
    assert str(s / "horde_out_wrongsig" / "__init__.py") in line
    r = run_horde("run", str(script), "--out", "wrongsig", "--no-summary", "--quiet", "--verbose", sites=[s])
    assert r.returncode != 0 and "Traceback" in r.stderr
