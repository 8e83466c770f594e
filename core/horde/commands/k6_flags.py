"""k6's ``run`` flags on horde's click command: pflag-style booleans, flag → option mapping, refusals, logging."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Mapping
from typing import Any

import click

from ..engine.options import parse_bool
from ..errors import ExitCode, UserError

__all__ = ["K6Command", "flag_options", "refuse_flags", "configure_logging", "JsonLogFormatter", "RawLogFormatter"]

_FLAG_TO_OPTION = {
    "max_redirects": "maxRedirects",
    "batch": "batch",
    "batch_per_host": "batchPerHost",
    "rps": "rps",
    "user_agent": "userAgent",
    "http_debug": "httpDebug",
    "insecure_skip_tls_verify": "insecureSkipTLSVerify",
    "no_connection_reuse": "noConnectionReuse",
    "no_vu_connection_reuse": "noVUConnectionReuse",
    "min_iteration_duration": "minIterationDuration",
    "throw": "throw",
    "console_output": "consoleOutput",
    "discard_response_bodies": "discardResponseBodies",
    "local_ips": "localIPs",
    "dns": "dns",
    "compatibility_mode": "compatibilityMode",
    "traces_output": "tracesOutput",
}
"""Flags whose value is a k6 option of the same meaning (the command-line layer of the options)."""

_LIST_FLAGS = {"blacklist_ips": "blacklistIPs", "block_hostnames": "blockHostnames"}
"""Repeatable flags that also take comma lists (pflag's StringSlice)."""


class K6Command(click.Command):
    """A click command reading flags as pflag does: ``--flag``, ``--flag=true``, ``--flag=false`` for booleans,
    and an optional value only after ``=`` (``--http-debug script.py`` is headers, then the script)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        """Rewrite ``--bool-flag=VALUE`` to ``--bool-flag`` (true) or nothing (false) before click parses."""
        bools: dict[str, str | None] = {}
        for p in self.params:
            if isinstance(p, click.Option) and p.is_flag and p.is_bool_flag:
                for opt in p.opts:
                    if opt.startswith("--"):
                        bools[opt] = p.secondary_opts[0] if p.secondary_opts else None
        optional = {
            opt: str(p.flag_value)
            for p in self.params
            if isinstance(p, click.Option) and not p.is_flag and getattr(p, "_flag_needs_value", False)
            for opt in p.opts
            if opt.startswith("--")
        }
        out: list[str] = []
        for i, arg in enumerate(args):
            if arg == "--":
                out.extend(args[i:])
                break
            if arg in optional:  # pflag's optional value: only ``--http-debug=full`` gives one
                out.append(f"{arg}={optional[arg]}")
                continue
            name, sep, value = arg.partition("=")
            if sep and name in bools:
                try:
                    truth = parse_bool(name, value)
                except UserError:
                    raise click.UsageError(
                        f'invalid argument "{value}" for "{name}" flag: expected true or false'
                    ) from None
                if truth:
                    out.append(name)
                elif bools[name]:
                    out.append(str(bools[name]))
                continue
            out.append(arg)
        return super().parse_args(ctx, out)


def flag_options(flags: Mapping[str, Any]) -> dict[str, Any]:
    """The k6 options the given flags set (unset flags are None and set nothing)."""
    out: dict[str, Any] = {}
    for flag, key in _FLAG_TO_OPTION.items():
        value = flags.get(flag)
        if value is not None:
            out[key] = value
    for flag, key in _LIST_FLAGS.items():
        values = flags.get(flag) or ()
        items = [part.strip() for v in values for part in v.split(",") if part.strip()]
        if items:
            out[key] = items
    return out


def _refused(flag: str, why: str) -> UserError:
    return UserError(f"{flag} is not supported by horde: {why}", ExitCode.INVALID_CONFIG)


def refuse_flags(flags: Mapping[str, Any]) -> None:
    """One clear line (exit 104) for a flag that cannot mean anything for horde."""
    if flags.get("compatibility_mode"):
        raise _refused("--compatibility-mode", "it chooses the JavaScript compiler; horde runs Python scripts")
    script_type = flags.get("script_type")
    if script_type and script_type not in ("js", "script", "py", "python", "archive"):
        raise UserError(
            f'invalid type "{script_type}": use "js" (a script) or "archive" (horde tells them apart anyway)',
            ExitCode.INVALID_CONFIG,
        )
    traces = flags.get("traces_output")
    if traces and traces != "none":
        raise _refused(f"--traces-output={traces}", "horde has no request tracing (only 'none')")
    if flags.get("profiling_enabled"):
        raise _refused("--profiling-enabled", "horde has no pprof endpoints (use py-spy on the process)")
    if flags.get("secret_sources"):
        raise _refused("--secret-source", "horde has no secret sources (pass secrets with -e or the environment)")


class JsonLogFormatter(logging.Formatter):
    """k6's ``--log-format json`` lines: ``{"level":"info","msg":"...","time":"..."}``."""

    LEVELS = {"DEBUG": "debug", "INFO": "info", "WARNING": "warning", "ERROR": "error", "CRITICAL": "fatal"}

    def format(self, record: logging.LogRecord) -> str:
        """One JSON object per record."""
        stamp = self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + "Z"
        return json.dumps(
            {"level": self.LEVELS.get(record.levelname, "info"), "msg": record.getMessage(), "time": stamp},
            separators=(",", ":"),
        )


class RawLogFormatter(logging.Formatter):
    """k6's ``--log-format raw``: the message only."""

    def format(self, record: logging.LogRecord) -> str:
        """The message of the record."""
        return record.getMessage()


def configure_logging(flags: Mapping[str, Any]) -> None:
    """Apply ``--log-output``, ``--log-format`` and ``--no-color`` to the root handlers."""
    import os

    root = logging.getLogger()
    fmt = flags.get("log_format")
    output = flags.get("log_output")
    if flags.get("no_color") or os.environ.get("K6_NO_COLOR") or "NO_COLOR" in os.environ:
        os.environ["NO_COLOR"] = "1"
    formatter: logging.Formatter | None = None
    if fmt in ("json",):
        formatter = JsonLogFormatter()
    elif fmt == "raw":
        formatter = RawLogFormatter()
    elif fmt:
        raise UserError(f'invalid --log-format "{fmt}": use json or raw (or leave it out)', ExitCode.INVALID_CONFIG)
    handler: logging.Handler | None = None
    if output:
        kind, _, arg = output.partition("=")
        if kind == "stderr":
            handler = logging.StreamHandler(sys.stderr)
        elif kind == "stdout":
            handler = logging.StreamHandler(sys.stdout)
        elif kind == "none":
            handler = logging.NullHandler()
        elif kind == "file":
            try:
                handler = logging.FileHandler(arg or "./k6.log")
            except OSError as exc:
                raise UserError(f"--log-output {output}: {exc.strerror}", ExitCode.INVALID_CONFIG) from None
        elif kind == "loki":  # k6-operator passes the user's arguments on: a warning, not a failed run
            logging.getLogger("horde").warning(
                "--log-output=loki is not supported by horde (stderr, stdout, none, file=PATH): logging to stderr"
            )
        else:
            raise UserError(
                f'invalid --log-output "{output}": use stderr, stdout, none or file=PATH', ExitCode.INVALID_CONFIG
            )
    previous = root.handlers[0].formatter if root.handlers else None
    if handler is not None or formatter is not None:
        for old in list(root.handlers):
            if handler is not None:
                root.removeHandler(old)
            elif formatter is not None:
                old.setFormatter(formatter)
        if handler is not None:
            handler.setFormatter(formatter or previous)
            root.addHandler(handler)
