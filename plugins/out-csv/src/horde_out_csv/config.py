"""The csv output's configuration, consolidated as k6 does.

Precedence: defaults < JSON config (``collectors.csv``: ``file_name``,
``save_interval``, ``time_format``) < environment (``HORDE_CSV_FILENAME``,
``HORDE_CSV_SAVE_INTERVAL``, ``HORDE_CSV_TIME_FORMAT``) < the ``--out``
argument (a bare file name, or ``fileName=…,saveInterval=…,timeFormat=…``).
Error messages for the argument are k6's, word for word.
"""

from __future__ import annotations

import dataclasses
import enum
import json
from collections.abc import Mapping
from typing import Any

from horde.output import DurationError, OutputConfigError
from horde.output import format_duration as _format_duration
from horde.output import parse_duration_ns as parse_extended_duration

__all__ = ["TimeFormat", "CsvConfig", "parse_arg", "from_env", "from_json", "consolidate", "ENV_VARS"]


def format_duration(ns: int) -> str:
    """Go's ``Duration.String()`` of ``ns`` nanoseconds."""
    return _format_duration(ns=ns)


class TimeFormat(str, enum.Enum):
    """How the ``timestamp`` column is written (k6's ``TimeFormat`` enum)."""

    UNIX = "unix"
    UNIX_MILLI = "unix_milli"
    UNIX_MICRO = "unix_micro"
    UNIX_NANO = "unix_nano"
    RFC3339 = "rfc3339"
    RFC3339_NANO = "rfc3339_nano"

    @classmethod
    def parse(cls, value: str) -> TimeFormat:
        """The format named exactly ``value``, else k6's error."""
        try:
            return cls(value)
        except ValueError:
            raise OutputConfigError(f"{value} does not belong to TimeFormat values") from None

    def __str__(self) -> str:
        return self.value


ENV_VARS = {
    "file_name": "HORDE_CSV_FILENAME",
    "save_interval": "HORDE_CSV_SAVE_INTERVAL",
    "time_format": "HORDE_CSV_TIME_FORMAT",
}
"""The environment variable of each setting."""

_ARG_KEYS = {"fileName": "file_name", "saveInterval": "save_interval", "timeFormat": "time_format"}


@dataclasses.dataclass(frozen=True)
class CsvConfig:
    """Resolved settings: ``save_interval`` in nanoseconds (Go durations)."""

    file_name: str = "file.csv"
    save_interval: int = 1_000_000_000
    time_format: TimeFormat = TimeFormat.UNIX

    @property
    def to_stdout(self) -> bool:
        """True when rows go to standard output (file name ``-`` or empty)."""
        return self.file_name in ("", "-")

    @property
    def gzip(self) -> bool:
        """True when the file is gzip-compressed (its name ends in ``.gz``)."""
        return not self.to_stdout and self.file_name.endswith(".gz")

    def __str__(self) -> str:
        return (
            f"fileName={self.file_name or '-'},saveInterval={format_duration(self.save_interval)},"
            f"timeFormat={self.time_format}"
        )


def _duration(text: str) -> int:
    try:
        return parse_extended_duration(text)
    except DurationError as exc:
        raise OutputConfigError(str(exc)) from None


def parse_arg(arg: str) -> dict[str, Any]:
    """The settings given in an ``--out csv=ARG`` argument (only those present)."""
    if "=" not in arg:
        return {"file_name": arg}
    found: dict[str, Any] = {}
    for pair in arg.split(","):
        key, _, value = pair.partition("=")
        if value == "":
            raise OutputConfigError(f'couldn\'t parse "{arg}" as argument for csv output')
        field = _ARG_KEYS.get(key)
        if field is None:
            raise OutputConfigError(f'unknown key "{key}" as argument for csv output')
        found[field] = _duration(value) if field == "save_interval" else value
    return found


def from_env(environment: Mapping[str, str]) -> dict[str, Any]:
    """The settings given by ``HORDE_CSV_*`` variables; empty values count as unset, as in k6."""
    found: dict[str, Any] = {}
    for field, var in ENV_VARS.items():
        value = environment.get(var)
        if not value:
            continue
        if field == "save_interval":
            try:
                found[field] = parse_extended_duration(value)
            except DurationError as exc:
                raise OutputConfigError(f"invalid {var} {value!r}: {exc}") from None
        else:
            found[field] = value
    return found


def from_json(config: Mapping[str, Any] | None) -> dict[str, Any]:
    """The settings of the JSON config ``collectors.csv`` (an object, or its raw JSON text);
    null values and unknown keys are ignored."""
    if config is None:
        return {}
    if isinstance(config, (str, bytes)):
        try:
            config = json.loads(config) if config.strip() else {}
        except ValueError as exc:
            raise OutputConfigError(f"csv output: invalid JSON config: {exc}") from None
    if config is None:
        return {}
    if not isinstance(config, Mapping):
        raise OutputConfigError(f"csv output: the JSON config must be an object, not {type(config).__name__}")
    found: dict[str, Any] = {}
    for field in ENV_VARS:
        value = config.get(field)
        if value is None:
            continue
        if field == "save_interval":
            if isinstance(value, bool) or not isinstance(value, (str, int, float)):
                raise OutputConfigError(
                    f"csv output: JSON config save_interval must be a duration string or milliseconds, not {value!r}"
                )
            found[field] = _duration(value) if isinstance(value, str) else int(value * 1_000_000)
        elif not isinstance(value, str):
            raise OutputConfigError(f"csv output: JSON config {field} must be a string, not {value!r}")
        else:
            found[field] = value
    return found


def consolidate(json_config: Mapping[str, Any] | None, environment: Mapping[str, str], arg: str) -> CsvConfig:
    """Defaults < JSON config < environment < ``--out`` argument; the time format is checked last."""
    merged: dict[str, Any] = {}
    merged.update(from_json(json_config))
    merged.update(from_env(environment))
    if arg != "":
        merged.update(parse_arg(arg))
    if "time_format" in merged:
        merged["time_format"] = TimeFormat.parse(merged["time_format"])
    return CsvConfig(**merged)
