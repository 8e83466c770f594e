"""k6's system tags: which exist, which are on by default, which go to metadata."""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["SYSTEM_TAGS", "DEFAULT_SYSTEM_TAGS", "METADATA_SYSTEM_TAGS", "parse_system_tags"]

SYSTEM_TAGS: tuple[str, ...] = (
    "proto",
    "subproto",
    "status",
    "method",
    "url",
    "name",
    "group",
    "check",
    "error",
    "error_code",
    "tls_version",
    "scenario",
    "service",
    "expected_response",
    "iter",
    "vu",
    "ocsp_status",
    "ip",
)
"""Every system tag, in k6's bit order."""

DEFAULT_SYSTEM_TAGS: frozenset[str] = frozenset(SYSTEM_TAGS[:14])
"""The system tags enabled when the user sets none (k6's first 14)."""

METADATA_SYSTEM_TAGS: frozenset[str] = frozenset({"iter", "vu"})
"""System tags that are not indexable: when enabled they go to sample metadata."""


def parse_system_tags(value: str | Iterable[str] | None) -> frozenset[str]:
    """The enabled set from a comma list or iterable; unknown names are ignored, as k6 does."""
    if value is None:
        return DEFAULT_SYSTEM_TAGS
    names = value.split(",") if isinstance(value, str) else value
    known = set(SYSTEM_TAGS)
    return frozenset(n.strip() for n in names if n.strip() in known)
