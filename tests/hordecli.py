"""Running the ``horde`` console script of the test environment as a subprocess."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent


def horde_script() -> str:
    found = shutil.which("horde", path=str(BIN)) or shutil.which("horde")
    if not found:
        pytest.fail("the horde console script is not installed in this environment (pip install -e .)")
    return found


def run_horde(*args, sites=(), env=None, timeout=60):
    """Run ``horde ARGS`` with ``sites`` on PYTHONPATH and no HORDE_* variables from the caller."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("HORDE_") and k != "PYTHONPATH"}
    if sites:
        environ["PYTHONPATH"] = os.pathsep.join(str(s) for s in sites)
    environ.update(env or {})
    return subprocess.run([horde_script(), *args], capture_output=True, text=True, env=environ, timeout=timeout)
