"""k6's option names: which horde knows, the nearest known name of a typo, and the ones horde refuses.

Checked once after the option layers are merged (never on the hot path): an
unknown name is a warning naming the nearest known one (``vuz`` → ``vus``); a
known option horde cannot honour is an :class:`~horde.errors.UserError` with
exit code 104 naming it.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from ..errors import ExitCode, UserError

__all__ = [
    "LIB_OPTION_KEYS",
    "K6_OPTIONS",
    "HORDE_OPTIONS",
    "REFUSED",
    "nearest_option",
    "unknown_options",
    "refuse_unsupported",
    "INERT",
    "inert_options",
]

LIB_OPTION_KEYS: tuple[str, ...] = (
    "paused",
    "vus",
    "duration",
    "iterations",
    "stages",
    "scenarios",
    "executionSegment",
    "executionSegmentSequence",
    "noSetup",
    "setupTimeout",
    "noTeardown",
    "teardownTimeout",
    "rps",
    "dns",
    "maxRedirects",
    "userAgent",
    "batch",
    "batchPerHost",
    "httpDebug",
    "insecureSkipTLSVerify",
    "tlsCipherSuites",
    "tlsVersion",
    "tlsAuth",
    "throw",
    "thresholds",
    "blacklistIPs",
    "blockHostnames",
    "hosts",
    "noConnectionReuse",
    "noVUConnectionReuse",
    "minIterationDuration",
    "cloud",
    "ext",
    "summaryTrendStats",
    "summaryTimeUnit",
    "systemTags",
    "tags",
    "metricSamplesBufferSize",
    "noCookiesReset",
    "discardResponseBodies",
)
"""k6 v1.1.0's ``lib.Options`` JSON keys (lib/options.go), in its order (``k6 inspect`` writes them so)."""

_UNEXPORTED_LIB_OPTIONS = ("consoleOutput", "localIPs")
"""``lib.Options`` fields k6 sets from its environment and flags but leaves out of the JSON (``json:"-"``)."""

_RUNTIME_OPTIONS = (
    "out",
    "collectors",
    "noUsageReport",
    "includeSystemEnvVars",
    "compatibilityMode",
    "noThresholds",
    "noSummary",
    "summaryExport",
    "summaryMode",
    "tracesOutput",
    "linger",
)
"""Runtime options and the config file's own keys."""

K6_OPTIONS = frozenset(LIB_OPTION_KEYS + _UNEXPORTED_LIB_OPTIONS + _RUNTIME_OPTIONS)
"""Every option name k6 v1.1.0 knows in script ``options``, the config file and its environment."""

HORDE_OPTIONS = frozenset({"tlsCaFile"})
"""horde's own option names (beside k6's)."""

REFUSED: dict[str, str] = {
    "compatibilityMode": "it chooses the JavaScript compiler; horde runs Python scripts",
}
"""Known options horde cannot honour, and why (exit 104 when set)."""

INERT: dict[str, str] = {
    "metricSamplesBufferSize": "it sizes the Go channel k6 buffers samples in; horde's sample pump has no such buffer",
}
"""Known options that change nothing in horde, and why (a warning when set)."""

_SNAKE = {
    "insecure_skip_tls_verify",
    "tls_ca_file",
    "max_redirects",
    "user_agent",
    "no_connection_reuse",
    "discard_response_bodies",
    "batch_per_host",
}
"""snake_case names the HTTP client reads too (``horde.http.client``)."""

_KNOWN = K6_OPTIONS | HORDE_OPTIONS | _SNAKE


def nearest_option(name: str) -> str | None:
    """The known option name closest to ``name`` (``vuz`` → ``vus``), or None when none is close."""
    lowered = {k.lower(): k for k in _KNOWN}
    match = difflib.get_close_matches(name.lower(), list(lowered), n=1, cutoff=0.6)
    return lowered[match[0]] if match else None


def unknown_options(options: Mapping[str, Any]) -> list[str]:
    """One warning per unknown option name: ``unknown option "vuz" (did you mean "vus"?)``."""
    out = []
    for name in options:
        if name in _KNOWN:
            continue
        near = nearest_option(name)
        hint = f' (did you mean "{near}"?)' if near else ""
        out.append(f'There were unknown fields in the options: "{name}"{hint}; it is ignored')
    return out


def _set(value: Any) -> bool:
    return value is not None and value != "" and value != [] and value != {} and value is not False


def refuse_unsupported(options: Mapping[str, Any]) -> None:
    """Raise a :class:`UserError` (exit 104) naming the first set option horde cannot honour."""
    for name, why in REFUSED.items():
        value = options.get(name)
        if _set(value):
            raise UserError(f"option {name}={value!r} is not supported by horde: {why}", ExitCode.INVALID_CONFIG)
    value = options.get("tracesOutput")
    if _set(value) and value != "none":
        raise UserError(
            f"option tracesOutput={value!r} is not supported by horde: it has no request tracing (only 'none')",
            ExitCode.INVALID_CONFIG,
        )


def inert_options(options: Mapping[str, Any]) -> list[str]:
    """One warning per set option that horde accepts but that changes nothing (:data:`INERT`), naming it."""
    return [
        f"option {name}={options[name]!r} has no effect in horde: {why}"
        for name, why in INERT.items()
        if options.get(name) is not None
    ]
