"""``--out name[=argument]``: parsing and the precedence of where the list comes from."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence

__all__ = ["OutSpec", "parse_out", "resolve_out_specs"]


@dataclasses.dataclass(frozen=True)
class OutSpec:
    """One requested output: its type and the text after the first ``=`` ("" if none)."""

    type: str
    argument: str = ""

    def __str__(self) -> str:
        return f"{self.type}={self.argument}" if self.argument else self.type


def parse_out(value: str) -> OutSpec:
    """Split ``value`` at the first ``=``, as k6 does (the argument may hold more ``=``)."""
    type_, _, argument = value.strip().partition("=")
    return OutSpec(type_.strip(), argument)


def resolve_out_specs(
    cli: Sequence[str] = (),
    environ: Mapping[str, str] | None = None,
    config: Iterable[str] | None = None,
) -> list[OutSpec]:
    """The outputs of a run: ``--out`` flags, else ``HORDE_OUT`` or k6's ``K6_OUT`` (comma-split), else the config file's ``out``.

    A non-empty higher layer replaces the lower ones; lists are not merged.
    The same output may appear several times. ``K6_WEB_DASHBOARD=true`` (or
    ``HORDE_WEB_DASHBOARD``) adds ``web-dashboard`` when it is not named, as k6 does.
    """
    if cli:
        values: Iterable[str] = cli
    elif environ and environ.get("HORDE_OUT", "").strip():
        values = environ["HORDE_OUT"].split(",")
    elif environ and environ.get("K6_OUT", "").strip():  # k6's name; HORDE_OUT wins
        values = environ["K6_OUT"].split(",")
    else:
        values = config or ()
    specs = [parse_out(v) for v in values if v.strip()]
    if _web_dashboard_enabled(environ) and not any(s.type == WEB_DASHBOARD for s in specs):
        specs.append(OutSpec(WEB_DASHBOARD))  # k6's K6_WEB_DASHBOARD=true adds it to the other outputs
    return specs


WEB_DASHBOARD = "web-dashboard"


def _web_dashboard_enabled(environ: Mapping[str, str] | None) -> bool:
    """``HORDE_WEB_DASHBOARD`` (or k6's ``K6_WEB_DASHBOARD``, below it) is true."""
    if not environ:
        return False
    value = environ.get("HORDE_WEB_DASHBOARD", environ.get("K6_WEB_DASHBOARD", ""))
    return value.strip().lower() in ("1", "true", "t", "yes")
