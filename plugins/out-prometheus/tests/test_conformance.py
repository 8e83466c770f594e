"""The output through horde's conformance kit, read back from a real VictoriaMetrics (one label value per check).

Remote write aggregates: each series holds a running value, so the kit
compares totals per series: a counter's total (``k6_x_total``), a trend's
count and sum (``trendStats=count,sum``: ``k6_x_count``, ``k6_x_sum``, time
trends in seconds); gauges and rates are checked for their series only.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from horde.output import Params
from horde.testing import OutputUnderTest, SeriesTotal
from horde_out_prometheus import PrometheusRWOutput
from servers import VictoriaMetrics

_checks = itertools.count()
_SUFFIXES = ("_total", "_rate", "_count", "_sum")


@pytest.fixture(scope="module")
def kit_victoria(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VictoriaMetrics]:
    server = VictoriaMetrics(tmp_path_factory.mktemp("kit-vm"))
    server.start()
    yield server
    server.stop()


def read_totals(server: VictoriaMetrics, check: str) -> Iterator[SeriesTotal]:
    """Per series: the last value of ``_total`` (a sum), ``_count`` and ``_sum``; gauges and rates as present."""
    found: dict[tuple[str, tuple[tuple[str, str], ...]], dict[str, float]] = {}
    previous = -1
    deadline = time.monotonic() + 30
    while True:  # VictoriaMetrics makes fresh rows searchable within seconds: wait until the count settles
        rows = server.export(f'{{kitcheck="{check}"}}')
        n = sum(len(r["values"]) for r in rows)
        if n == previous or time.monotonic() > deadline:
            break
        previous = n
        time.sleep(1.5)
    for row in rows:
        labels = dict(row["metric"])
        name = labels.pop("__name__")[len("k6_") :]
        labels.pop("kitcheck")
        kind = next((s for s in _SUFFIXES if name.endswith(s)), "")
        base = name[: len(name) - len(kind)] if kind else name
        last = row["values"][row["timestamps"].index(max(row["timestamps"]))]
        found.setdefault((base, tuple(sorted(labels.items()))), {})[kind] = float(last)
    for (base, tags), parts in found.items():
        scale = 1000.0 if base.endswith("_time") else 1.0
        if "_total" in parts:
            yield SeriesTotal(base, dict(tags), None, parts["_total"])
        elif "_count" in parts or "_sum" in parts:
            count = parts.get("_count")
            total = parts.get("_sum")
            yield SeriesTotal(
                base, dict(tags), None if count is None else int(count), None if total is None else total * scale
            )
        else:
            yield SeriesTotal(base, dict(tags), None, None)


@pytest.fixture
def horde_output(kit_victoria: VictoriaMetrics, tmp_path: Path) -> OutputUnderTest:
    check = f"c{next(_checks)}"
    env = {
        "K6_PROMETHEUS_RW_SERVER_URL": f"{kit_victoria.write_url}?extra_label=kitcheck={check}",
        "K6_PROMETHEUS_RW_PUSH_INTERVAL": "100ms",
        "K6_PROMETHEUS_RW_TREND_STATS": "count,sum",
        "HORDE_PROMETHEUS_RW_SPOOL_DIR": str(tmp_path / "spool"),
        "HORDE_PROMETHEUS_RW_RETRY_INTERVAL": "50ms",
    }
    return OutputUnderTest(
        name="experimental-prometheus-rw",
        build=lambda: PrometheusRWOutput(Params("experimental-prometheus-rw", environment=env)),
        read_totals=lambda: read_totals(kit_victoria, check),
        lacks={"metadata", "time"},  # k6's mapping: metadata is no label; a series keeps its running value
        xfail={
            "tags_empty_values": "Prometheus has no empty label values: a tag with an empty value is no label, "
            "as in k6's output",
        },
        stop_timeout=60.0,
        bulk_stop_timeout=600.0,
    )


def test_conformance(horde_check):
    horde_check()
