"""k6's REST API (``/v1/status``, ``/v1/metrics``, ``/v1/groups``, ``/v1/setup``, ``/v1/teardown``) for horde.

The server runs in the coordinator process on its own thread and reads and
steers the run only through a :class:`ControlSurface`; the client is what the
``horde status | pause | resume | scale | stats`` commands use.
"""

from __future__ import annotations

from .surface import NO_SETUP_DATA, ApiError, ControlSurface, ExecutionStatus, MetricView, StatusView

__all__ = [
    "ApiError",
    "ControlSurface",
    "ExecutionStatus",
    "MetricView",
    "NO_SETUP_DATA",
    "StatusView",
]
