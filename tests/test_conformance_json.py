"""The built-in json output through the conformance kit (horde.testing): one item per check."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from horde.output import Params
from horde.outputs.json import JsonOutput
from horde.testing import OutputUnderTest, ReadSample

_TIME = re.compile(r"^(?P<base>[^.]+?)(?:\.(?P<frac>\d+))?(?P<zone>Z|[+-]\d\d:\d\d)$")


def parse_time(text: str) -> int:
    """Nanoseconds since the epoch of Go's RFC 3339 (nano) text."""
    m = _TIME.match(text)
    assert m, text
    zone = "+00:00" if m["zone"] == "Z" else m["zone"]
    seconds = int(datetime.fromisoformat(m["base"] + zone).timestamp())
    return seconds * 1_000_000_000 + int((m["frac"] or "").ljust(9, "0"))


def read_points(path: Path) -> Iterator[ReadSample]:
    """Every Point line of a json output file, as the kit's samples."""
    with open(path, encoding="utf-8") as f:
        for line in f:
            rec = json.loads(line)
            if rec["type"] != "Point":
                continue
            data = rec["data"]
            yield ReadSample(
                rec["metric"], parse_time(data["time"]), float(data["value"]), data["tags"] or {}, data.get("metadata")
            )


@pytest.fixture
def horde_output(tmp_path: Path) -> OutputUnderTest:
    path = tmp_path / "out.json"
    return OutputUnderTest(
        name="json",
        build=lambda: JsonOutput(Params("json", config_argument=str(path))),
        read_samples=lambda: read_points(path),
    )


def test_conformance(horde_check):
    horde_check()
