"""Which local files a script loads: the modules it imports and the files it reads while it loads.

k6's archive records every module and every ``open()`` of the init context;
horde does the same for Python: modules newly imported from the script's
directory tree, and files opened for reading there (by ``open()``,
``horde.open()`` or anything else that opens a file), seen through an audit
hook that only records while a :class:`LoadRecorder` is active.
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path
from typing import Any

__all__ = ["LoadRecorder"]

_active: list[LoadRecorder] = []
_hook_lock = threading.Lock()
_hook_installed = False
_WRITE_MODES = frozenset("wax+")


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if event != "open" or not _active:
        return
    path, mode = args[0], args[1] if len(args) > 1 else "r"
    if isinstance(path, int) or path is None:
        return
    if isinstance(mode, str) and _WRITE_MODES & set(mode):
        return
    for recorder in _active:
        recorder.saw(path)


def _install_hook() -> None:
    global _hook_installed
    with _hook_lock:
        if not _hook_installed:  # an audit hook cannot be removed: one for the process, idle unless recording
            sys.addaudithook(_audit)
            _hook_installed = True


class LoadRecorder:
    """While active (``with``), collects the files under ``root`` that the process opens or imports.

    :attr:`files` are the paths found, relative to ``root``; :attr:`outside`
    the local files seen outside ``root`` (they cannot be archived).
    """

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self._opened: set[Path] = set()
        self._modules_before: set[str] = set()
        self.files: list[str] = []
        self.outside: list[str] = []

    def saw(self, path: Any) -> None:
        """Note that ``path`` was opened for reading."""
        try:
            self._opened.add(Path(os.fsdecode(path)).resolve())
        except (TypeError, ValueError, OSError):
            pass

    def __enter__(self) -> LoadRecorder:
        _install_hook()
        self._modules_before = set(sys.modules)
        _active.append(self)
        return self

    def __exit__(self, *exc: object) -> None:
        _active.remove(self)
        modules = set()
        for name in set(sys.modules) - self._modules_before:
            filename = getattr(sys.modules.get(name), "__file__", None)
            if filename:
                modules.add(Path(filename).resolve())
        inside, outside = set(), set()
        for path in self._opened | modules:
            if "__pycache__" in path.parts or path.suffix == ".pyc" or not path.is_file():
                continue
            if path.is_relative_to(self.root):
                inside.add(path.relative_to(self.root).as_posix())
            elif path in self._opened and path.suffix != ".py" and not _is_system(path):
                outside.add(str(path))  # data read from elsewhere: say it is not archived
        self.files, self.outside = sorted(inside), sorted(outside)


_SYSTEM_DIRS = ("/proc/", "/sys/", "/dev/", "/etc/", "/usr/", "/lib/", "/run/")


def _is_system(path: Path) -> bool:
    """True for the interpreter's, installed packages' and the system's files (never worth a warning)."""
    text = str(path)
    prefixes = {str(Path(p).resolve()) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
    return (
        "site-packages" in path.parts
        or "dist-packages" in path.parts
        or text.startswith(_SYSTEM_DIRS)
        or any(text.startswith(p + os.sep) for p in prefixes)
    )
