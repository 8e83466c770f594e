"""Settings of the ``{{ cookiecutter.name }}`` output, consolidated as horde's own outputs do.

Precedence, lowest first:

1. defaults (:class:`Config`);
2. the JSON config file: ``{"collectors": {"{{ cookiecutter.name }}": {"url": "http://host:8080/samples"}}}``;
3. the environment: ``{{ cookiecutter.__env_prefix }}URL``, ``{{ cookiecutter.__env_prefix }}INTERVAL``, ...;
4. the ``--out`` argument: ``--out {{ cookiecutter.name }}=http://host:8080/samples`` or
   ``--out {{ cookiecutter.name }}=url=http://host:8080/samples,interval=2s``.

Durations are horde's: ``500ms``, ``2s``, ``1m30s``, or a number of milliseconds.
"""

from __future__ import annotations

import dataclasses
import json
import urllib.parse
from collections.abc import Callable, Mapping
from typing import Any

from horde.output import DurationError, OutputConfigError, parse_duration

__all__ = ["Config", "ENV_PREFIX", "KEYS", "consolidate", "from_arg", "from_env", "from_json"]

ENV_PREFIX = "{{ cookiecutter.__env_prefix }}"
"""Every environment variable of this output starts with this."""

_ERROR = "{{ cookiecutter.name }} output"


@dataclasses.dataclass(frozen=True)
class Config:
    """Resolved settings (durations in seconds)."""

    url: str = "http://127.0.0.1:8080/samples"
    """Where the batches are POSTed (http or https)."""
    interval: float = 1.0
    """How often buffered samples are batched and handed to the delivery."""
    batch_size: int = 10_000
    """Samples per request at most."""
    timeout: float = 10.0
    """One request's timeout."""
    retry_max: float = 30.0
    """The longest wait between two attempts while the endpoint fails."""
    memory_limit: int = 64 << 20
    """Bytes of batches kept in memory; past it they are spilled to disk."""
    spool_dir: str | None = None
    """Where spilled batches go (None: a private temporary directory)."""
    stop_timeout: float = 30.0
    """How long ``stop`` keeps sending what waits; what is left then is dropped and counted."""

    def __post_init__(self) -> None:
        parts = urllib.parse.urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise OutputConfigError(f"{_ERROR}: url must be http://HOST[:PORT]/PATH or https://..., not {self.url!r}")
        for name in ("interval", "timeout", "retry_max", "stop_timeout"):
            if not getattr(self, name) > 0:
                raise OutputConfigError(f"{_ERROR}: {name} must be positive, not {getattr(self, name)}")
        for name in ("batch_size", "memory_limit"):
            if getattr(self, name) < 1:
                raise OutputConfigError(f"{_ERROR}: {name} must be at least 1, not {getattr(self, name)}")


def _duration(value: Any) -> float:
    return parse_duration(value)


def _int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError(f"expected a whole number, not {value!r}")
    return int(value)


def _text(value: Any) -> str:
    return str(value)


KEYS: dict[str, Callable[[Any], Any]] = {
    "url": _text,
    "interval": _duration,
    "batch_size": _int,
    "timeout": _duration,
    "retry_max": _duration,
    "memory_limit": _int,
    "spool_dir": _text,
    "stop_timeout": _duration,
}
"""Every setting and how its value is read (the same in every source)."""

_KNOWN = ", ".join(KEYS)


def _read(key: str, value: Any, origin: str) -> Any:
    try:
        return KEYS[key](value)
    except (DurationError, ValueError) as exc:
        raise OutputConfigError(f"{_ERROR}: invalid {key} in {origin}: {exc}") from None


def from_json(config: Mapping[str, Any] | str | None) -> dict[str, Any]:
    """The settings of the config file's ``collectors.{{ cookiecutter.name }}`` object (or its JSON text)."""
    if config is None:
        return {}
    if isinstance(config, (str, bytes)):
        try:
            config = json.loads(config) if config.strip() else {}
        except ValueError as exc:
            raise OutputConfigError(f"{_ERROR}: invalid JSON config: {exc}") from None
    if not isinstance(config, Mapping):
        raise OutputConfigError(f"{_ERROR}: the JSON config must be an object, not {type(config).__name__}")
    unknown = sorted(set(config) - set(KEYS))
    if unknown:
        raise OutputConfigError(f"{_ERROR}: unknown JSON config key {unknown[0]!r} (known: {_KNOWN})")
    return {key: _read(key, value, "the JSON config") for key, value in config.items() if value is not None}


def from_env(environment: Mapping[str, str]) -> dict[str, Any]:
    """The settings given by ``{{ cookiecutter.__env_prefix }}*`` variables (empty values count as unset)."""
    found: dict[str, Any] = {}
    for key in KEYS:
        value = environment.get(ENV_PREFIX + key.upper())
        if value:
            found[key] = _read(key, value, ENV_PREFIX + key.upper())
    return found


def from_arg(arg: str) -> dict[str, Any]:
    """The settings of ``--out {{ cookiecutter.name }}=ARG``: a bare URL, or ``key=value`` pairs joined by commas."""
    if not arg:
        return {}
    if "://" in arg.split(",", 1)[0].split("=", 1)[0] or "=" not in arg:
        return {"url": arg}
    found: dict[str, Any] = {}
    for pair in arg.split(","):
        key, _, value = pair.partition("=")
        if key not in KEYS:
            raise OutputConfigError(f"{_ERROR}: unknown key {key!r} in --out argument {arg!r} (known: {_KNOWN})")
        found[key] = _read(key, value, "the --out argument")
    return found


def consolidate(json_config: Mapping[str, Any] | str | None, environment: Mapping[str, str], arg: str) -> Config:
    """Defaults < JSON config < environment < ``--out`` argument."""
    merged: dict[str, Any] = {}
    merged.update(from_json(json_config))
    merged.update(from_env(environment))
    merged.update(from_arg(arg))
    return Config(**merged)
