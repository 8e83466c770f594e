"""The ``horde`` subcommands, one module each, on the click group of :mod:`horde.commands.group`."""

from . import archive, control, inspect, new, plugins, run, version  # noqa: F401  (each adds its command to ``cli``)
from .group import cli

__all__ = ["cli"]
