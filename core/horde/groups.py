"""The group tree: groups and the pass/fail counts of their checks, as k6 keeps them.

The engine calls :meth:`GroupTree.record_check` for each check condition it
runs (``group_path`` is k6's path: ``""`` at the root, ``"::a::b"`` nested)
and :meth:`GroupTree.group` when a group is entered, so a group shows up
even without checks. ``to_json()`` gives the ``root_group`` of
``--summary-export``; :meth:`GroupTree.ordered_checks` the flat list the
compact end-of-test summary shows.
"""

from __future__ import annotations

import hashlib
import threading

__all__ = ["GroupTree", "Group", "Check", "GROUP_SEPARATOR", "split_group_path"]

GROUP_SEPARATOR = "::"


def _md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()


def split_group_path(path: str) -> list[str]:
    """The group names of ``path``: ``"::a::b"`` -> ``["a", "b"]``, ``""`` -> ``[]``."""
    if path.startswith(GROUP_SEPARATOR):
        path = path[len(GROUP_SEPARATOR) :]
    return path.split(GROUP_SEPARATOR) if path else []


class Check:
    """One check of one group, with its counts. ``id`` is the MD5 of ``path``."""

    __slots__ = ("name", "path", "id", "passes", "fails")

    def __init__(self, name: str, group_path: str) -> None:
        self.name = name
        self.path = group_path + GROUP_SEPARATOR + name
        self.id = _md5(self.path)
        self.passes = 0
        self.fails = 0

    def to_json(self) -> dict:
        return {"name": self.name, "path": self.path, "id": self.id, "passes": self.passes, "fails": self.fails}

    def __repr__(self) -> str:
        return f"Check({self.path!r}, passes={self.passes}, fails={self.fails})"


class Group:
    """A group: nested groups and checks, both by name in first-seen order."""

    __slots__ = ("name", "path", "id", "groups", "checks")

    def __init__(self, name: str, parent_path: str | None) -> None:
        self.name = name
        self.path = "" if parent_path is None else parent_path + GROUP_SEPARATOR + name
        self.id = _md5(self.path)
        self.groups: dict[str, Group] = {}
        self.checks: dict[str, Check] = {}

    def to_json(self) -> dict:
        """k6's legacy group object: ``{name, path, id, groups: {name: ...}, checks: {name: ...}}``."""
        return {
            "name": self.name,
            "path": self.path,
            "id": self.id,
            "groups": {n: g.to_json() for n, g in self.groups.items()},
            "checks": {n: c.to_json() for n, c in self.checks.items()},
        }

    def __repr__(self) -> str:
        return f"Group({self.path!r})"


class GroupTree:
    """The root group and everything below it; thread-safe."""

    def __init__(self) -> None:
        self.root = Group("", None)
        self._lock = threading.Lock()
        self._totals: dict[str, list[int]] = {}

    def _group(self, path: str) -> Group:
        group = self.root
        for name in split_group_path(path):
            child = group.groups.get(name)
            if child is None:
                child = group.groups[name] = Group(name, group.path)
            group = child
        return group

    def group(self, path: str) -> Group:
        """The group at ``path`` (``"::a::b"``), created with its parents if new."""
        with self._lock:
            return self._group(path)

    def record_check(self, group_path: str, name: str, passed: bool) -> None:
        """Count one run of check ``name`` in the group at ``group_path``."""
        self.record_checks(group_path, name, 1 if passed else 0, 0 if passed else 1)

    def record_checks(self, group_path: str, name: str, passes: int, fails: int) -> None:
        """Count ``passes`` and ``fails`` of check ``name`` in the group at ``group_path`` (a worker's totals)."""
        with self._lock:
            group = self._group(group_path)
            check = group.checks.get(name)
            if check is None:
                check = group.checks[name] = Check(name, group.path)
            totals = self._totals.get(name)
            if totals is None:
                totals = self._totals[name] = [0, 0]
            check.passes += passes
            check.fails += fails
            totals[0] += passes
            totals[1] += fails

    def locked(self) -> threading.Lock:
        """The lock to hold while walking the tree from another thread (the REST API's groups)."""
        return self._lock

    def ordered_checks(self) -> list[tuple[str, int, int]]:
        """(name, passes, fails) per check name over all groups, in first-seen order (k6's compact summary)."""
        with self._lock:
            return [(name, p, f) for name, (p, f) in self._totals.items()]

    def to_json(self) -> dict:
        """The ``root_group`` object of ``--summary-export``."""
        with self._lock:
            return self.root.to_json()
