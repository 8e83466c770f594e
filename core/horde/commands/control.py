"""``horde status | pause | resume | scale | stats``: k6's REST API client commands, printing k6's YAML."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from .group import cli, verbose_option

if TYPE_CHECKING:
    from ..restapi.client import Client

__all__ = ["status", "pause", "resume", "scale", "stats"]

address_option = click.option(
    "-a",
    "--address",
    default="localhost:6565",
    show_default=True,
    metavar="HOST:PORT",
    help="Address of the REST API server of the running test.",
)


def _client(address: str) -> Client:  # the import stays inside: `horde --help` does not load the client
    from ..restapi.client import Client

    return Client(address)


@cli.command()
@address_option
@verbose_option
def status(address: str) -> None:
    """Show test status."""
    from ..restapi.client import status_yaml

    click.echo(status_yaml(_client(address).status()), nl=False)


@cli.command()
@address_option
@verbose_option
def pause(address: str) -> None:
    """Pause a running test."""
    from ..restapi.client import status_yaml

    click.echo(status_yaml(_client(address).set_status(paused=True)), nl=False)


@cli.command()
@address_option
@verbose_option
def resume(address: str) -> None:
    """Resume a paused test."""
    from ..restapi.client import status_yaml

    click.echo(status_yaml(_client(address).set_status(paused=False)), nl=False)


@cli.command()
@address_option
@click.option("-u", "--vus", type=int, help="Number of virtual users.")
@click.option("-m", "--max", "vus_max", type=int, help="Max available virtual users.")
@verbose_option
def scale(address: str, vus: int | None, vus_max: int | None) -> None:
    """Scale a running test (needs an externally-controlled executor, as in k6)."""
    from ..errors import UserError
    from ..restapi.client import status_yaml

    if vus is None and vus_max is None:
        raise UserError("Specify either -u/--vus or -m/--max")
    click.echo(status_yaml(_client(address).set_status(vus=vus, vus_max=vus_max)), nl=False)


@cli.command()
@address_option
@verbose_option
def stats(address: str) -> None:
    """Show test metrics."""
    from ..restapi.client import metrics_yaml

    click.echo(metrics_yaml(_client(address).metrics()), nl=False)
