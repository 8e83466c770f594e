"""``horde archive``: pack a script, its local imports and files, and the options into one tar (k6's command line)."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import click

from .flags import env_vars_from_flags, options_from_flags
from .group import cli
from .run import run

__all__ = ["archive"]

_log = logging.getLogger("horde.archive")

_NOT_ARCHIVE_FLAGS = frozenset({"script"})


def _archive(script: Path, archive_out: str, **flags: Any) -> None:
    """Archive a test SCRIPT (or re-archive an archive): the script, the modules next to it that it imports,
    the files it reads while loading, and the options of the command line, in one tar. Accepts every flag of
    ``horde run``; those that only affect a run (outputs, workers, ...) are not archived."""
    from ..engine.archive import load_test, write_archive

    with load_test(
        script,
        config_file=flags.get("config_file"),
        cli_options=options_from_flags(flags),
        env_vars=env_vars_from_flags(flags.get("env_vars") or ()),
        environ=dict(os.environ),
    ) as test:
        for path in test.outside:
            _log.warning("%s is outside the script's directory and is not archived", path)
        write_archive(test, archive_out)


archive = click.Command(
    "archive",
    callback=_archive,
    help=_archive.__doc__,
    short_help="Pack a script, its local files and options into a tar.",
    params=[
        click.Argument(["script"], type=click.Path(dir_okay=False, path_type=Path)),
        click.Option(
            ["-O", "--archive-out"],
            default="archive.tar",
            show_default=True,
            metavar="FILE",
            help="The archive to write.",
        ),
        *(p for p in run.params if p.name not in _NOT_ARCHIVE_FLAGS),
    ],
)
cli.add_command(archive)
