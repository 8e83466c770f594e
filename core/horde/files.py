"""``horde.open``: read a file next to the script, as k6's ``open()`` does.

A relative path is resolved against the directory of the module that calls
``open`` (the script, or a module it imports), never the working directory,
so a script reads the same file wherever it is run from — and from an
archive, where ``horde archive`` packed every file the script read while it
loaded.
"""

from __future__ import annotations

import builtins
import os
import sys
from pathlib import Path

__all__ = ["open"]


def _caller_dir(depth: int) -> Path:
    frame = sys._getframe(depth + 1)
    filename = frame.f_globals.get("__file__")
    return Path(filename).resolve().parent if filename else Path.cwd()


def open(path: str | os.PathLike[str], mode: str = "r") -> str | bytes:  # noqa: A001 (k6's name)
    """The content of ``path``: text for ``mode="r"``, bytes for ``mode="b"`` (or ``"rb"``).

    A relative ``path`` is relative to the calling module's directory.
    """
    if mode not in ("r", "b", "rb"):
        raise ValueError(f"horde.open: mode must be 'r' or 'b', not {mode!r}")
    target = Path(path)
    if not target.is_absolute():
        target = _caller_dir(1) / target
    if mode == "r":
        with builtins.open(target, encoding="utf-8") as f:
            return f.read()
    with builtins.open(target, "rb") as f:
        return f.read()
