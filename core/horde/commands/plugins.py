"""``horde plugins``: list the outputs, with where they come from and their status."""

from __future__ import annotations

import json

import click

from .group import cli, verbose_option

__all__ = ["plugins"]


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print the stable JSON schema instead of a table.")
@click.option(
    "--plugin",
    "plugin_entries",
    multiple=True,
    metavar="MODULE",
    help="Import this module first (from PYTHONPATH or the current directory; it registers outputs with "
    "register_extension); an installed "
    "output or distribution name loads it even when HORDE_DISABLE_PLUGIN_AUTOLOAD=1. Repeatable.",
)
@verbose_option
def plugins(as_json: bool, plugin_entries: tuple[str, ...]) -> None:
    """List the outputs: installed, built in and registered in code, with where they come from."""
    import os

    from ..output.extensions import prepare_registry
    from ..output.listing import describe_plugins

    data = describe_plugins(prepare_registry(os.environ, plugin_entries, search_path=[os.getcwd()]))
    if as_json:
        click.echo(json.dumps(data, indent=2))
    else:
        _print_table(data["plugins"])
    problems = [f"{p['status']}: {p['error']}" for p in data["plugins"] if p["error"]]
    for line in dict.fromkeys(problems):  # a conflict is one line, however many claimants
        click.echo(line, err=True)


def _print_table(listing: list[dict]) -> None:
    rows = [("NAME", "DISTRIBUTION", "VERSION", "STATUS", "FROM", "HOOKS", "DESCRIPTION")]
    for p in listing:
        hooks = ",".join(p["hooks"]) if p["hooks"] is not None else "?"
        source = p["target"] if p["source"] == "code" else p["source"].replace("_", "-")
        rows.append(
            (p["name"], p["distribution"] or "-", p["version"] or "-", p["status"], source, hooks, p["description"])
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    for r in rows:
        click.echo("  ".join(c.ljust(w) for c, w in zip(r, widths)) + "  " + r[-1])
