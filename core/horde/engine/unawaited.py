"""A coroutine called without ``await`` in VU code (``http.get(url)``) is a script error, not a warning.

Python only warns ("coroutine ... was never awaited") when such a coroutine
is dropped, which happens right away, on the script line that called it,
while the VU's task runs. :func:`install` routes those warnings, when they
happen in VU code, to the run's error log as an error of that iteration;
others keep Python's behaviour.
"""

from __future__ import annotations

import linecache
import re
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from ..vustate import current_vu
from .errorlog import ErrorKey

__all__ = ["install"]

_NEVER_AWAITED = re.compile(r"coroutine '(?P<name>[^']*)' was never awaited")


def install(on_error: Callable[[ErrorKey], None]) -> Callable[[], None]:
    """Report unawaited coroutines in VU code to ``on_error`` (as an error kind); returns the uninstaller."""
    previous = warnings.showwarning
    filters = list(warnings.filters)

    def show(
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: TextIO | None = None,
        line: str | None = None,
    ) -> None:
        m = _NEVER_AWAITED.search(str(message)) if category is RuntimeWarning else None
        if m is None or current_vu.get(None) is None:
            previous(message, category, filename, lineno, file, line)
            return
        call = " ".join(linecache.getline(filename, lineno).split())
        if call:
            what = f"UnawaitedCoroutine: `{call}` calls a coroutine without await (write `await ...`)"
        else:
            what = f"UnawaitedCoroutine: coroutine {m.group('name')}() called without await (write `await ...`)"
        on_error((what, f"{Path(filename).name}:{lineno}"))

    warnings.filterwarnings("always", message=r"coroutine '.*' was never awaited", category=RuntimeWarning)
    warnings.showwarning = show

    def uninstall() -> None:
        warnings.showwarning = previous
        warnings.filters[:] = filters  # type: ignore[index]  # a list at run time
        warnings._filters_mutated()  # type: ignore[attr-defined]

    return uninstall
