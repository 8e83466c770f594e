"""The ``horde`` console script: a thin click layer over the library (the commands live in :mod:`horde.commands`)."""

from __future__ import annotations

import logging
import sys
import traceback

import click

from .commands import cli
from .commands.group import is_verbose
from .errors import ExitCode, UserError

__all__ = ["main", "cli", "usage_message"]


class K6Formatter(logging.Formatter):
    """k6's log lines: ``ERRO[0003] message`` (level, seconds since start)."""

    LEVELS = {"DEBUG": "DEBU", "INFO": "INFO", "WARNING": "WARN", "ERROR": "ERRO", "CRITICAL": "FATA"}

    def format(self, record: logging.LogRecord) -> str:
        text = f"{self.LEVELS.get(record.levelname, record.levelname[:4])}[{int(record.relativeCreated / 1000):04d}] {record.getMessage()}"
        if record.exc_info and is_verbose():
            text += "\n" + self.formatException(record.exc_info)
        return text


def usage_message(exc: click.UsageError) -> str:
    """k6's one line for a bad command line: unknown flag, bad flag value, missing argument."""
    if isinstance(exc, click.NoSuchOption):
        return f"unknown flag: {exc.option_name}"
    if isinstance(exc, click.MissingParameter) and exc.param is not None and exc.param.param_type_name == "argument":
        return f"accepts 1 arg(s), received 0: expected the path of a {(exc.param.name or 'script').upper()}"
    if isinstance(exc, click.BadParameter) and exc.param is not None:
        names = ", ".join(getattr(exc.param, "opts", []) + getattr(exc.param, "secondary_opts", []))
        return f'invalid argument for "{names}" flag: {exc.message}'
    if exc.message.startswith("No such command"):
        name = exc.message.split("'")[1] if "'" in exc.message else exc.message
        return f'unknown command "{name}" for "horde"'
    if isinstance(exc, click.BadOptionUsage):
        return exc.message
    return exc.format_message()


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script: user errors as one line, exit codes as k6's."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(K6Formatter())
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    logging.getLogger("horde").setLevel(logging.DEBUG if is_verbose() else logging.INFO)
    try:
        code = cli.main(args=argv, prog_name="horde", standalone_mode=False)
        if isinstance(code, int):
            return code
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        return ExitCode.EXTERNAL_ABORT
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.UsageError as exc:
        click.echo(f"error: {usage_message(exc)}", err=True)
        return ExitCode.GENERIC  # k6 exits 255 on a bad command line
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except UserError as exc:
        if is_verbose():
            traceback.print_exc()
        click.echo(f"error: {exc}", err=True)
        return exc.exit_code
    except KeyboardInterrupt:
        return ExitCode.EXTERNAL_ABORT
    except Exception as exc:
        if is_verbose():
            traceback.print_exc()
        click.echo(
            f"error: internal error: {type(exc).__name__}: {exc} (run with --verbose for the traceback)", err=True
        )
        return ExitCode.GENERIC
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
