"""Fixtures: real Prometheus and VictoriaMetrics receivers, a counting target, real k6 v1.1.0."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from horde.testing.fixtures import k6_bin  # noqa: F401

sys.path.insert(0, str(Path(__file__).parent))

from servers import CountingTarget, Prometheus, VictoriaMetrics  # noqa: E402


@pytest.fixture
def prometheus(tmp_path: Path) -> Iterator[Prometheus]:
    with Prometheus(tmp_path / "prometheus") as server:
        yield server


@pytest.fixture
def victoria(tmp_path: Path) -> Iterator[VictoriaMetrics]:
    with VictoriaMetrics(tmp_path / "vm") as server:
        yield server


@pytest.fixture
def counting_target() -> Iterator[CountingTarget]:
    target = CountingTarget()
    yield target
    target.stop()
