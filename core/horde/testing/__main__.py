"""``python -m horde.testing --port N``: run horde's HTTP test target until interrupted (the demo's target)."""

from __future__ import annotations

import sys
import threading

import click

from .target import start_target


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=int, default=8080, show_default=True, help="Port to listen on (0: any free port).")
@click.option("--tls-cert", type=click.Path(dir_okay=False), help="Serve HTTPS with this certificate (PEM).")
@click.option("--tls-key", type=click.Path(dir_okay=False), help="The certificate's private key (PEM).")
def main(host: str, port: int, tls_cert: str | None, tls_key: str | None) -> None:
    """Serve horde's HTTP test target; prints its URL once it listens."""
    if bool(tls_cert) != bool(tls_key):
        raise click.UsageError("--tls-cert and --tls-key go together")
    try:
        server = start_target(host, port, tls_cert, tls_key)
    except OSError as e:
        click.echo(f"error: cannot listen on {host}:{port}: {e.strerror or e}", err=True)
        sys.exit(1)
    click.echo(f"horde target listening on {server.url}")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


if __name__ == "__main__":
    main(prog_name="python -m horde.testing")
