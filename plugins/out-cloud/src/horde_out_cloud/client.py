"""A small HTTP client for the cloud protocol: k6's headers, idempotency keys, k6-style error bodies."""

from __future__ import annotations

import json
import secrets
from typing import Any
from urllib.parse import urlsplit

from horde.output import ConnectionFailed, KeepAliveConnection

__all__ = ["CloudClient", "ResponseError", "TransportError", "STOPPED_CODE"]


class TransportError(Exception):
    """No HTTP response (refused, reset, timed out): worth retrying."""


STOPPED_CODE = 4
"""The error code k6's cloud API answers a push with (HTTP 403) once the test run was stopped or aborted:
k6's cloud output then stops sending metrics and, with stopOnError, the test (output/cloud/expv2)."""


class ResponseError(Exception):
    """The service answered with an error status; ``retryable`` for 5xx, 408 and 429."""

    def __init__(self, status: int, message: str, code: int | None = None) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status
        self.code = code
        self.message = message

    @property
    def retryable(self) -> bool:
        return self.status >= 500 or self.status in (408, 429)

    @property
    def run_stopped(self) -> bool:
        """True for k6's answer to a push into a stopped test run: HTTP 403 with error code 4."""
        return self.status == 403 and self.code == STOPPED_CODE


class CloudClient:
    """Talks to one service base URL with one token; one keep-alive connection, reopened on error."""

    def __init__(self, host: str, token: str, *, timeout: float, user_agent: str) -> None:
        u = urlsplit(host if "://" in host else "http://" + host)
        if u.scheme not in ("http", "https") or not u.hostname:
            raise ValueError(f"invalid cloud host {host!r} (expected http://HOST:PORT)")
        self.base = f"{u.scheme}://{u.netloc}{u.path.rstrip('/')}"
        self._prefix = u.path.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.user_agent = user_agent
        self._conn = KeepAliveConnection(self.base, timeout=timeout)

    def close(self) -> None:
        """Drop the connection (a later request opens a new one)."""
        self._conn.close()

    def abort(self) -> None:
        """From another thread: make the request in flight fail now (its socket is shut down), and later ones."""
        self._conn.abort()

    def request(
        self,
        path: str,
        body: bytes,
        *,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
        key: str | None = None,
        method: str = "POST",
    ) -> dict[str, Any]:
        """Send ``body`` (POST unless ``method``); return the JSON reply ({} for an empty one).
        Raises :class:`TransportError` or :class:`ResponseError`."""
        return self.exchange(method, path, body, content_type=content_type, headers=headers, key=key)[1]

    def get_json(self, path: str) -> tuple[int, dict[str, Any]]:
        """GET ``path``: (status, JSON reply); a 204 gives ``(204, {})``. Raises as :meth:`request`."""
        return self.exchange("GET", path, None)

    def exchange(
        self,
        method: str,
        path: str,
        body: bytes | None,
        *,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
        key: str | None = None,
    ) -> tuple[int, dict[str, Any]]:
        """One request: (status, JSON reply) for a 2xx; raises :class:`TransportError` or :class:`ResponseError`."""
        h = {"Authorization": f"Token {self.token}", "User-Agent": self.user_agent}
        if body is not None:
            h["Content-Type"] = content_type
            h["K6-Idempotency-Key"] = key or secrets.token_hex(8)
            h["Content-Length"] = str(len(body))
        if headers:
            h.update(headers)
        try:
            answer = self._conn.request(method, self._prefix + path, body, h)
        except ConnectionFailed as exc:
            raise TransportError(exc.reason) from None
        data = answer.body
        try:
            payload = json.loads(data) if data else {}
        except ValueError:
            payload = {}
        if answer.status >= 300:
            err = payload.get("error") if isinstance(payload, dict) else None
            if isinstance(err, dict):
                code = err.get("code")
                raise ResponseError(answer.status, str(err.get("message", "")), code if isinstance(code, int) else None)
            raise ResponseError(answer.status, data[:200].decode("utf-8", "replace") or answer.reason)
        return answer.status, payload if isinstance(payload, dict) else {}

    def post_json(self, path: str, obj: dict[str, Any], key: str | None = None) -> dict[str, Any]:
        """POST ``obj`` as JSON; return the JSON reply."""
        return self.request(path, json.dumps(obj).encode(), key=key)

    def put_json(self, path: str, obj: dict[str, Any]) -> dict[str, Any]:
        """PUT ``obj`` as JSON; return the JSON reply."""
        return self.request(path, json.dumps(obj).encode(), method="PUT")
