"""The output through horde's conformance kit (``horde.testing``, a pytest plugin installed with horde).

The ``horde_output`` fixture says how to build the output and how to read back what it sent: here,
every sample the test receiver (a real HTTP server) accepted. The ``horde_check`` fixture turns
``test_conformance`` into one test per check of the output contract (``pytest -k conformance -v``
lists them). Declare a known gap as ``xfail={"check_name": "why"}``; see horde's
docs/writing-an-output.md.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import pytest

from horde.output import Params
from horde.testing import OutputUnderTest, ReadSample

from {{ cookiecutter.__package }} import {{ cookiecutter.__class_name }}


def read_back(receiver) -> Iterator[ReadSample]:
    """Every sample the receiver accepted, as the kit compares them."""
    for record in receiver.records():
        value = math.nan if record["value"] is None else record["value"]
        yield ReadSample(record["metric"], record["time"], value, record["tags"], record.get("metadata"))


@pytest.fixture
def horde_output(receiver) -> OutputUnderTest:
    params = Params("{{ cookiecutter.name }}", config_argument=f"url={receiver.url},interval=200ms,retry_max=1s")
    return OutputUnderTest(
        name="{{ cookiecutter.name }}",
        build=lambda: {{ cookiecutter.__class_name }}(params),
        read_samples=lambda: read_back(receiver),
        lacks={"set_thresholds", "set_run_status", "set_test_run_stop"},  # optional hooks it does without
    )


def test_conformance(horde_check):
    horde_check()
