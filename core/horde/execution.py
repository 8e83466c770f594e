"""Script-side execution API: the current VU, environment variables, sleep, fail and abort."""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import Awaitable, Generator
from typing import Any

from .durations import option_seconds as seconds
from .errors import ScriptAbort
from .sleeper import sleep_future
from .vustate import current_vu, get_vu

__all__ = ["env", "vu", "sleep", "fail", "abort", "ScriptAbort", "FailError"]

_current_vu_get = current_vu.get


class _Env(dict):
    """``-e KEY=VALUE`` variables; inside a VU, its scenario's ``env`` settings come first (as k6's ``__ENV``)."""

    def _scenario_env(self) -> dict[str, str]:
        try:
            return current_vu.get().env
        except LookupError:
            return {}

    def __getitem__(self, key: str) -> str:
        vu = _current_vu_get(None)
        if vu is not None:
            scenario = vu.env
            if scenario and key in scenario:
                return scenario[key]
        return dict.__getitem__(self, key)

    def get(self, key: str, default: Any = None) -> Any:
        scenario = self._scenario_env()
        return scenario[key] if key in scenario else super().get(key, default)

    def __contains__(self, key: object) -> bool:
        return key in self._scenario_env() or super().__contains__(key)


env: dict[str, str] = _Env()
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


def sleep(duration: float | str) -> Awaitable[None]:
    """Pause this VU for ``duration`` seconds (or a duration string such as ``"500ms"``); await it.

    The awaitable wraps a bare future woken by the loop's one sleep timer (no
    coroutine frame, no timer per sleep): sleeping VUs are light. Dropped
    without ``await``, it warns as a coroutine does (a script error in a VU).
    """
    delay = seconds(duration) if isinstance(duration, str) else float(duration)
    if not delay > 0:  # 0, negative or NaN: give the loop one turn, as asyncio.sleep(0)
        return asyncio.sleep(0)
    return _Sleep(sleep_future(delay))


class _Sleep:
    """What :func:`sleep` returns: awaiting it awaits the future; the object itself is gone once awaited."""

    __slots__ = ("_future", "_awaited")

    def __init__(self, future: asyncio.Future[None]) -> None:
        self._future = future
        self._awaited = False

    def __await__(self) -> Generator[Any, None, None]:
        self._awaited = True
        return self._future.__await__()

    def __del__(self) -> None:
        if not self._awaited:
            self._future.cancel()
            # the message of a dropped coroutine, at the line that dropped it: the engine reports it as one
            warnings.warn("coroutine 'sleep' was never awaited", RuntimeWarning, stacklevel=2)


def fail(message: str = "") -> None:
    """End the current iteration with an error (logged; the run goes on), like k6's ``fail()``."""
    raise FailError(message)


def abort(message: str = "") -> None:
    """Stop the whole test run now: status aborted, exit code 108 (k6's ``exec.test.abort()``)."""
    raise ScriptAbort(message or "test aborted")
