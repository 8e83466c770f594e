"""The ``horde`` command group and the options every subcommand shares."""

from __future__ import annotations

import logging

import click

from .._version import __version__

__all__ = ["cli", "verbose_option", "is_verbose"]

_state = {"verbose": False}


def is_verbose() -> bool:
    """True once ``-v/--verbose`` was given: logs at debug level and tracebacks for errors."""
    return _state["verbose"]


def _set_verbose(ctx: click.Context, param: click.Parameter, value: bool) -> bool:
    if value:
        _state["verbose"] = True
        logging.getLogger("horde").setLevel(logging.DEBUG)
    return value


verbose_option = click.option(
    "-v",
    "--verbose",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_set_verbose,
    help="Show debug logs and tracebacks.",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="horde", message="%(prog)s %(version)s")
@verbose_option
def cli() -> None:
    """horde: load tests in Python, results to any output you pip install."""
