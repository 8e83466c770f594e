"""``horde version``: the version line, as ``k6 version``, with the installed outputs."""

from __future__ import annotations

import importlib
import platform
import sys

import click

from .._version import __version__
from .group import cli

__all__ = ["ACCELERATORS", "accelerators", "version", "version_lines"]

ACCELERATORS = (
    "horde.http._scan",
    "horde.http._exchange",
    "horde.http._fast",
    "horde.metrics._sketch",
    "horde.metrics._connected",
)
"""horde's optional C modules: without them (installed without a C compiler) Python does their work, slower."""


def accelerators() -> list[str]:
    """The modules of :data:`ACCELERATORS` this install can import, as horde itself does at import."""
    built = []
    for name in ACCELERATORS:
        try:
            importlib.import_module(name)
        except ImportError:
            continue
        built.append(name)
    return built


def version_lines() -> list[str]:
    """``horde v0.1.0 (python3.11.7, linux/x86_64)``, the C accelerators built, then one line per installed
    output (k6's extensions list)."""
    from .new import _installed_outputs

    py = ".".join(str(p) for p in sys.version_info[:3])
    built = accelerators()
    lines = [
        f"horde v{__version__} (python{py}, {sys.platform}/{platform.machine()})",
        "C accelerators: "
        + (", ".join(built) if built else "none (installed without a C compiler: the same results, more CPU)"),
    ]
    outputs = _installed_outputs()
    if outputs:
        lines.append("Outputs:")
        lines.extend(f"  {name} [output] ({source})" for name, source in sorted(outputs.items()))
    return lines


@cli.command()
def version() -> None:
    """Show the horde version, its C accelerators and the installed outputs."""
    for line in version_lines():
        click.echo(line)
