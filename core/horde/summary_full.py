"""The data of k6's ``--summary-mode full``: every metric per group and per scenario.

k6's summary output, in full mode, also aggregates each sample into the group it was
taken in (its ``group`` tag: only that group, not its parents; ``::setup`` and
``::teardown`` are left out) and, for a scenario other than ``default``, into that
scenario's own tree. :class:`GroupedSummary` does the same for horde; the engine
feeds it beside the metric store only in full mode, so other modes pay nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from typing import Any

from .metrics import Metric, Sink, new_sink

__all__ = ["SummaryNode", "GroupedSummary"]

_SEPARATOR = "::"


class SummaryNode:
    """One group's (or scenario's) sinks by metric, check counts by name and sub-groups, in first-seen order."""

    __slots__ = ("metrics", "checks", "groups")

    def __init__(self) -> None:
        self.metrics: dict[Metric, Sink] = {}
        self.checks: dict[str, list[int]] = {}
        """check name -> [passes, fails]"""
        self.groups: dict[str, SummaryNode] = {}

    def child(self, name: str) -> SummaryNode:
        """The sub-group ``name``, created when new."""
        node = self.groups.get(name)
        if node is None:
            node = self.groups[name] = SummaryNode()
        return node

    def add(self, metric: Metric, value: float, check: str | None) -> None:
        """Aggregate one sample (``check``: its ``check`` tag, counted when ``metric`` is ``checks``)."""
        sink = self.metrics.get(metric)
        if sink is None:
            sink = self.metrics[metric] = new_sink(metric.type)
        sink.add(value)
        if check is not None and metric.name == "checks":
            counts = self.checks.get(check)
            if counts is None:
                counts = self.checks[check] = [0, 0]
            counts[0 if value else 1] += 1


_Route = tuple[tuple[SummaryNode, ...], "str | None"]


class GroupedSummary:
    """k6's full-mode data model: ``root.groups`` (groups of the ``default`` scenario) and ``scenarios``."""

    def __init__(self) -> None:
        self.root = SummaryNode()
        self.scenarios: dict[str, SummaryNode] = {}
        self._routes: dict[Any, _Route] = {}  # per (interned) tag set: the nodes its samples feed
        self._lock = threading.Lock()

    def _route(self, tags: Mapping[str, str]) -> _Route:
        nodes: list[SummaryNode] = []
        node = self.root
        scenario = tags.get("scenario")
        if scenario and scenario != "default":
            node = self.scenarios.get(scenario) or self.scenarios.setdefault(scenario, SummaryNode())
            nodes.append(node)
        group = tags.get("group") or ""
        if group:
            path = group[len(_SEPARATOR) :] if group.startswith(_SEPARATOR) else group
            if path not in ("setup", "teardown"):
                for name in path.split(_SEPARATOR):
                    node = node.child(name)
                nodes.append(node)
        return tuple(nodes), tags.get("check")

    def add(self, containers: Iterable[Any]) -> None:
        """Aggregate every sample of ``containers`` into its scenario and group nodes."""
        routes = self._routes
        with self._lock:
            for c in containers:
                tags = c.tags
                route = routes.get(tags)
                if route is None:
                    route = routes[tags] = self._route(tags if tags is not None else {})
                nodes, check = route
                if not nodes:
                    continue
                for metric, value in zip(c.metrics, c.values):
                    for node in nodes:
                        node.add(metric, value, check)

    def locked(self) -> threading.Lock:
        """The lock to hold while reading the nodes."""
        return self._lock
