"""The parameters every output factory receives (k6's ``output.Params``)."""

from __future__ import annotations

import dataclasses
import logging
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

__all__ = ["Params"]


@dataclasses.dataclass
class Params:
    """What an output factory is called with: ``factory(params)``.

    ``config_argument`` is the text after ``=`` in ``--out name=arg`` ("" when
    absent); ``json_config`` the ``collectors.<name>`` object of the config
    file (or None); ``environment`` the process environment, from which an
    output reads its ``HORDE_<NAME>_*`` settings (not from ``os.environ``, so
    tests can pass their own).
    """

    output_type: str
    config_argument: str = ""
    json_config: Mapping[str, Any] | None = None
    logger: logging.Logger | None = None
    environment: Mapping[str, str] = dataclasses.field(default_factory=dict)
    stdout: TextIO = dataclasses.field(default_factory=lambda: sys.stdout)
    stderr: TextIO = dataclasses.field(default_factory=lambda: sys.stderr)
    script_path: Path | None = None
    script_options: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    runtime_options: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    execution_plan: Sequence[Any] = ()

    def __post_init__(self) -> None:
        if self.logger is None:
            self.logger = logging.getLogger(f"horde.output.{self.output_type}")
