"""A script's ``handle_summary(data)``: calling it with a deadline and writing what it returns, as k6 does.

k6's rules: an exception in it is logged and the default summary is printed instead; ``None`` also
means the default summary; otherwise the returned mapping's ``stdout`` / ``stderr`` keys go to those
streams and every other key is a file path written (created or truncated) with its text. A value that
is neither ``str`` nor bytes rejects the whole mapping (nothing is written) with one error line.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TextIO

from .script import script_traceback

__all__ = ["HANDLE_SUMMARY_TIMEOUT", "SummaryHandlerError", "call_handle_summary", "write_summary_result"]

_log = logging.getLogger("horde")

HANDLE_SUMMARY_TIMEOUT = 120.0
"""Seconds ``handle_summary`` may take (k6's fixed 2 minutes)."""


class SummaryHandlerError(Exception):
    """``handle_summary`` timed out or returned something unusable: nothing of it is written."""


def _call(fn: Callable[..., Any], data: dict[str, Any], timeout: float) -> Any:
    """``fn(data)`` (awaited when async) in a daemon thread; TimeoutError after ``timeout`` seconds."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            result = fn(data)
            if inspect.isawaitable(result):
                result = asyncio.run(_awaited(result))
            box["result"] = result
        except BaseException as exc:  # handed to the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=target, name="horde-handle-summary", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise TimeoutError
    if "error" in box:
        raise box["error"]
    return box.get("result")


async def _awaited(awaitable: Any) -> Any:
    return await awaitable


def call_handle_summary(
    fn: Callable[..., Any], data: dict[str, Any], script: Path, timeout: float = HANDLE_SUMMARY_TIMEOUT
) -> dict[str, str | bytes] | None:
    """Run ``handle_summary(data)``; None means "print the default summary".

    An exception in it is logged on one line and gives None (k6 then prints its default summary);
    a timeout or a result that is not ``{str: str | bytes}`` raises :class:`SummaryHandlerError`.
    """
    try:
        result = _call(fn, data, timeout)
    except TimeoutError:
        raise SummaryHandlerError(f"handle_summary() execution timed out after {timeout:g} seconds") from None
    except Exception as exc:
        _log.error("handle_summary() failed: %s", script_traceback(exc, script))
        return None
    if result is None:
        return None
    if not isinstance(result, Mapping):
        raise SummaryHandlerError(
            f"handle_summary() should return a dict with string keys, not {type(result).__name__}"
        )
    out: dict[str, str | bytes] = {}
    for key, value in result.items():
        if not isinstance(key, str):
            raise SummaryHandlerError(f"handle_summary() should return a dict with string keys, not {key!r}")
        if isinstance(value, (bytearray, memoryview)):
            value = bytes(value)
        if not isinstance(value, (str, bytes)):
            raise SummaryHandlerError(
                f"error handling summary object {key}: invalid type {type(value).__name__}, it needs to be "
                "a str or bytes"
            )
        out[key] = value
    return out


def _write_stream(stream: TextIO, value: str | bytes) -> None:
    if isinstance(value, bytes):
        buffer = getattr(stream, "buffer", None)
        if buffer is not None:
            stream.flush()
            buffer.write(value)
            buffer.flush()
            return
        value = value.decode("utf-8", "replace")
    stream.write(value)
    stream.flush()


def write_summary_result(result: Mapping[str, str | bytes], stdout: TextIO, stderr: TextIO) -> list[str]:
    """Write each ``stdout`` / ``stderr`` / file path of ``result``; the errors, one line each."""
    errors = []
    for target, value in result.items():
        try:
            if target == "stdout":
                _write_stream(stdout, value)
            elif target == "stderr":
                _write_stream(stderr, value)
            elif isinstance(value, bytes):
                Path(target).write_bytes(value)
            else:
                Path(target).write_text(value, encoding="utf-8")
        except OSError as exc:
            errors.append(f"could not save the summary to '{target}': {exc.strerror or exc}")
    return errors
