"""k6's ``httpDebug``: every request and response logged as on the wire (``full`` adds the bodies)."""

from __future__ import annotations

import logging
from typing import Any

from .transport import RawResponse

__all__ = ["log_exchange"]

_log = logging.getLogger("horde.http.debug")


def _body(data: bytes | None) -> str:
    return "" if not data else "\n" + data.decode("utf-8", "replace")


def log_exchange(
    mode: str, method: str, target: Any, headers: list[tuple[str, str]], body: bytes | None, raw: RawResponse
) -> None:
    """Log ``Request:`` and ``Response:`` blocks (k6's http-debug output); bodies only when ``mode`` is ``full``."""
    full = mode == "full"
    head = "\n".join(f"{k}: {v}" for k, v in headers)
    _log.info("Request:\n%s %s HTTP/1.1\n%s\n%s", method, target.target, head, _body(body) if full else "")
    resp_head = "\n".join(f"{k.decode('latin-1')}: {v.decode('latin-1')}" for k, v in raw.headers)
    reason = f" {raw.reason}" if raw.reason else ""
    _log.info("Response:\n%s %d%s\n%s\n%s", raw.proto, raw.status, reason, resp_head, _body(raw.body) if full else "")
