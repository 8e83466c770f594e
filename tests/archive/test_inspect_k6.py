"""``horde inspect [--execution-requirements]`` prints real k6 v1.1.0's document for the same options, byte for byte."""

from __future__ import annotations

import json
import subprocess

import pytest
from hordecli import run_horde

CASES = {
    "scenarios-thresholds-cloud": {
        "scenarios": {
            "a": {"executor": "shared-iterations", "vus": 10, "iterations": 1000, "maxDuration": "30s"},
            "b": {
                "executor": "constant-arrival-rate",
                "rate": 200,
                "timeUnit": "1s",
                "duration": "20s",
                "preAllocatedVUs": 20,
                "maxVUs": 50,
                "startTime": "5s",
            },
        },
        "thresholds": {"http_req_duration": ["p(95)<500", {"threshold": "avg<100", "abortOnFail": True}]},
        "cloud": {"name": "demo", "projectID": 42},
        "tags": {"team": "x", "app": "y"},
    },
    "vus-duration-ext": {"vus": 7, "duration": "90s", "ext": {"loadimpact": {"name": "old", "projectID": 3}}},
    "iterations": {"vus": 5, "iterations": 50},
    "iterations-duration": {"vus": 2, "iterations": 10, "duration": "20s"},
    "stages-to-zero": {"stages": [{"duration": "10s", "target": 5}, {"duration": "5s", "target": 0}]},
    "stages-startvus": {"vus": 3, "stages": [{"duration": "10s", "target": 5}]},
    "nothing": {},
    "ramping-graceful-ramp-down": {
        "scenarios": {
            "r": {
                "executor": "ramping-vus",
                "stages": [{"duration": "10s", "target": 5}, {"duration": "5s", "target": 0}],
                "gracefulRampDown": "3s",
            }
        }
    },
    "sequential-scenarios": {
        "scenarios": {
            "r": {
                "executor": "ramping-arrival-rate",
                "preAllocatedVUs": 3,
                "stages": [{"duration": "10s", "target": 5}],
                "maxVUs": 9,
            },
            "p": {"executor": "per-vu-iterations", "vus": 4, "iterations": 3, "startTime": "2m"},
            "c": {"executor": "constant-vus", "vus": 6, "duration": "1m", "gracefulStop": "0s", "exec": "other"},
        },
        "summaryTrendStats": ["avg", "p(99)"],
        "systemTags": ["status", "url"],
        "setupTimeout": "90s",
    },
}


def _py(options: dict) -> str:
    return f"options = {options!r}\n\n\nasync def default():\n    pass\n\n\nasync def other():\n    pass\n"


def _js(options: dict) -> str:
    return f"export const options = {json.dumps(options)};\nexport default function () {{}}\nexport function other() {{}}\n"


def _k6(k6_bin: str, *args: str) -> str:
    r = subprocess.run([k6_bin, *args], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout


@pytest.mark.parametrize("flags", [(), ("--execution-requirements",)], ids=["plain", "execution-requirements"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_inspect_matches_k6(k6_bin, tmp_path, case, flags):
    (tmp_path / "test.py").write_text(_py(CASES[case]))
    (tmp_path / "test.js").write_text(_js(CASES[case]))
    expected = _k6(k6_bin, "inspect", *flags, str(tmp_path / "test.js"))
    r = run_horde("inspect", *flags, "--log-output=none", str(tmp_path / "test.py"))
    assert r.returncode == 0, r.stderr
    assert r.stdout == expected


def test_inspect_of_an_archive_matches_k6_with_the_operators_command_lines(k6_bin, tmp_path):
    """The initializer's two commands, with k6's and with horde's files side by side."""
    options = CASES["scenarios-thresholds-cloud"]
    (tmp_path / "test.py").write_text(_py(options))
    (tmp_path / "test.js").write_text(_js(options))
    extra = ("--vus", "3", "--duration", "10s", "-e", "A=1")
    _k6(k6_bin, "archive", "--log-output=none", str(tmp_path / "test.js"), "-O", str(tmp_path / "k6.tar"), *extra)
    r = run_horde("archive", "--log-output=none", str(tmp_path / "test.py"), "-O", str(tmp_path / "h.tar"), *extra)
    assert r.returncode == 0, r.stderr
    expected = _k6(k6_bin, "inspect", "--execution-requirements", "--log-output=none", str(tmp_path / "k6.tar"))
    r = run_horde("inspect", "--execution-requirements", "--log-output=none", str(tmp_path / "h.tar"))
    assert r.returncode == 0, r.stderr
    assert r.stdout == expected
    doc = json.loads(r.stdout)
    assert (doc["maxVUs"], doc["totalDuration"]) == (3, "40s")  # what k6-operator reads


def test_what_the_script_prints_while_loading_stays_out_of_the_document(tmp_path):
    script = tmp_path / "noisy.py"
    script.write_text(
        "print('hello from init')\noptions = {'vus': 2, 'duration': '5s'}\nasync def default():\n    pass\n"
    )
    r = run_horde("inspect", "--execution-requirements", str(script))
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["maxVUs"] == 2
    assert "hello from init" in r.stderr
    r = run_horde("archive", str(script), "-O", str(tmp_path / "noisy.tar"))
    assert r.returncode == 0 and r.stdout == ""
