"""The cloud output through horde's conformance kit, read back from a real horde-insights process.

Insights keeps aggregates per time bucket and series (metric + tags), so the kit compares per-series
totals: sample counts (trends, rates, gauges) and value sums (all types).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from horde.output import Params
from horde.testing import OutputUnderTest, SeriesTotal
from horde_insights.store import open_store
from horde_insights.testing import InsightsProcess
from horde_out_cloud import CloudOutput


@pytest.fixture(scope="module")
def kit_insights(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InsightsProcess]:
    d = tmp_path_factory.mktemp("kit-insights")
    server = InsightsProcess(str(d / "insights.db"), log=d / "insights.log").start()
    yield server
    server.stop()


def read_totals(server: InsightsProcess, output: Any) -> Iterator[SeriesTotal]:
    """Per series of the output's run, what the service stored, summed over its time buckets."""
    if output.run_id is None:
        return
    store = open_store(server.db)
    try:
        rows = store.points(int(output.run_id))
    finally:
        store.close()
    totals: dict[tuple[str, str, tuple[tuple[str, str], ...]], list[float]] = {}
    for metric, mtype, labels, _t, value, count, total, *_ in rows:
        key = (metric, mtype, tuple(sorted(labels.items())))
        acc = totals.setdefault(key, [0.0, 0.0, 0.0])
        acc[0] += value or 0.0
        acc[1] += count or 0
        acc[2] += total or 0.0
    for (metric, mtype, labels), (value, count, total) in totals.items():
        tags = dict(labels)
        if mtype == "counter":
            yield SeriesTotal(metric, tags, None, value)
        elif mtype == "rate":
            yield SeriesTotal(metric, tags, int(count), value)
        else:  # gauge, trend: samples and their sum
            yield SeriesTotal(metric, tags, int(count), total)


@pytest.fixture
def horde_output(kit_insights: InsightsProcess, tmp_path: Path) -> OutputUnderTest:
    env = {
        "HORDE_CLOUD_HOST": kit_insights.url,
        "HORDE_CLOUD_TOKEN": kit_insights.token(),
        "HORDE_CLOUD_SPOOL_DIR": str(tmp_path / "spool"),
    }
    built: list[Any] = []

    def build() -> CloudOutput:
        built.append(CloudOutput(Params("cloud", environment=env)))
        return built[-1]

    return OutputUnderTest(
        name="cloud",
        build=build,
        read_totals=lambda: read_totals(kit_insights, built[-1]),
        lacks={"metadata", "time"},  # aggregated per time bucket and series, as k6's cloud protocol is
        stop_timeout=60.0,
        bulk_stop_timeout=600.0,
    )


def test_conformance(horde_check):
    horde_check()
