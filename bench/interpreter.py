"""The Python interpreter the benchmark runs horde (and the ceiling) on, and how fast it runs Python.

The same CPython version runs pure-Python code at quite different speeds
depending on how it was built: an optimised build (Debian's static
``/usr/bin/python3``; python.org's and the official Docker images', configured
``--enable-optimizations --with-lto``) against a default ``./configure
--enable-shared`` build (what pyenv makes unless told otherwise). horde's request path is Python; k6 and the
bare ceiling's event loop are compiled. So the report states the interpreter
and a speed index, and results from two interpreters are never compared as one.
"""

from __future__ import annotations

import platform
import sys
import sysconfig
import time

__all__ = ["accelerators", "describe", "speed_index"]


def describe() -> str:
    """One line: version, executable, whether libpython is a shared library, the optimisation flags it records."""
    try:
        with open("/proc/self/maps") as maps:
            shared = any("libpython" in line for line in maps)
        linkage = "libpython shared" if shared else "libpython static"
    except OSError:
        linkage = "linkage unknown"
    args = sysconfig.get_config_var("CONFIG_ARGS") or ""
    flags = [f for f in ("--enable-optimizations", "--with-lto") if f in args]
    return (
        f"{platform.python_implementation()} {platform.python_version()} ({sys.executable}; {linkage}; "
        f"{' '.join(flags) if flags else 'no optimisation flag recorded'})"
    )


def accelerators() -> str:
    """Which of horde's optional C accelerators are built (none when horde was installed without a C compiler)."""
    from horde.commands.version import accelerators as built_accelerators

    built = built_accelerators()
    if not built:
        return "no C accelerator (horde was installed without a C compiler: httptools and Python sorting)"
    return "C accelerators " + ", ".join(built)


class _Point:
    __slots__ = ("x", "y")

    def __init__(self, x: int, y: int) -> None:
        self.x, self.y = x, y


def _workload(n: int) -> int:
    """Object creation, attribute access, calls and dict/tuple work: the kind of code horde's request path is."""
    total = 0
    seen: dict[int, tuple[int, str]] = {}
    for i in range(n):
        p = _Point(i, i + 1)
        total += p.x + p.y
        seen[i & 255] = (p.x, str(i))
    return total + len(seen)


def speed_index(loops: int = 300_000, repeats: int = 3) -> float:
    """Million workload loops per CPU-second (best of ``repeats``): compares interpreters on one machine."""
    best = float("inf")
    for _ in range(repeats):
        t0 = time.process_time()
        _workload(loops)
        best = min(best, time.process_time() - t0)
    return loops / best / 1e6
