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
    d = tmp_path / "prometheus"
    d.mkdir()
    server = Prometheus(d)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def victoria(tmp_path: Path) -> Iterator[VictoriaMetrics]:
    d = tmp_path / "vm"
    d.mkdir()
    server = VictoriaMetrics(d)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def counting_target() -> Iterator[CountingTarget]:
    target = CountingTarget()
    yield target
    target.stop()
