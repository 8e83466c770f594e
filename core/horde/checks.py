"""``check`` and ``group`` for scripts, as in k6."""

from __future__ import annotations

import contextlib
import inspect
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from .vustate import get_vu

__all__ = ["check", "group"]


def check(value: Any, checks: Mapping[str, Callable[[Any], Any] | Any], tags: Mapping[str, str] | None = None) -> bool:
    """Evaluate each named condition on ``value``; emit a ``checks`` sample (1 pass, 0 fail) per condition.

    A condition is a callable taking ``value`` or a plain truthy value. Returns
    True when all pass.
    """
    vu = get_vu()
    base = vu.tags.with_tags(tags) if tags else vu.tags
    with_check = "check" in vu.system_tags
    metric = vu.builtin.checks
    recorder = vu.run.record_check if vu.run is not None else None
    ok_all = True
    for name, cond in checks.items():
        ok = bool(cond(value) if callable(cond) else cond)
        ok_all &= ok
        vu.sample(metric, 1.0 if ok else 0.0, base.with_tag("check", name) if with_check else base)
        if recorder is not None:
            recorder(vu.group_path, name, ok)
    return ok_all


class group(contextlib.ContextDecorator):
    """``with group("name"):`` — nest samples under a group (tag ``group="::name"``), emitting ``group_duration``.

    ``await group("name", fn)`` runs ``fn`` (sync or async) inside the group and returns its result.
    """

    def __init__(self, name: str, fn: Callable[[], Any] | None = None) -> None:
        if "::" in name:
            raise ValueError(f"group and check names may not contain '::' (got {name!r})")
        self.name = name
        self.fn = fn

    def __enter__(self) -> group:
        vu = get_vu()
        self._vu = vu
        self._parent = vu.group_path
        vu.group_path = f"{self._parent}::{self.name}"
        vu.retag()
        if vu.run is not None:
            vu.run.groups.group(vu.group_path)
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc: Any) -> None:
        vu = self._vu
        vu.sample(vu.builtin.group_duration, (time.perf_counter() - self._start) * 1000.0)
        vu.group_path = self._parent
        vu.retag()

    def __await__(self) -> Iterator[Any]:
        return self._run().__await__()

    async def _run(self) -> Any:
        if self.fn is None:
            raise TypeError("await group(name, fn) needs a function; use 'with group(name):' otherwise")
        with self:
            result = self.fn()
            if inspect.isawaitable(result):
                result = await result
            return result
