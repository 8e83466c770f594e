"""setup() once and teardown() once across the instances of a distributed run.

An output that joins a run shared by several horde instances (the cloud
output with a push reference id) returns a :class:`SetupCoordinator` from its
``setup_coordinator`` hook. The engine then runs setup() only on the first
instance (the one whose execution segment starts at 0), which publishes the
data; every other instance fetches it instead of running setup(); and the
first instance runs teardown() once the others have finished.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

__all__ = ["SetupCoordinator", "SetupFailed"]


class SetupFailed(Exception):
    """Raised by :meth:`SetupCoordinator.fetch`: setup() failed on the first instance (the message says why)."""


@runtime_checkable
class SetupCoordinator(Protocol):
    """How the instances of one distributed run share setup()'s data and learn when the others finished.

    Every method blocks (the engine calls them from a thread of its own) and
    must return or raise by its ``timeout``; the engine may abandon a call when
    the run is aborted meanwhile.
    """

    def publish(self, data: Any, timeout: float) -> Any:
        """Publish setup()'s result (JSON-compatible) for the other instances; return the data they will get.

        Normally ``data`` itself; when another instance published first, its data
        (so every instance still works with the same data). Raises on failure.
        """
        ...

    def publish_error(self, message: str, timeout: float) -> None:
        """Tell the other instances that setup() failed, with the one-line ``message``."""
        ...

    def fetch(self, timeout: float) -> Any:
        """Wait up to ``timeout`` seconds for the first instance's setup data and return it.

        Raises :class:`SetupFailed` when setup() failed there, :class:`TimeoutError`
        when nothing was published in time.
        """
        ...

    def wait_for_peers(self, timeout: float) -> list[str]:
        """Wait up to ``timeout`` seconds until every other instance has finished; return the ids of
        those that had not by then (empty when all did)."""
        ...
