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
@click.option("--plugin", "plugin_entries", multiple=True, metavar="MODULE",
              help="Import this module first (from PYTHONPATH or the current directory; it registers outputs with "
                   "register_extension); an installed "
                   "output or distribution name loads it even when HORDE_DISABLE_PLUGIN_AUTOLOAD=1. Repeatable.")
@verbose_option
def plugins(as_json: bool, plugin_entries: tuple[str, ...]) -> None:
    """List the outputs: installed, built in and registered in code, with where they come from."""
    import os

    from .output.extensions import prepare_registry
    from .output.listing import describe_plugins

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
        rows.append((p["name"], p["distribution"] or "-", p["version"] or "-", p["status"], source, hooks,
                     p["description"]))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    for r in rows:
        click.echo("  ".join(c.ljust(w) for c, w in zip(r, widths)) + "  " + r[-1])


def _register_commands() -> None:
    from .commands import run  # noqa: F401  (adds ``run`` to ``cli``)
    from .commands import new  # noqa: F401  (adds ``new output`` to ``cli``)


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
