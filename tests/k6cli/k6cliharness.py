"""Helpers of the k6 command-line tests (a module name of its own: test sessions collect several conftests)."""

from __future__ import annotations

import os

TIMEOUT = 60


def clean_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment without HORDE_*/K6_* variables, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HORDE_", "K6_")) and k != "PYTHONPATH"}
    env["K6_NO_USAGE_REPORT"] = "true"
    env.update(extra or {})
    return env
