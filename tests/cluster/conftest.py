"""Fixtures of the local cluster tests: a target of their own (its request count starts at 0)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent.parent))

from horde.testing.target import TargetServer, start_target  # noqa: E402

RUNNER_FLAGS = ("--paused", "--address", "--execution-segment", "--execution-segment-sequence", "--instance")
"""What k6-operator's runner command and the Indexed Job need of ``horde run``."""


@pytest.fixture(autouse=True, scope="session")
def runner_flags() -> None:
    """Skip (fail with CI=true) while ``horde run`` lacks the flags of a k6 instance (their branches not merged)."""
    from hordecli import run_horde

    r = run_horde("run", "--help", timeout=30)
    missing = [flag for flag in RUNNER_FLAGS if flag not in r.stdout]
    if missing:
        message = f"horde run has no {', '.join(missing)}: the local cluster needs the REST API and segments"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture
def fresh_target() -> Iterator[TargetServer]:
    """A target server for one test: ``requests`` counts only that test's requests."""
    server = start_target()
    try:
        yield server
    finally:
        server.stop()
