"""The ``horde`` console script: a thin click layer over the library (the commands live in :mod:`horde.commands`)."""

from __future__ import annotations

import logging
import sys
import traceback

import click

from .commands import cli
from .commands.group import is_verbose
from .errors import ExitCode, UserError

__all__ = ["main", "cli"]


class K6Formatter(logging.Formatter):
    """k6's log lines: ``ERRO[0003] message`` (level, seconds since start)."""

    LEVELS = {"DEBUG": "DEBU", "INFO": "INFO", "WARNING": "WARN", "ERROR": "ERRO", "CRITICAL": "FATA"}

    def format(self, record: logging.LogRecord) -> str:
        text = f"{self.LEVELS.get(record.levelname, record.levelname[:4])}[{int(record.relativeCreated / 1000):04d}] {record.getMessage()}"
        if record.exc_info and is_verbose():
            text += "\n" + self.formatException(record.exc_info)
        return text


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
