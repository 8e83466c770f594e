"""k6's ``consoleOutput``: the script's console logger (``horde.console``) written to a file instead."""

from __future__ import annotations

import logging
import os

from ..errors import ExitCode, UserError

__all__ = ["CONSOLE_LOGGER", "attach_console_file"]

CONSOLE_LOGGER = "horde.console"
"""The logger scripts use as k6's ``console``: ``logging.getLogger("horde.console").info(...)``."""


class _MessageOnly(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return record.getMessage()


def attach_console_file(path: str | None) -> None:
    """Send the ``horde.console`` logger to ``path`` (appended, one message a line), not to stderr; None: no-op."""
    if not path:
        return
    log = logging.getLogger(CONSOLE_LOGGER)
    full = os.path.abspath(path)
    if any(isinstance(h, logging.FileHandler) and h.baseFilename == full for h in log.handlers):
        return
    try:
        handler = logging.FileHandler(path, encoding="utf-8")
    except OSError as exc:
        raise UserError(f"consoleOutput {path}: {exc.strerror}", ExitCode.INVALID_CONFIG) from None
    handler.setFormatter(_MessageOnly())
    log.addHandler(handler)
    log.propagate = False
