"""A small HTTP client for a remote write endpoint (standard library only), one keep-alive connection per thread.

:meth:`Client.abort` may be called from another thread to make a request in
flight fail at once (the stop deadline).
"""

from __future__ import annotations

import base64
import http.client
import socket
import ssl
import threading
from typing import NamedTuple
from urllib.parse import urlsplit

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


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return "timed out"
    if isinstance(exc, socket.gaierror):
        return f"cannot resolve host ({exc.strerror})"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return (
            f"TLS error: CERTIFICATE_VERIFY_FAILED ({exc.verify_message}); "
            "K6_PROMETHEUS_RW_INSECURE_SKIP_TLS_VERIFY=true skips verification"
        )
    if isinstance(exc, ssl.SSLError):
        return f"TLS error: {exc.reason or exc}"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return " ".join(str(exc).split()) or type(exc).__name__


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
        self._https = parts.scheme == "https"
        self._host = parts.hostname or "localhost"
        self._port = parts.port or (443 if self._https else 80)
        self._path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._timeout = cfg.timeout
        self._context = context
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
        self._conn: http.client.HTTPConnection | None = None
        self._lock = threading.Lock()
        self._aborted = False

    def _connection(self) -> http.client.HTTPConnection:
        with self._lock:
            if self._aborted:
                raise ConnectionAbortedError("aborted at stop")
            if self._conn is None:
                if self._https:
                    self._conn = http.client.HTTPSConnection(
                        self._host, self._port, timeout=self._timeout, context=self._context
                    )
                else:
                    self._conn = http.client.HTTPConnection(self._host, self._port, timeout=self._timeout)
            return self._conn

    def write(self, body: bytes) -> Response:
        """POST one snappy-compressed WriteRequest; network errors come back as status None."""
        for attempt in (1, 2):
            try:
                conn = self._connection()
                conn.request("POST", self._path, body=body, headers=self._headers)
                resp = conn.getresponse()
                data = resp.read()
                if resp.will_close:
                    self.close()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as exc:
                self.close()  # a keep-alive connection the server had closed: one fresh try
                if attempt == 2 or self._aborted:
                    return Response(None, _reason(exc))
                continue
            except (OSError, http.client.HTTPException) as exc:
                self.close()
                return Response(None, _reason(exc))
            if 200 <= resp.status < 300:
                return Response(resp.status, "")
            retry_after = None
            ra = resp.getheader("Retry-After")
            if ra and ra.strip().isdigit():
                retry_after = float(ra.strip())
            return Response(resp.status, _error_text(resp.status, data), retry_after)
        raise AssertionError("unreachable")

    def close(self) -> None:
        """Drop the connection (a later request opens a new one)."""
        with self._lock:
            conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    def abort(self) -> None:
        """From any thread: make the request in flight fail now and refuse new ones."""
        with self._lock:
            self._aborted = True
            conn = self._conn
        sock = getattr(conn, "sock", None) if conn is not None else None
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
