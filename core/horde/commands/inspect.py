"""``horde inspect``: a test's options as k6 inspect prints them (what k6-operator's initializer reads)."""

from __future__ import annotations

import os
from pathlib import Path

import click

from .flags import env_vars_from_flags
from .group import cli, verbose_option
from .logoutput import log_output_option

__all__ = ["inspect"]


@cli.command()
@click.argument("test", metavar="SCRIPT|ARCHIVE", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--execution-requirements",
    is_flag=True,
    help="Consolidate the options and add totalDuration and maxVUs (k6's flag; k6-operator reads them).",
)
@click.option("-e", "--env", "env_vars", multiple=True, metavar="KEY=VALUE", help="Script variable (horde.env).")
@click.option("-c", "--config", "config_file", type=click.Path(dir_okay=False), help="JSON config file.")
@log_output_option
@verbose_option
def inspect(test: Path, execution_requirements: bool, env_vars: tuple[str, ...], config_file: str | None) -> None:
    """Print the options of a SCRIPT or ARCHIVE as k6's JSON document (loading the script runs its init code)."""
    from ..engine.archive import load_test
    from ..engine.inspect import dump_document, options_document, requirements_document

    with load_test(
        test, config_file=config_file, env_vars=env_vars_from_flags(env_vars), environ=dict(os.environ)
    ) as loaded:
        options = loaded.options
    doc = requirements_document(options) if execution_requirements else options_document(options)
    click.echo(dump_document(doc), nl=False)  # k6 ends the document without a newline
