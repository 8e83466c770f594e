"""Errors that end a run or a command, with k6's abort reasons and exit codes."""

from __future__ import annotations

import enum

from .runstatus import RunStatus

__all__ = ["ExitCode", "AbortReason", "RunError", "UserError", "ScriptAbort"]


class ExitCode(enum.IntEnum):
    """k6's process exit codes (errext/exitcodes), plus horde's :attr:`OUTPUT_LOSS`."""

    OK = 0
    CLOUD_TEST_RUN_FAILED = 97
    THRESHOLDS_HAVE_FAILED = 99
    SETUP_TIMEOUT = 100
    TEARDOWN_TIMEOUT = 101
    GENERIC_TIMEOUT = 102
    SCRIPT_STOPPED_FROM_REST_API = 103
    INVALID_CONFIG = 104
    EXTERNAL_ABORT = 105
    CANNOT_START_REST_API = 106
    SCRIPT_EXCEPTION = 107
    SCRIPT_ABORTED = 108
    MARKED_AS_FAILED = 110
    OUTPUT_LOSS = 112
    """horde's own (k6 has none): the run was otherwise clean but an output lost samples;
    ``--allow-output-loss`` turns it off."""
    GENERIC = 255


class AbortReason(enum.IntEnum):
    """Why a run ended early (k6's errext.AbortReason)."""

    USER = 1
    THRESHOLD = 2
    THRESHOLDS_AFTER_TEST_END = 3
    SCRIPT_ERROR = 4
    SCRIPT_ABORT = 5
    TIMEOUT = 6
    OUTPUT = 7

    @property
    def run_status(self) -> RunStatus:
        """The run status k6's cloud output reports for this reason."""
        return _STATUS_BY_REASON[self]


_STATUS_BY_REASON = {
    AbortReason.USER: RunStatus.ABORTED_USER,
    AbortReason.THRESHOLD: RunStatus.ABORTED_THRESHOLD,
    AbortReason.THRESHOLDS_AFTER_TEST_END: RunStatus.FINISHED,
    AbortReason.SCRIPT_ERROR: RunStatus.ABORTED_SCRIPT_ERROR,
    AbortReason.SCRIPT_ABORT: RunStatus.ABORTED_USER,
    AbortReason.TIMEOUT: RunStatus.ABORTED_LIMIT,
    AbortReason.OUTPUT: RunStatus.ABORTED_SYSTEM,
}


class RunError(Exception):
    """The final error of a run: a message, why it ended and the exit code it gives.

    Outputs receive it in ``stop(error)``; ``run_status`` is what a results
    service should record.
    """

    def __init__(self, message: str, *, reason: AbortReason | None = None, exit_code: int = ExitCode.GENERIC) -> None:
        super().__init__(message)
        self.reason = reason
        self.exit_code = int(exit_code)

    @property
    def run_status(self) -> RunStatus:
        return self.reason.run_status if self.reason is not None else RunStatus.ABORTED_SYSTEM


class UserError(Exception):
    """A mistake the user can fix: printed as one line naming the culprit, no traceback."""

    def __init__(self, message: str, exit_code: int = ExitCode.GENERIC) -> None:
        super().__init__(message)
        self.exit_code = int(exit_code)


class ScriptAbort(Exception):
    """Raised by ``horde.abort()``: the whole run stops, exit code 108."""
