"""From ``horde run``'s flags (as ``horde archive`` takes them) to the option layer they set."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import click

from ..engine.options import parse_stage, parse_tag
from .k6_flags import flag_options

__all__ = ["options_from_flags", "env_vars_from_flags"]


def _env_pair(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise click.BadParameter(f"'{text}': expected KEY=VALUE", param_hint="-e/--env")
    return key, value


def env_vars_from_flags(pairs: Iterable[str]) -> dict[str, str]:
    """``-e KEY=VALUE`` flags as a dict (a malformed one is a usage error naming it)."""
    return dict(_env_pair(e) for e in pairs)


def _comma_list(text: str) -> list[str]:
    return [s.strip() for s in text.split(",") if s.strip()]


def options_from_flags(flags: Mapping[str, Any]) -> dict[str, Any]:
    """The command line's option layer from the parsed flags of ``horde run`` (by parameter name).

    The options a run's flags set, as ``horde run`` sets them; flags that only
    shape a run (outputs, workers, its REST API, segments) set none.
    """
    options: dict[str, Any] = {}
    for name in ("vus", "duration", "iterations"):
        if flags.get(name) is not None:
            options[name] = flags[name]
    if flags.get("stages"):
        options["stages"] = [parse_stage(s) for s in flags["stages"]]
    if flags.get("tags"):
        options["tags"] = dict(parse_tag(t) for t in flags["tags"])
    if flags.get("system_tags") is not None:
        options["systemTags"] = _comma_list(flags["system_tags"])
    if flags.get("no_setup"):
        options["noSetup"] = True
    if flags.get("no_teardown"):
        options["noTeardown"] = True
    if flags.get("summary_trend_stats"):
        options["summaryTrendStats"] = _comma_list(flags["summary_trend_stats"])
    options.update(flag_options(flags))  # k6's HTTP and pacing flags (--max-redirects, --rps, ...)
    return options
