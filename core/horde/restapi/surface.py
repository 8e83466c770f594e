"""What the REST API needs from a run: the :class:`ControlSurface` protocol and the plain views it returns."""

from __future__ import annotations

import dataclasses
import enum
from typing import Any, Protocol

from ..groups import GroupTree

__all__ = ["ApiError", "ControlSurface", "ExecutionStatus", "MetricView", "NO_SETUP_DATA", "StatusView"]


class ExecutionStatus(enum.IntEnum):
    """k6's ``lib.ExecutionStatus``: the ``status`` number of ``/v1/status``."""

    CREATED = 0
    INIT_VUS = 1
    INIT_EXECUTORS = 2
    INIT_DONE = 3
    PAUSED_BEFORE_RUN = 4
    STARTED = 5
    SETUP = 6
    RUNNING = 7
    TEARDOWN = 8
    ENDED = 9
    INTERRUPTED = 10


class ApiError(Exception):
    """A failed API call: k6's error document ``{"errors": [{status, title, detail}]}`` with an HTTP status."""

    def __init__(self, title: str, detail: str, status: int = 500) -> None:
        super().__init__(f"{title}: {detail}")
        self.title = title
        self.detail = detail
        self.status = status


@dataclasses.dataclass(frozen=True)
class StatusView:
    """The attributes of k6's status document."""

    status: int
    paused: bool
    vus: int
    vus_max: int
    stopped: bool
    running: bool
    tainted: bool


@dataclasses.dataclass(frozen=True)
class MetricView:
    """One observed metric (or threshold sub-metric) as k6's metrics document shows it."""

    name: str
    type: str
    """``counter``, ``gauge``, ``rate`` or ``trend``."""
    contains: str
    """``default``, ``time`` or ``data``."""
    tainted: bool | None
    """Whether its thresholds failed at the last evaluation; None when it has none or none ran yet."""
    sample: dict[str, float]
    """k6's ``Sink.Format``: counter ``count, rate``; gauge ``value``; rate ``rate``; trend ``avg, max, med, min, p(90), p(95)``."""


NO_SETUP_DATA: Any = None
"""The setup data of a run whose setup() did not run or returned nothing (``attributes: {}``)."""


class ControlSurface(Protocol):
    """The run as the REST API sees it; the engine implements it. Methods are called from the API's threads."""

    def status(self) -> StatusView:
        """The run's status right now."""
        ...

    def set_paused(self, paused: bool) -> None:
        """Pause or resume; raise :class:`ApiError` ("Pause error") when the run cannot."""
        ...

    def scale(self, vus: int | None, vus_max: int | None) -> None:
        """Change the VUs of an externally-controlled executor; raise :class:`ApiError` when there is none."""
        ...

    def stop(self) -> None:
        """Stop the run gracefully (k6's "test run stopped from REST API", exit code 103)."""
        ...

    def metrics(self) -> list[MetricView]:
        """Every observed metric, and every metric or sub-metric that has thresholds."""
        ...

    def group_tree(self) -> GroupTree:
        """The run's groups and checks."""
        ...

    def setup_data(self) -> Any:
        """The setup data (JSON-able), or :data:`NO_SETUP_DATA`."""
        ...

    def set_setup_data(self, data: Any) -> None:
        """Replace the setup data (``PUT /v1/setup``)."""
        ...

    def run_setup(self) -> None:
        """Run the script's setup() now and keep what it returns; raise :class:`ApiError` when it fails."""
        ...

    def run_teardown(self) -> None:
        """Run the script's teardown() now with the setup data; raise :class:`ApiError` when it fails."""
        ...
