"""Run statuses with k6's names and numbers (``lib.RunStatus`` / ``cloudapi.RunStatus``)."""

from __future__ import annotations

import enum

__all__ = ["RunStatus"]


class RunStatus(enum.IntEnum):
    """Where a test run stands. k6 never sends TIMED_OUT; a results service sets it."""

    CREATED = -2
    VALIDATED = -1
    QUEUED = 0
    INITIALIZING = 1
    RUNNING = 2
    FINISHED = 3
    TIMED_OUT = 4
    ABORTED_USER = 5
    ABORTED_SYSTEM = 6
    ABORTED_SCRIPT_ERROR = 7
    ABORTED_THRESHOLD = 8
    ABORTED_LIMIT = 9
    ARCHIVED = 10

    @property
    def label(self) -> str:
        """Human text such as ``"aborted by user"``."""
        return _LABELS[self]

    @property
    def is_final(self) -> bool:
        """True once the run has ended (finished, timed out or aborted)."""
        return self >= RunStatus.FINISHED


_LABELS = {
    RunStatus.CREATED: "created",
    RunStatus.VALIDATED: "validated",
    RunStatus.QUEUED: "queued",
    RunStatus.INITIALIZING: "initializing",
    RunStatus.RUNNING: "running",
    RunStatus.FINISHED: "finished",
    RunStatus.TIMED_OUT: "timed out",
    RunStatus.ABORTED_USER: "aborted by user",
    RunStatus.ABORTED_SYSTEM: "aborted by system",
    RunStatus.ABORTED_SCRIPT_ERROR: "aborted by script error",
    RunStatus.ABORTED_THRESHOLD: "aborted by threshold",
    RunStatus.ABORTED_LIMIT: "aborted by limit",
    RunStatus.ARCHIVED: "archived",
}
