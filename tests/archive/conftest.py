"""Fixtures of the archive tests: a script directory with a local module and data files."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent.parent))

from horde.testing.fixtures import target  # noqa: E402, F401  (session fixture)

SCRIPT = """
from pathlib import Path

from horde import env, http, open as horde_open

import helpers

USERS = horde_open("data/users.csv").split()
SETTINGS = (Path(__file__).parent / "settings.json").read_text()

options = {"vus": 1, "iterations": 2, "tags": {"team": "blue"}}


async def default():
    await http.get(f"{env['TARGET']}/status/200?user={USERS[0]}&n={helpers.NUMBER}&who={env.get('WHO', '')}")
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A test directory: test.py importing helpers.py, reading data/users.csv and settings.json; plus an
    unused file that must not be archived."""
    root = tmp_path / "project"
    (root / "data").mkdir(parents=True)
    (root / "test.py").write_text(SCRIPT)
    (root / "helpers.py").write_text("NUMBER = 7\n")
    (root / "data" / "users.csv").write_text("alice bob\n")
    (root / "settings.json").write_text("{}\n")
    (root / "unused.txt").write_text("not read by the script\n")
    return root
