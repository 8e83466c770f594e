"""Errors of the output system; each prints as one line naming the culprit."""

from __future__ import annotations

from ..errors import ExitCode, UserError

__all__ = [
    "OutputError",
    "DuplicateOutputError",
    "UnknownOutputError",
    "OutputLoadError",
    "OutputValidationError",
    "OutputConfigError",
    "OutputStartError",
    "OutputStopError",
]


class OutputError(UserError):
    """Base of every output-system error."""


class DuplicateOutputError(OutputError):
    """Two providers claim the same output name (k6: ``extension already registered``)."""

    def __init__(self, name: str, first: object, second: object) -> None:
        super().__init__(
            f"output extension already registered: {name} (provided by {first} and by {second}; uninstall one of them)"
        )
        self.name = name
        self.providers = (first, second)


class UnknownOutputError(OutputError):
    """An ``--out`` name that no installed output provides."""

    def __init__(self, name: str, available: list[str]) -> None:
        super().__init__(f"invalid output type '{name}', available types are: {', '.join(sorted(available))}")
        self.name = name


class OutputLoadError(OutputError):
    """A plugin whose code could not be imported."""


class OutputValidationError(OutputError):
    """An output whose hooks do not match the hookspecs."""


class OutputConfigError(OutputError):
    """An output factory refused its configuration (k6: ``could not create the '<t>' output``)."""


class OutputStartError(OutputError):
    """An output failed to start; the outputs started before it have been stopped."""

    def __init__(self, name: str, cause: BaseException) -> None:
        super().__init__(f"output {name} failed to start: {describe_exception(cause)}")
        self.name = name
        self.cause = cause


class OutputStopError(OutputError):
    """One or more outputs failed to stop; every output was still asked to stop."""

    def __init__(self, failures: list[tuple[str, BaseException]]) -> None:
        text = "; ".join(f"{name}: {describe_exception(exc)}" for name, exc in failures)
        super().__init__(f"stopping output{'s' if len(failures) > 1 else ''} failed: {text}", ExitCode.GENERIC)
        self.failures = failures


def describe_exception(exc: BaseException) -> str:
    """``Type: message`` on one line (message alone for horde's own errors)."""
    text = " ".join(str(exc).split())
    if isinstance(exc, UserError):
        return text
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
