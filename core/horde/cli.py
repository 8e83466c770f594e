"""The ``horde`` command: a thin click layer over the library."""

from __future__ import annotations

import json
import logging
import sys
import traceback

import click

from . import __version__
from .errors import ExitCode, UserError

__all__ = ["main", "cli"]

_state = {"verbose": False}


class K6Formatter(logging.Formatter):
    """k6's log lines: ``ERRO[0003] message`` (level, seconds since start)."""

    LEVELS = {"DEBUG": "DEBU", "INFO": "INFO", "WARNING": "WARN", "ERROR": "ERRO", "CRITICAL": "FATA"}

    def format(self, record: logging.LogRecord) -> str:
        text = f"{self.LEVELS.get(record.levelname, record.levelname[:4])}[{int(record.relativeCreated / 1000):04d}] {record.getMessage()}"
        if record.exc_info and _state["verbose"]:
            text += "\n" + self.formatException(record.exc_info)
        return text


def _set_verbose(ctx: click.Context, param: click.Parameter, value: bool) -> bool:
    if value:
        _state["verbose"] = True
        logging.getLogger("horde").setLevel(logging.DEBUG)
    return value


verbose_option = click.option(
    "-v", "--verbose", is_flag=True, expose_value=False, is_eager=True, callback=_set_verbose,
    help="Show debug logs and tracebacks.",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="horde", message="%(prog)s %(version)s")
@verbose_option
def cli() -> None:
    """horde: load tests in Python, results to any output you pip install."""


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print the stable JSON schema instead of a table.")
@verbose_option
def plugins(as_json: bool) -> None:
    """List the installed outputs, their providers, hooks and status."""
    from .output.listing import describe_plugins
    from .output.registry import load_registry

    data = describe_plugins(load_registry())
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    rows = [("NAME", "DISTRIBUTION", "VERSION", "STATUS", "HOOKS", "DESCRIPTION")]
    for p in data["plugins"]:
        hooks = ",".join(p["hooks"]) if p["hooks"] is not None else "?"
        status = "ok" if p["status"] == "ok" else "broken"
        rows.append((p["name"], p["distribution"], p["version"] or "-", status, hooks, p["description"]))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    for r in rows:
        click.echo("  ".join(c.ljust(w) for c, w in zip(r, widths)) + "  " + r[-1])
    for p in data["plugins"]:
        if p["error"]:
            click.echo(f"broken: {p['error']}", err=True)


def _register_commands() -> None:
    from .commands import run  # noqa: F401  (adds ``run`` to ``cli``)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script: user errors as one line, exit codes as k6's."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(K6Formatter())
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    logging.getLogger("horde").setLevel(logging.DEBUG if _state["verbose"] else logging.INFO)
    try:
        _register_commands()
        code = cli.main(args=argv, prog_name="horde", standalone_mode=False)
        if isinstance(code, int):
            return code
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        return ExitCode.EXTERNAL_ABORT
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except UserError as exc:
        if _state["verbose"]:
            traceback.print_exc()
        click.echo(f"error: {exc}", err=True)
        return exc.exit_code
    except KeyboardInterrupt:
        return ExitCode.EXTERNAL_ABORT
    except Exception as exc:
        if _state["verbose"]:
            traceback.print_exc()
        click.echo(f"error: internal error: {type(exc).__name__}: {exc} (run with --verbose for the traceback)", err=True)
        return ExitCode.GENERIC
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
