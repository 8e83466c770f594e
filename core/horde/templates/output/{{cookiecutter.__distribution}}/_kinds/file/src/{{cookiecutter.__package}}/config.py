"""Settings of the ``{{ cookiecutter.name }}`` output, consolidated as horde's own outputs do.

Precedence, lowest first:

1. defaults (:class:`Config`);
2. the JSON config file: ``{"collectors": {"{{ cookiecutter.name }}": {"file": "out.jsonl", "interval": "2s"}}}``;
3. the environment: ``{{ cookiecutter.__env_prefix }}FILE``, ``{{ cookiecutter.__env_prefix }}INTERVAL``;
4. the ``--out`` argument: ``--out {{ cookiecutter.name }}=out.jsonl`` or
   ``--out {{ cookiecutter.name }}=file=out.jsonl,interval=2s``.

Durations are horde's: ``500ms``, ``2s``, ``1m30s``, or a number of milliseconds.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any

from horde.output import DurationError, OutputConfigError, parse_duration

__all__ = ["Config", "ENV_PREFIX", "consolidate", "from_arg", "from_env", "from_json"]

ENV_PREFIX = "{{ cookiecutter.__env_prefix }}"
"""Every environment variable of this output starts with this."""

_KEYS = ("file", "interval")


@dataclasses.dataclass(frozen=True)
class Config:
    """Resolved settings: the file to write (``-`` is standard output) and the flush interval in seconds."""

    file: str = "{{ cookiecutter.name }}.jsonl"
    interval: float = 1.0

    def __post_init__(self) -> None:
        if not self.file:
            raise OutputConfigError("{{ cookiecutter.name }} output: the file name is empty")
        if not self.interval > 0:
            raise OutputConfigError(f"{{ cookiecutter.name }} output: interval must be positive, not {self.interval}")


def _interval(value: Any, origin: str) -> float:
    try:
        return parse_duration(value)
    except DurationError as exc:
        raise OutputConfigError(f"{{ cookiecutter.name }} output: invalid interval in {origin}: {exc}") from None


def from_json(config: Mapping[str, Any] | str | None) -> dict[str, Any]:
    """The settings of the config file's ``collectors.{{ cookiecutter.name }}`` object (or its JSON text)."""
    if config is None:
        return {}
    if isinstance(config, (str, bytes)):
        try:
            config = json.loads(config) if config.strip() else {}
        except ValueError as exc:
            raise OutputConfigError(f"{{ cookiecutter.name }} output: invalid JSON config: {exc}") from None
    if not isinstance(config, Mapping):
        raise OutputConfigError(f"{{ cookiecutter.name }} output: the JSON config must be an object, not {type(config).__name__}")
    unknown = sorted(set(config) - set(_KEYS))
    if unknown:
        raise OutputConfigError(f"{{ cookiecutter.name }} output: unknown JSON config key {unknown[0]!r} (known: file, interval)")
    found: dict[str, Any] = {}
    if config.get("file") is not None:
        found["file"] = str(config["file"])
    if config.get("interval") is not None:
        found["interval"] = _interval(config["interval"], "the JSON config")
    return found


def from_env(environment: Mapping[str, str]) -> dict[str, Any]:
    """The settings given by ``{{ cookiecutter.__env_prefix }}*`` variables (empty values count as unset)."""
    found: dict[str, Any] = {}
    if environment.get(ENV_PREFIX + "FILE"):
        found["file"] = environment[ENV_PREFIX + "FILE"]
    if environment.get(ENV_PREFIX + "INTERVAL"):
        found["interval"] = _interval(environment[ENV_PREFIX + "INTERVAL"], ENV_PREFIX + "INTERVAL")
    return found


def from_arg(arg: str) -> dict[str, Any]:
    """The settings of ``--out {{ cookiecutter.name }}=ARG``: a bare file name, or ``key=value`` pairs joined by commas."""
    if not arg:
        return {}
    if "=" not in arg:
        return {"file": arg}
    found: dict[str, Any] = {}
    for pair in arg.split(","):
        key, _, value = pair.partition("=")
        if key not in _KEYS:
            raise OutputConfigError(f"{{ cookiecutter.name }} output: unknown key {key!r} in --out argument {arg!r} (known: file, interval)")
        found[key] = _interval(value, "the --out argument") if key == "interval" else value
    return found


def consolidate(json_config: Mapping[str, Any] | str | None, environment: Mapping[str, str], arg: str) -> Config:
    """Defaults < JSON config < environment < ``--out`` argument."""
    merged: dict[str, Any] = {}
    merged.update(from_json(json_config))
    merged.update(from_env(environment))
    merged.update(from_arg(arg))
    return Config(**merged)
