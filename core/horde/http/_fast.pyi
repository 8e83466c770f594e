from typing import Any

def configure(container_cls: type, response_cls: type, /) -> None:
    """The classes finish() builds: horde.metrics.ConnectedSamples and horde.http.Response."""

def finish(vu: Any, route: Any, raw: Any, discard_bodies: bool, /) -> Any:
    """The Response of a common response (its samples emitted, the VU's byte counters added), or None (nothing done)."""
