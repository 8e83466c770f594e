"""The output through horde's conformance kit (``horde.testing``, a pytest plugin installed with horde).

The ``horde_output`` fixture says how to build the output and how to read back what it wrote; the
``horde_check`` fixture turns ``test_conformance`` into one test per check of the output contract
(``pytest -k conformance -v`` lists them). This output keeps per-interval aggregates per metric, so it
reads back per-metric totals and declares that it keeps no tags, metadata or sample times. Declare a
known gap as ``xfail={"check_name": "why"}``; see horde's docs/writing-an-output.md.
"""

from __future__ import annotations

import json
from pathlib import Path
from collections.abc import Iterator

import pytest

from horde.output import Params
from horde.testing import OutputUnderTest, SeriesTotal

from {{ cookiecutter.__package }} import {{ cookiecutter.__class_name }}


def read_totals(path: Path) -> Iterator[SeriesTotal]:
    """Sample count and value sum per metric, summed over the file's interval lines."""
    totals: dict[str, list[float]] = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            record = json.loads(line)
            if record["type"] != "interval":
                continue
            for name, agg in record["metrics"].items():
                acc = totals.setdefault(name, [0, 0.0])
                acc[0] += agg["count"]
                acc[1] += agg["sum"]
    for name, (count, total) in totals.items():
        yield SeriesTotal(name, {}, int(count), total)


@pytest.fixture
def horde_output(tmp_path: Path) -> OutputUnderTest:
    path = tmp_path / "out.jsonl"
    params = Params("{{ cookiecutter.name }}", config_argument=f"file={path},interval=200ms")
    return OutputUnderTest(
        name="{{ cookiecutter.name }}",
        build=lambda: {{ cookiecutter.__class_name }}(params),
        read_totals=lambda: read_totals(path),
        lacks={"tags", "metadata", "time"},
    )


def test_conformance(horde_check):
    horde_check()
