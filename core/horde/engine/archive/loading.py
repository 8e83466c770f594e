"""Loading a test (a script or an archive) with its options consolidated, as archive and inspect need it."""

from __future__ import annotations

import contextlib
import dataclasses
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from ... import execution
from ..configfile import config_file_for
from ..options import env_options, load_config_file, merge_options
from ..script import Script, load_script
from .layout import is_archive
from .reader import open_archive
from .recorder import LoadRecorder

__all__ = ["LoadedTest", "load_test"]


@dataclasses.dataclass
class LoadedTest:
    """A loaded script, its consolidated options and env, and (when recorded) the local files it loaded."""

    script: Script
    root: Path
    """The script's directory: archived paths are relative to it."""
    options: dict[str, Any]
    env: dict[str, str]
    files: list[str]
    """Files under :attr:`root` the script imported or read while loading (the script first)."""
    outside: list[str]
    """Files it read from outside :attr:`root` (not archived)."""


@contextlib.contextmanager
def load_test(
    path: str | Path,
    *,
    config_file: str | None = None,
    cli_options: Mapping[str, Any] | None = None,
    env_vars: Mapping[str, str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Iterator[LoadedTest]:
    """Load the script (or the archive's script) at ``path`` with options consolidated as ``horde run`` does.

    Options: config file < the script's (or the archive's) options < ``HORDE_*``
    environment < ``cli_options``. An archive's env is overridden by ``env_vars``.
    An archive stays extracted until the ``with`` block ends. What the script
    prints while it loads goes to stderr.
    """
    environ = environ or {}
    with contextlib.ExitStack() as stack:
        base_env: dict[str, str] = {}
        archived: dict[str, Any] | None = None
        script_path = Path(path)
        if is_archive(script_path):
            opened = stack.enter_context(open_archive(script_path))
            script_path, archived, base_env = opened.script, opened.metadata.options, opened.metadata.env
        env = {**base_env, **(env_vars or {})}
        execution.env.clear()
        execution.env.update(env)
        config = load_config_file(config_file_for(config_file, environ))
        file_options = {k: v for k, v in config.items() if k not in ("out", "collectors")}
        # what the script prints while loading goes to stderr: stdout holds only inspect's JSON (k6-operator
        # parses the initializer's output as one document)
        with LoadRecorder(script_path.resolve().parent) as recorder, contextlib.redirect_stdout(sys.stderr):
            script = load_script(script_path)
        script_options = archived if archived is not None else script.options
        options = merge_options(file_options, script_options, env_options(environ), dict(cli_options or {}))
        name = script_path.resolve().name
        files = [name, *(f for f in recorder.files if f != name)]
        yield LoadedTest(script, script_path.resolve().parent, options, env, files, recorder.outside)
