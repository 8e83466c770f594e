"""The output API: what an output plugin implements and the helpers it builds on.

An output is an object whose methods are marked with :data:`hookimpl` (see
:mod:`horde.output.hookspecs` for the contract), made by a factory called as
``factory(params)`` and published under the ``horde.outputs`` entry-point group.
"""

from ..durations import DurationError, parse_duration
from ..errors import AbortReason, ExitCode, RunError, UserError
from ..runstatus import RunStatus
from .binding import OutputInstance, bind_output, create_output, implemented_hooks, new_plugin_manager
from .buffer import SampleBuffer
from .delivery import (
    Backoff,
    Delivery,
    DeliveryCounts,
    DestinationRefused,
    PermanentError,
    RetryableError,
    SplitPayload,
)
from .errors import (
    DuplicateOutputError,
    OutputConfigError,
    OutputError,
    OutputLoadError,
    OutputStartError,
    OutputStopError,
    OutputValidationError,
    PluginModuleError,
    UnknownOutputError,
)
from .flusher import PeriodicFlusher
from .hookspecs import REQUIRED_HOOKS, hookimpl, hookspec
from .manager import DEFAULT_STOP_TIMEOUT, Manager, OutputReport
from .params import Params
from .registry import (
    ENTRY_POINT_GROUP,
    OutputPlugin,
    OutputRegistry,
    Provider,
    default_registry,
    load_registry,
    register_extension,
)
from .spec import OutSpec, parse_out, resolve_out_specs
from .spill import SpillQueue

__all__ = [
    "AbortReason",
    "DuplicateOutputError",
    "DurationError",
    "ENTRY_POINT_GROUP",
    "ExitCode",
    "DEFAULT_STOP_TIMEOUT",
    "Manager",
    "OutputReport",
    "OutSpec",
    "OutputConfigError",
    "OutputError",
    "OutputInstance",
    "OutputLoadError",
    "OutputPlugin",
    "OutputRegistry",
    "OutputStartError",
    "OutputStopError",
    "OutputValidationError",
    "Params",
    "PluginModuleError",
    "PeriodicFlusher",
    "Provider",
    "REQUIRED_HOOKS",
    "RunError",
    "RunStatus",
    "SampleBuffer",
    "UnknownOutputError",
    "UserError",
    "bind_output",
    "create_output",
    "default_registry",
    "hookimpl",
    "hookspec",
    "implemented_hooks",
    "load_registry",
    "new_plugin_manager",
    "parse_duration",
    "parse_out",
    "register_extension",
    "resolve_out_specs",
    "SpillQueue",
    "Backoff",
    "Delivery",
    "DeliveryCounts",
    "DestinationRefused",
    "PermanentError",
    "RetryableError",
    "SplitPayload",
]
