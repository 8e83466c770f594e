"""HTTP plumbing of the ASGI service: API errors, JSON replies, request bodies read within a limit."""

from __future__ import annotations

import json
import math
from typing import Any

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

__all__ = [
    "ApiError",
    "ClientGone",
    "read_body",
    "json_response",
    "error_response",
    "download_response",
    "SECURITY_HEADERS",
]


class ApiError(Exception):
    """An error reply: HTTP status, k6-style error code and a message naming the problem."""

    def __init__(self, status: int, message: str, code: int = 0) -> None:
        super().__init__(message)
        self.status = status
        self.code = code or status
        self.message = message


class ClientGone(Exception):
    """The client went away (or was cut off by a deadline) before its request was complete: no reply."""


_DISCARD_MAX = 64 << 20
"""A body up to this size past its limit is read and dropped, so the client sees the 413 instead of a reset."""


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, at most ``limit`` bytes (413 beyond); chunked bodies are counted as they arrive.

    A body over the limit is read and dropped (up to 64 MiB) before the 413,
    so that the client, which may send it all before reading, gets the reply.
    """
    length = request.headers.get("content-length")
    if length is not None:
        try:
            n = int(length)
        except ValueError:
            raise ApiError(400, "invalid Content-Length") from None
        if n > limit:
            if n <= _DISCARD_MAX:  # read and drop it: closing with it unread would reset the connection
                await _discard(request)
            raise ApiError(413, f"request body of {n} bytes is larger than the limit of {limit} bytes")
    parts: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                if size > _DISCARD_MAX:
                    break
                continue
            parts.append(chunk)
    except ClientDisconnect:
        raise ClientGone("the client did not send the whole request body") from None
    if size > limit:
        raise ApiError(413, f"request body larger than the limit of {limit} bytes")
    return b"".join(parts)


async def _discard(request: Request) -> None:
    try:
        async for _ in request.stream():
            pass
    except ClientDisconnect:
        raise ClientGone("the client did not send the whole request body") from None


SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def json_bytes(payload: object) -> bytes:
    """Compact JSON with every NaN/infinite float as null (JSON has no such numbers)."""
    return json.dumps(_finite(payload), separators=(",", ":"), allow_nan=False, default=str).encode()


def json_response(status: int, payload: object) -> Response:
    """A JSON reply with the API's security headers."""
    return Response(
        json_bytes(payload),
        status_code=status,
        media_type="application/json; charset=utf-8",
        headers=SECURITY_HEADERS,
    )


def error_response(err: ApiError) -> Response:
    """Reply with k6's error body shape ``{"error": {"code", "message"}}``."""
    return json_response(err.status, {"error": {"code": err.code, "message": err.message}})


def _finite(o: Any) -> Any:
    """``o`` with every NaN/infinite float replaced by None."""
    if isinstance(o, float):
        return o if math.isfinite(o) else None
    if isinstance(o, dict):
        return {k: _finite(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_finite(v) for v in o]
    return o


def download_response(data: bytes, content_type: str, filename: str) -> Response:
    """A file to save (``Content-Disposition: attachment``); ``filename`` must be plain ASCII."""
    return Response(
        data,
        media_type=content_type,
        headers={**SECURITY_HEADERS, "Content-Disposition": f'attachment; filename="{filename}"'},
    )
