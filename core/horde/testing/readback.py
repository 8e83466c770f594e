"""What an output author hands the conformance kit: how to build the output and read back its data."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from typing import Any

__all__ = ["CAPABILITIES", "OPTIONAL_HOOKS", "OutputUnderTest", "ReadSample", "SeriesTotal"]

OPTIONAL_HOOKS = ("set_thresholds", "set_test_run_stop", "set_run_status", "report")
"""The optional hooks; an output that does not implement one may also name it in ``lacks``."""

CAPABILITIES = frozenset({"read_back", "tags", "metadata", "time", *OPTIONAL_HOOKS})
"""What an output may declare it lacks: reading back its data, keeping tags, metadata or each
sample's time, and the optional hooks."""


@dataclasses.dataclass(frozen=True)
class ReadSample:
    """One sample as the output stored it, parsed back by the author's reader.

    ``time`` is in nanoseconds (None when the output keeps no time);
    ``metadata`` None or empty when the sample had none.
    """

    metric: str
    time: int | None
    value: float
    tags: Mapping[str, str]
    metadata: Mapping[str, str] | None = None


@dataclasses.dataclass(frozen=True)
class SeriesTotal:
    """What an aggregating output stored for one series (metric + tag set; ``{}`` when it keeps no
    tags) over the whole run.

    ``count`` is the number of samples and ``value_sum`` the sum of their values;
    either is None when the store does not keep it (a counter's sample count, a gauge's sum).
    """

    metric: str
    tags: Mapping[str, str]
    count: int | None
    value_sum: float | None


@dataclasses.dataclass
class OutputUnderTest:
    """How the kit builds an output and reads back what it wrote (the ``horde_output`` fixture's value).

    ``build()`` returns a new output object, made as horde makes it (``factory(Params(...))``);
    the kit calls it once per check. After ``stop`` the kit calls ``read_samples()`` (every stored
    sample, may be a generator) or, for stores that aggregate, ``read_totals()``; give neither
    when the data cannot be read back, and declare ``"read_back"`` in ``lacks``.

    ``lacks`` names capabilities from :data:`CAPABILITIES` the output does not have: checks that
    need one are skipped with that reason, and comparisons ignore what the output does not keep.
    ``xfail`` maps a check name to the reason it is a known gap (a strict expected failure: once
    the gap is fixed the check turns red until the entry goes). ``time_resolution_ns`` is the
    precision the output keeps times at (10**9 for whole seconds). ``stop_timeout`` bounds every
    ``stop``, ``bulk_stop_timeout`` the one of the million-sample check and ``read_timeout`` each
    read-back, in seconds.
    """

    build: Callable[[], Any]
    read_samples: Callable[[], Iterable[ReadSample]] | None = None
    read_totals: Callable[[], Iterable[SeriesTotal]] | None = None
    lacks: frozenset[str] | set[str] | tuple[str, ...] = frozenset()
    xfail: Mapping[str, str] = dataclasses.field(default_factory=dict)
    time_resolution_ns: int = 1
    stop_timeout: float = 30.0
    bulk_stop_timeout: float = 300.0
    read_timeout: float = 300.0
    name: str = "output"

    def __post_init__(self) -> None:
        unknown = set(self.lacks) - CAPABILITIES
        if unknown:
            raise ValueError(f"unknown capabilities in lacks: {sorted(unknown)}; known: {sorted(CAPABILITIES)}")
        self.lacks = frozenset(self.lacks)
        if self.read_samples is None and self.read_totals is None:
            self.lacks = self.lacks | {"read_back"}
        if self.time_resolution_ns < 1:
            raise ValueError("time_resolution_ns must be at least 1")

    @property
    def per_sample(self) -> bool:
        """True when the output's data reads back sample by sample."""
        return self.read_samples is not None
