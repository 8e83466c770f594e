"""Script-side execution API: the current VU, environment variables, sleep, fail and abort."""

from __future__ import annotations

import asyncio
from typing import Any

from .engine.iteration import ScriptAbort
from .engine.scenarios import seconds
from .engine.vu import get_vu

__all__ = ["env", "vu", "sleep", "fail", "abort", "ScriptAbort", "FailError"]

env: dict[str, str] = {}
"""Variables given with ``-e KEY=VALUE`` (k6's ``__ENV``), filled before the script is loaded."""


class FailError(Exception):
    """Raised by :func:`fail`: ends the current iteration with an error."""


class _VU:
    """The running VU as scripts see it: ``vu.id``, ``vu.iteration``, ``vu.scenario``, ``vu.tags``, ``vu.metadata``."""

    @property
    def id(self) -> int:
        return get_vu().id

    @property
    def iteration(self) -> int:
        return get_vu().iteration

    @property
    def scenario(self) -> str:
        return get_vu().scenario

    @property
    def tags(self) -> dict[str, str]:
        """Custom tags added to every later sample of this VU (assign keys to change)."""
        return _TagView(get_vu(), "custom_tags")

    @property
    def metadata(self) -> dict[str, str]:
        """Custom metadata (non-indexed, e.g. ``trace_id``) added to every later sample of this VU."""
        return _TagView(get_vu(), "custom_metadata")


class _TagView(dict):
    def __init__(self, state: Any, attr: str) -> None:
        super().__init__(getattr(state, attr))
        self._state, self._attr = state, attr

    def _sync(self) -> None:
        setattr(self._state, self._attr, dict(self))
        self._state.retag()

    def __setitem__(self, key: str, value: Any) -> None:
        super().__setitem__(str(key), str(value))
        self._sync()

    def __delitem__(self, key: str) -> None:
        super().__delitem__(key)
        self._sync()


vu = _VU()


async def sleep(duration: float | str) -> None:
    """Pause this VU for ``duration`` seconds (or a duration string such as ``"500ms"``)."""
    await asyncio.sleep(seconds(duration) if isinstance(duration, str) else float(duration))


def fail(message: str = "") -> None:
    """End the current iteration with an error (logged; the run goes on), like k6's ``fail()``."""
    raise FailError(message)


def abort(message: str = "") -> None:
    """Stop the whole test run now: status aborted, exit code 108 (k6's ``exec.test.abort()``)."""
    raise ScriptAbort(message or "test aborted")
