"""The author API of horde's outputs: everything an output plugin needs, and nothing else.

An output is an object whose methods are marked with :data:`hookimpl` (see
:mod:`horde.output.hookspecs` for the contract), made by a factory called as
``factory(params)`` and published under the ``horde.outputs`` entry-point
group, or registered in code with :func:`register_extension`.

Plugins import from here, :mod:`horde.metrics` and :mod:`horde.testing` only;
the other modules of the package (the Manager, the registry, the binding of
hooks) are the engine's and may change.
"""

from ..durations import DurationError, format_duration, parse_duration, parse_duration_ns
from ..errors import AbortReason, ExitCode, RunError, UserError
from ..runstatus import RunStatus
from ..thresholds import Threshold
from .buffer import SampleBuffer
from .connection import (
    ConnectionFailed,
    HttpAnswer,
    KeepAliveConnection,
    describe_network_error,
    parse_retry_after,
)
from .coordination import SetupCoordinator, SetupFailed
from .delivery import (
    Backoff,
    Delivery,
    DeliveryCounts,
    DeliverySettings,
    DestinationRefused,
    PayloadCodec,
    PermanentError,
    RetryableError,
    Sender,
    SplitPayload,
    human_bytes,
)
from .errors import (
    DuplicateOutputError,
    OutputConfigError,
    OutputError,
    OutputLoadError,
    OutputStartError,
    OutputStopError,
    OutputValidationError,
    UnknownOutputError,
)
from .flusher import PeriodicFlusher
from .hookspecs import REQUIRED_HOOKS, hookimpl
from .params import Params
from .perthread import Closable, PerThread
from .registry import ENTRY_POINT_GROUP, Provider, is_valid_output_name, register_extension
from .spill import SpillQueue

__all__ = [
    # writing an output
    "hookimpl",
    "REQUIRED_HOOKS",
    "Params",
    "register_extension",
    "Provider",
    "ENTRY_POINT_GROUP",
    "is_valid_output_name",
    # buffering, flushing, delivering
    "SampleBuffer",
    "PeriodicFlusher",
    "SpillQueue",
    "Delivery",
    "DeliveryCounts",
    "DeliverySettings",
    "PayloadCodec",
    "Sender",
    "Backoff",
    "PermanentError",
    "RetryableError",
    "SplitPayload",
    "DestinationRefused",
    "human_bytes",
    # the network side of a sender
    "KeepAliveConnection",
    "HttpAnswer",
    "ConnectionFailed",
    "parse_retry_after",
    "describe_network_error",
    "PerThread",
    "Closable",
    # what the hooks receive
    "RunError",
    "RunStatus",
    "AbortReason",
    "ExitCode",
    "Threshold",
    # distributed runs: setup() once, teardown() once
    "SetupCoordinator",
    "SetupFailed",
    # errors
    "UserError",
    "OutputError",
    "OutputConfigError",
    "OutputLoadError",
    "OutputValidationError",
    "OutputStartError",
    "OutputStopError",
    "DuplicateOutputError",
    "UnknownOutputError",
    # configuration helpers (k6's durations: 500ms, 1m30s)
    "parse_duration",
    "parse_duration_ns",
    "format_duration",
    "DurationError",
]
