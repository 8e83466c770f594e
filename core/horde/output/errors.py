"""Errors of the output system; each prints as one line naming the culprit."""

from __future__ import annotations

from ..errors import ExitCode, UserError

__all__ = [
    "OutputError",
    "DuplicateOutputError",
    "UnknownOutputError",
    "OutputLoadError",
    "OutputValidationError",
    "PluginModuleError",
    "OutputConfigError",
    "OutputStartError",
    "OutputStopError",
]


class OutputError(UserError):
    """Base of every output-system error."""


class DuplicateOutputError(OutputError):
    """Two providers claim the same output name (k6: ``extension already registered``).

    ``places`` name each claimant: ``distribution version`` for an installed
    distribution, ``module:qualname registered at file:line`` for code.
    """

    def __init__(self, name: str, *places: object) -> None:
        hint = "uninstall one of them" if all(" registered at " not in str(p) for p in places) else "remove one of them"
        claimants = " and by ".join(str(p) for p in places)
        super().__init__(f"output extension already registered: {name} (provided by {claimants}; {hint})")
        self.name = name
        self.places = tuple(str(p) for p in places)


class UnknownOutputError(OutputError):
    """An ``--out`` name that no installed output provides."""

    def __init__(self, name: str, available: list[str]) -> None:
        super().__init__(f"invalid output type '{name}', available types are: {', '.join(sorted(available))}")
        self.name = name


class OutputLoadError(OutputError):
    """A plugin whose code could not be imported."""


class OutputValidationError(OutputError):
    """An output that is not one: a factory returning None or an object without hooks,
    hooks that do not match the hookspecs, or a ``description()`` that is not a string."""


class PluginModuleError(OutputError):
    """A module named in ``HORDE_PLUGINS`` or ``--plugin`` that cannot be imported (exit 104)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, ExitCode.INVALID_CONFIG)


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
