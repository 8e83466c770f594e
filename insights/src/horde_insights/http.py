"""HTTP plumbing on the stdlib server: bounded body reading (also chunked), JSON replies, API errors."""

from __future__ import annotations

import json
import math
from http.server import BaseHTTPRequestHandler

__all__ = ["ApiError", "read_body", "send_json", "send_error", "send_download"]


class ApiError(Exception):
    """An error reply: HTTP status, k6-style error code and a message naming the problem."""

    def __init__(self, status: int, message: str, code: int = 0) -> None:
        super().__init__(message)
        self.status = status
        self.code = code or status
        self.message = message


_DISCARD_MAX = 64 << 20


def read_body(h: BaseHTTPRequestHandler, limit: int) -> bytes:
    """The request body, at most ``limit`` bytes (413 beyond); supports ``Transfer-Encoding: chunked``."""
    te = (h.headers.get("Transfer-Encoding") or "").lower()
    if "chunked" in te:
        parts = []
        size = 0
        while True:
            line = h.rfile.readline(1024)
            if not line:
                raise ApiError(400, "truncated chunked request body")
            try:
                n = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise ApiError(400, "malformed chunk size in request body") from None
            if n == 0:
                while h.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(parts)
            size += n
            if size > limit:
                h.close_connection = True
                raise ApiError(413, f"request body larger than the limit of {limit} bytes")
            chunk = h.rfile.read(n)
            if len(chunk) != n:
                raise ApiError(400, "truncated chunked request body")
            parts.append(chunk)
            h.rfile.readline(8)  # CRLF after the chunk
    length = h.headers.get("Content-Length")
    if length is None:
        return b""
    try:
        n = int(length)
    except ValueError:
        raise ApiError(400, "invalid Content-Length") from None
    if n < 0:
        raise ApiError(400, "invalid Content-Length")
    if n > limit:
        h.close_connection = True
        if n <= _DISCARD_MAX:  # read and drop it, so the client sees the 413 instead of a broken pipe
            left = n
            while left > 0:
                got = h.rfile.read(min(left, 1 << 16))
                if not got:
                    break
                left -= len(got)
        raise ApiError(413, f"request body of {n} bytes is larger than the limit of {limit} bytes")
    body = h.rfile.read(n)
    if len(body) != n:
        raise ApiError(400, "truncated request body")
    return body


_SECURITY_HEADERS = (
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("Cache-Control", "no-store"),
)


def send_json(h: BaseHTTPRequestHandler, status: int, payload: object) -> None:
    data = json.dumps(_finite(payload), separators=(",", ":"), allow_nan=False, default=str).encode()
    h.send_response(status)
    h.send_header("Content-Type", "application/json; charset=utf-8")
    h.send_header("Content-Length", str(len(data)))
    for k, v in _SECURITY_HEADERS:
        h.send_header(k, v)
    h.end_headers()
    if h.command != "HEAD":
        h.wfile.write(data)


def send_download(h: BaseHTTPRequestHandler, data: bytes, content_type: str, filename: str) -> None:
    """Reply with a file to save (``Content-Disposition: attachment``); ``filename`` must be plain ASCII."""
    h.send_response(200)
    h.send_header("Content-Type", content_type)
    h.send_header("Content-Length", str(len(data)))
    h.send_header("Content-Disposition", f'attachment; filename="{filename}"')
    for k, v in _SECURITY_HEADERS:
        h.send_header(k, v)
    h.end_headers()
    if h.command != "HEAD":
        h.wfile.write(data)


def send_error(h: BaseHTTPRequestHandler, err: ApiError) -> None:
    """Reply with k6's error body shape ``{"error": {"code", "message"}}``."""
    send_json(h, err.status, {"error": {"code": err.code, "message": err.message}})


def _finite(o):
    """``o`` with every NaN/infinite float replaced by None (JSON has no such numbers)."""
    if isinstance(o, float):
        return o if math.isfinite(o) else None
    if isinstance(o, dict):
        return {k: _finite(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_finite(v) for v in o]
    return o
