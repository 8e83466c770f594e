"""The web-dashboard output through horde's conformance kit (horde.testing): one item per check and configuration.

The dashboard aggregates, so the kit reads back per-metric totals (sample count and value sum)
from the exported report's embedded data: what the report shows is what was sent.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import report_data
from horde.output import Params
from horde.testing import OutputUnderTest, SeriesTotal, free_port
from horde_out_dashboard import DashboardOutput


def read_totals(path: Path) -> Iterator[SeriesTotal]:
    data = report_data(path)
    for name, totals in data["cumulative"]["totals"].items():
        yield SeriesTotal(name, {}, totals["count"], totals["sum"])


@pytest.fixture(params=["server", "no-server"])
def horde_output(request: pytest.FixtureRequest, tmp_path: Path) -> OutputUnderTest:
    """With the HTTP server on a free port, and with the server disabled (port=-1, export only)."""
    report = tmp_path / "report.html"

    def build() -> DashboardOutput:
        port = free_port() if request.param == "server" else -1
        return DashboardOutput(Params("web-dashboard", config_argument=f"port={port}&period=200ms&export={report}"))

    return OutputUnderTest(
        name="web-dashboard",
        build=build,
        read_totals=lambda: read_totals(report),
        lacks={"tags", "metadata", "time"},
    )


def test_conformance(horde_check):
    horde_check()
