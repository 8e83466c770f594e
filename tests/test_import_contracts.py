"""The import-linter contracts of pyproject.toml hold, and fail on a deliberately bad import.

Each case copies the ``horde`` package (and a small plugin package) into a
temporary directory, plants one import, and runs the real ``lint-imports``
with this repository's contracts against the copy.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib

REPO = Path(__file__).resolve().parents[1]
LINT = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or shutil.which("lint-imports")

PLUGIN = "from horde.output import hookimpl, Params\nfrom horde.metrics import TagSet\n"


def _lint(root: Path) -> subprocess.CompletedProcess[str]:
    if LINT is None:
        pytest.fail("lint-imports is not installed in this environment (pip install import-linter)")
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [LINT, "--config", str(root / "pyproject.toml"), "--no-cache"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the core package and of this repository's contracts, with stand-ins for every plugin they name."""
    shutil.copytree(
        REPO / "core" / "horde", tmp_path / "horde", ignore=shutil.ignore_patterns("__pycache__", "templates")
    )
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    roots = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]["root_packages"]
    for name in [r for r in roots if r != "horde"]:
        (tmp_path / name).mkdir()
        (tmp_path / name / "__init__.py").write_text(PLUGIN)
    return tmp_path


def _plant(path: Path, line: str) -> None:
    path.write_text(path.read_text() + f"\n{line}  # planted by the test\n")


def test_the_contracts_hold_on_the_core_and_plugins_as_they_are(project):
    res = _lint(project)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "broken" not in res.stdout.lower().split("contracts:")[-1] or " 0 broken" in res.stdout


def test_a_plugin_importing_the_engine_breaks_the_plugin_contract(project):
    _plant(project / "horde_out_csv" / "__init__.py", "import horde.engine.run")
    res = _lint(project)
    assert res.returncode == 1
    assert "plugins use only the author API" in res.stdout and "BROKEN" in res.stdout
    assert "horde_out_csv -> horde.engine.run" in res.stdout


def test_a_plugin_importing_a_private_output_module_breaks_the_plugin_contract(project):
    _plant(project / "horde_out_influx" / "__init__.py", "from horde.output.params import Params as P")
    res = _lint(project)
    assert res.returncode == 1
    assert "horde_out_influx -> horde.output.params" in res.stdout


def test_an_upward_import_in_the_core_breaks_the_layers(project):
    _plant(project / "horde" / "metrics" / "store.py", "import horde.summary")
    res = _lint(project)
    assert res.returncode == 1
    assert "core layers" in res.stdout and "horde.metrics.store -> horde.summary" in res.stdout


def test_a_cycle_between_sibling_modules_breaks_the_acyclic_contract(project):
    _plant(project / "horde" / "output" / "buffer.py", "import horde.output.flusher")
    _plant(project / "horde" / "output" / "flusher.py", "import horde.output.buffer")
    res = _lint(project)
    assert res.returncode == 1
    assert "no import cycles" in res.stdout
