"""A small HTTP client for a remote write endpoint over one keep-alive connection (horde.output.KeepAliveConnection).

:meth:`Client.abort` may be called from another thread to make a request in
flight fail at once (the stop deadline).
"""

from __future__ import annotations

import base64
import http.client
import ssl
from typing import NamedTuple
from urllib.parse import urlsplit

from horde.output import ConnectionFailed, KeepAliveConnection

from .config import Config

__all__ = ["Client", "Response"]

USER_AGENT = "horde-prometheus-rw-output"


class Response(NamedTuple):
    """The outcome of one request: ``status`` None means the network failed (``error`` says how)."""

    status: int | None
    error: str
    retry_after: float | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


TLS_HINT = "K6_PROMETHEUS_RW_INSECURE_SKIP_TLS_VERIFY=true skips verification"


def _error_text(status: int, body: bytes) -> str:
    text = " ".join(body.decode("utf-8", "replace").split())
    if len(text) > 300:
        text = text[:300] + "…"
    return f"HTTP {status} {http.client.responses.get(status, '')}".strip() + (f": {text}" if text else "")


def tls_context(cfg: Config) -> ssl.SSLContext:
    """The TLS settings k6 documents: system CAs, optional client certificate, optional no verification."""
    ctx = ssl.create_default_context()
    if cfg.insecure_skip_tls_verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if cfg.client_certificate:
        ctx.load_cert_chain(cfg.client_certificate, cfg.client_certificate_key)
    return ctx


class Client:
    """One keep-alive connection to the remote write endpoint."""

    def __init__(self, cfg: Config, context: ssl.SSLContext | None) -> None:
        parts = urlsplit(cfg.url)
        self._path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._conn = KeepAliveConnection(cfg.url, timeout=cfg.timeout, context=context, tls_hint=TLS_HINT)
        headers = dict(cfg.headers)
        if cfg.username is not None:
            raw = f"{cfg.username}:{cfg.password}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(raw).decode("ascii")
        elif parts.username is not None:
            raw = f"{parts.username}:{parts.password or ''}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(raw).decode("ascii")
        if cfg.bearer_token:
            headers["Authorization"] = "Bearer " + cfg.bearer_token
        headers.update(
            {
                "User-Agent": USER_AGENT,
                "Content-Encoding": "snappy",
                "Content-Type": "application/x-protobuf",
                "X-Prometheus-Remote-Write-Version": "0.1.0",
            }
        )
        self._headers = headers

    def write(self, body: bytes) -> Response:
        """POST one snappy-compressed WriteRequest; network errors come back as status None."""
        try:
            answer = self._conn.request("POST", self._path, body, self._headers)
        except ConnectionFailed as exc:
            return Response(None, exc.reason)
        if answer.ok:
            return Response(answer.status, "")
        return Response(answer.status, _error_text(answer.status, answer.body), answer.retry_after)

    def close(self) -> None:
        """Drop the connection (a later request opens a new one)."""
        self._conn.close()

    def abort(self) -> None:
        """From any thread: make the request in flight fail now and refuse new ones."""
        self._conn.abort()
