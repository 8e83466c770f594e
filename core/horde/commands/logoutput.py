"""``--log-output`` (k6's flag): where horde's logs go. k6-operator passes it to the commands it runs."""

from __future__ import annotations

import logging
import sys

import click

__all__ = ["log_output_option", "set_log_output"]

_log = logging.getLogger("horde")


def set_log_output(value: str | None) -> None:
    """``none`` silences horde's logs, ``stdout`` moves them there, ``stderr`` (the default) keeps them;
    k6's other targets (``loki=…``, ``file=…``) are not supported: a warning, and the logs stay on stderr."""
    target = (value or "stderr").split("=", 1)[0].strip()
    if target == "none":
        _log.disabled = True
    elif target == "stdout":
        for handler in logging.getLogger().handlers:
            if type(handler) is logging.StreamHandler:
                handler.setStream(sys.stdout)
    elif target != "stderr":
        _log.warning("--log-output=%s is not supported by horde (stderr, stdout, none): logging to stderr", target)


def _callback(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    set_log_output(value)


log_output_option = click.option(
    "--log-output",
    metavar="TARGET",
    default="stderr",
    show_default=True,
    expose_value=False,
    callback=_callback,
    help="Where logs go (k6's flag): stderr, stdout or none.",
)
