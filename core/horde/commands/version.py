"""``horde version``: the version line, as ``k6 version``, with the installed outputs."""

from __future__ import annotations

import platform
import sys

import click

from .._version import __version__
from .group import cli

__all__ = ["version", "version_lines"]


def version_lines() -> list[str]:
    """``horde v0.1.0 (python3.11.7, linux/x86_64)`` then one line per installed output (k6's extensions list)."""
    from .new import _installed_outputs

    py = ".".join(str(p) for p in sys.version_info[:3])
    lines = [f"horde v{__version__} (python{py}, {sys.platform}/{platform.machine()})"]
    outputs = _installed_outputs()
    if outputs:
        lines.append("Outputs:")
        lines.extend(f"  {name} [output] ({source})" for name, source in sorted(outputs.items()))
    return lines


@cli.command()
def version() -> None:
    """Show the horde version and the installed outputs."""
    for line in version_lines():
        click.echo(line)
