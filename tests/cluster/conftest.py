"""Fixtures of the local cluster tests: a target of their own (its request count starts at 0)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent.parent))

from horde.testing.target import TargetServer, start_target  # noqa: E402


@pytest.fixture
def fresh_target() -> Iterator[TargetServer]:
    """A target server for one test: ``requests`` counts only that test's requests."""
    server = start_target()
    try:
        yield server
    finally:
        server.stop()
