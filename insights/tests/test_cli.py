"""The horde-insights command line (click): options and environment defaults, one-line user errors."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from horde_insights.cli import parse_duration


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "horde_insights", *args],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )


@pytest.mark.parametrize(
    "args, env, culprit",
    [
        (["serve", "--port", "x"], {}, "'--port'"),
        (["serve", "--port", "70000"], {}, "'--port'"),
        (["serve", "--timeout", "5x"], {}, "invalid duration '5x'"),
        (["serve", "--idle-timeout", "0"], {}, "'--idle-timeout'"),
        (["serve"], {"HORDE_INSIGHTS_PORT": "eighty"}, "'--port'"),
        (["serve", "--nope"], {}, "--nope"),
        (["bogus"], {}, "No such command 'bogus'"),
        (["token", "create", "--db", "/nonexistent-dir/x.db"], {}, "cannot open database"),
    ],
)
def test_user_errors_are_one_line_naming_the_culprit(args, env, culprit):
    out = cli(*args, env=env)
    assert out.returncode in (1, 2), out
    assert out.stderr.startswith("error: ") and out.stderr.count("\n") == 1, out.stderr
    assert culprit in out.stderr and "Traceback" not in out.stderr


def test_version_help_and_a_group_without_its_command():
    assert cli("--version").stdout.strip().startswith("horde-insights ")
    helped = cli("serve", "--help")
    assert helped.returncode == 0
    for option in ("--db", "--host", "--port", "--timeout", "--public-url", "--max-body", "--idle-timeout", "-v"):
        assert option in helped.stdout
    out = cli("token")
    assert out.returncode == 2 and "create" in out.stderr and "list" in out.stderr


def test_serve_takes_its_settings_from_the_environment(tmp_path):
    from horde.testing import free_port

    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "horde_insights", "serve"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={
            **os.environ,
            "HORDE_INSIGHTS_DB": str(tmp_path / "env.db"),
            "HORDE_INSIGHTS_PORT": str(port),
            "HORDE_INSIGHTS_TIMEOUT": "1m30s",
        },
    )
    try:
        line = proc.stdout.readline()  # type: ignore[union-attr]
        assert f"listening on http://127.0.0.1:{port} " in line and "timeout 90s" in line, line
        assert str(tmp_path / "env.db") in line
    finally:
        proc.terminate()
        assert proc.wait(10) == 0


@pytest.mark.parametrize(
    "text, seconds", [("120", 120), ("90s", 90), ("2m", 120), ("1m30s", 90), ("500ms", 0.5), ("1h", 3600), ("2.5", 2.5)]
)
def test_durations(text, seconds):
    assert parse_duration(text) == seconds
