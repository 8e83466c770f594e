"""VUState: what a running virtual user knows, reachable from script code through a contextvar."""

from __future__ import annotations

import contextvars
import math
import time
from collections.abc import Callable
from typing import Any

from .metrics import BuiltinMetrics, ConnectedSamples, Sample, TagSet
from .metrics.metric import Metric

__all__ = ["VUState", "current_vu", "get_vu"]

current_vu: contextvars.ContextVar[VUState] = contextvars.ContextVar("horde_current_vu")
"""The VU whose code is running (set in every VU task)."""


class VUState:
    """One virtual user's state during a run.

    ``tags`` is the tag set every sample of this VU starts from: test-wide
    tags, scenario tags, the ``scenario`` and ``group`` system tags (when
    enabled) and custom VU tags; it changes when a group is entered or left.
    ``metadata`` holds ``vu``/``iter`` when those system tags are enabled,
    else None. ``emit`` hands a container to the run's metric pump.
    ``bytes_sent``/``bytes_received`` are added to by the HTTP client and
    reported (then reset) as ``data_sent``/``data_received`` at the end of
    every iteration. ``http`` is the HTTP client state of this VU (connection
    pool, cookie jar), owned by :mod:`horde.http`.
    """

    def __init__(
        self,
        id: int,
        *,
        builtin: BuiltinMetrics,
        emit: Callable[[Any], None],
        system_tags: frozenset[str],
        base_tags: TagSet,
        scenario: str = "default",
        options: dict | None = None,
        registry: Any = None,
    ) -> None:
        self.id = id
        self.builtin = builtin
        self.emit = emit
        self.system_tags = system_tags
        self.scenario = scenario
        self.options = options or {}
        self.registry = registry
        self.iteration = -1
        """The current iteration of this VU in its scenario (0-based; -1 before the first)."""
        self.group_path = ""
        self.custom_tags: dict[str, str] = {}
        self.custom_metadata: dict[str, str] = {}
        self.bytes_sent = 0
        self.bytes_received = 0
        self.http: Any = None
        self.run: Any = None
        """The run this VU belongs to (checks and groups report to it), or None."""
        self.env: dict[str, str] = {}
        """The scenario's own ``env`` settings."""
        self.deadline = math.inf
        """``time.monotonic()`` after which an iteration still running is interrupted (gracefulStop)."""
        self.min_iteration = 0.0
        """Seconds a complete iteration lasts at least (k6's ``minIterationDuration``): the rest is slept."""
        self._base = base_tags
        self.tags = base_tags
        self.metadata: dict[str, str] | None = None
        self.retag()

    def retag(self) -> None:
        """Recompute ``tags`` and ``metadata`` after the scenario, group or custom tags changed."""
        tags = self._base
        st = self.system_tags
        if "scenario" in st:
            tags = tags.with_tag("scenario", self.scenario)
        if "group" in st:
            tags = tags.with_tag("group", self.group_path)
        if self.custom_tags:
            tags = tags.with_tags(self.custom_tags)
        self.tags = tags
        md: dict[str, str] = {}
        if "vu" in st:
            md["vu"] = str(self.id)
        if "iter" in st and self.iteration >= 0:
            md["iter"] = str(self.iteration)
        md.update(self.custom_metadata)
        self.metadata = md or None

    def close(self) -> None:
        """Release what this VU holds (its HTTP connections) when it will run no more."""
        client, self.http = self.http, None
        if client is not None:
            client.close()

    def sample(self, metric: Metric, value: float, tags: TagSet | None = None) -> None:
        """Emit one sample of ``metric`` now, with this VU's tags (or ``tags``)."""
        self.emit(Sample(metric, time.time_ns(), value, self.tags if tags is None else tags, self.metadata))

    def samples(
        self,
        metrics: tuple[Metric, ...],
        values: tuple[float, ...],
        tags: TagSet | None = None,
        when: int | None = None,
    ) -> None:
        """Emit connected samples sharing one time and tag set."""
        self.emit(
            ConnectedSamples(
                metrics,
                values,
                time.time_ns() if when is None else when,
                self.tags if tags is None else tags,
                self.metadata,
            )
        )


def get_vu() -> VUState:
    """The running VU; raises ``RuntimeError`` outside VU code (for example in the init context)."""
    try:
        return current_vu.get()
    except LookupError:
        raise RuntimeError("this can only be called from VU code (default, setup or teardown)") from None
