"""What ``horde run`` was asked: the request a :class:`~horde.engine.run.TestRun` carries out."""

from __future__ import annotations

import dataclasses
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO

from ..output.registry import OutputRegistry

__all__ = ["RunRequest"]


@dataclasses.dataclass
class RunRequest:
    """Everything ``horde run`` was asked: the script, outputs and option layers."""

    script: Path
    outs: list[str] = dataclasses.field(default_factory=list)
    cli_options: dict[str, Any] = dataclasses.field(default_factory=dict)
    env_vars: dict[str, str] = dataclasses.field(default_factory=dict)
    config_file: str | None = None
    summary_export: str | None = None
    quiet: bool = False
    no_summary: bool = False
    no_color: bool = False
    """``--no-color``: the summary has no colors and its data says ``noColor``."""
    summary_mode: str | None = None
    """``--summary-mode``: ``compact``, ``full`` or ``legacy`` (k6's end-of-test summary texts); None: the
    ``summaryMode`` option (config file, ``K6_SUMMARY_MODE``), else ``compact``."""
    no_thresholds: bool = False
    plugins: list[str] = dataclasses.field(default_factory=list)
    """``--plugin`` entries: modules imported before the run (they call register_extension), or installed
    output/distribution names loaded even with HORDE_DISABLE_PLUGIN_AUTOLOAD=1."""
    output_stop_timeouts: list[str] = dataclasses.field(default_factory=list)
    """``--output-stop-timeout`` values (``DURATION`` or ``OUTPUT=DURATION``); ``HORDE_OUTPUT_STOP_TIMEOUT`` if empty."""
    allow_output_loss: bool = False
    """Exit 0 rather than :attr:`ExitCode.OUTPUT_LOSS` when an output lost samples."""
    script_options: dict[str, Any] | None = None
    """Options that replace the script's own ``options`` (those recorded in an archive)."""
    workers: int | None = 1
    """Processes that split this instance's share (k6's striped execution segments); 1 runs it in this process;
    None chooses by the VUs (:func:`~horde.engine.workers.auto_workers`)."""
    paused: bool = False
    """``--paused``: start outputs and wait, without a request, until resumed through the REST API."""
    address: str | None = None
    """``--address``: where k6's REST API listens (``HOST:PORT``); None or empty: no API."""
    address_explicit: bool = True
    """False for the default address: when it is taken the run goes on without an API (as k6)."""
    linger: bool = False
    """``--linger``: after the end, keep the run and its API up until a signal."""
    registry: OutputRegistry | None = None
    """Outputs to choose from; None uses the process-wide registry (built-ins, entry points, code)."""
    environ: Mapping[str, str] = dataclasses.field(default_factory=lambda: dict(os.environ))
    stdout: TextIO = dataclasses.field(default_factory=lambda: sys.stdout)
    stderr: TextIO = dataclasses.field(default_factory=lambda: sys.stderr)
