"""The csv output through horde's conformance kit (horde.testing): one item per check and configuration."""

from __future__ import annotations

import csv
import gzip
from collections.abc import Iterator
from pathlib import Path

import pytest
from horde.output import Params
from horde.testing import OutputUnderTest, ReadSample
from horde_out_csv import CsvOutput

FIXED_COLUMNS = ("metric_name", "timestamp", "metric_value")
UNIT_NS = {"unix": 1_000_000_000, "unix_nano": 1}


def _pairs(field: str) -> dict[str, str]:
    """k6's ``k=v&k=v`` field (extra_tags, metadata) as a dict."""
    out: dict[str, str] = {}
    for pair in field.split("&") if field else ():
        key, _, value = pair.partition("=")
        out[key] = value
    return out


def read_rows(path: Path, time_format: str) -> Iterator[ReadSample]:
    """Every row of a csv output file, as the kit's samples (tags from the tag columns and extra_tags)."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8", newline="") as f:  # type: ignore[operator]
        rows = csv.reader(f)
        header = next(rows)
        tag_columns = header[3:-2]
        for row in rows:
            tags = {k: v for k, v in zip(tag_columns, row[3:-2]) if v}
            tags.update(_pairs(row[-2]))
            yield ReadSample(row[0], int(row[1]) * UNIT_NS[time_format], float(row[2]), tags, _pairs(row[-1]))


@pytest.fixture(params=["unix_nano", "unix.gz"])
def horde_output(request: pytest.FixtureRequest, tmp_path: Path) -> OutputUnderTest:
    """Nanosecond times to a plain file, and k6's default (whole seconds) to a gzip file."""
    time_format, _, gz = request.param.partition(".")
    path = tmp_path / ("out.csv" + (".gz" if gz else ""))
    arg = f"fileName={path},saveInterval=200ms,timeFormat={time_format}"
    return OutputUnderTest(
        name="csv",
        build=lambda: CsvOutput(Params("csv", config_argument=arg)),
        read_samples=lambda: read_rows(path, time_format),
        time_resolution_ns=UNIT_NS[time_format],
    )


def test_conformance(horde_check):
    horde_check()
