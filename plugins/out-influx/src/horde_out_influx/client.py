"""A small HTTP client for InfluxDB's write and query endpoints (standard library only).

One :class:`Client` holds one keep-alive connection and is used by one
thread; :meth:`Client.abort` may be called from another thread to make a
request in flight fail at once.
"""

from __future__ import annotations

import base64
import http.client
import json
import socket
import ssl
import threading
from typing import NamedTuple
from urllib.parse import urlencode, urlsplit

from .config import Config

__all__ = ["Client", "Response", "write_path"]

USER_AGENT = "horde-out-influx"


class Response(NamedTuple):
    """The outcome of one request: ``status`` None means the network failed (``error`` says how)."""

    status: int | None
    error: str
    retry_after: float | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def write_path(cfg: Config) -> str:
    """Path and query of the write endpoint for ``cfg`` (1.x ``/write`` or 2.x ``/api/v2/write``)."""
    prefix = urlsplit(cfg.addr).path.rstrip("/")
    if cfg.v2:
        query = {"org": cfg.organization, "bucket": cfg.bucket, "precision": cfg.wire_precision}
        return prefix + "/api/v2/write?" + urlencode(query)
    query = {"consistency": cfg.consistency, "db": cfg.db, "precision": cfg.wire_precision, "rp": cfg.retention}
    return prefix + "/write?" + urlencode(query)


def _auth_header(cfg: Config) -> str | None:
    if cfg.v2 and cfg.token:
        return "Token " + cfg.token
    if cfg.username or cfg.password:
        raw = f"{cfg.username}:{cfg.password}".encode()
        return "Basic " + base64.b64encode(raw).decode("ascii")
    return None


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
            "insecure=true (HORDE_INFLUXDB_INSECURE) skips verification"
        )
    if isinstance(exc, ssl.SSLError):
        return f"TLS error: {exc.reason or exc}"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return " ".join(str(exc).split()) or type(exc).__name__


def error_text(status: int, body: bytes, headers: http.client.HTTPMessage | None = None) -> str:
    """InfluxDB's error message from a response: the JSON ``error``/``message`` or the body."""
    text = body.decode("utf-8", "replace").strip()
    try:
        data = json.loads(text)
        if isinstance(data, dict):
            text = str(data.get("error") or data.get("message") or text)
    except ValueError:
        pass
    if not text and headers is not None:
        text = headers.get("X-Influxdb-Error", "")
    text = " ".join(text.split())
    if len(text) > 300:
        text = text[:300] + "…"
    return f"{status} {http.client.responses.get(status, '')}".strip() + (f": {text}" if text else "")


class Client:
    """One keep-alive connection to InfluxDB."""

    def __init__(self, cfg: Config) -> None:
        parts = urlsplit(cfg.addr)
        self._https = parts.scheme == "https"
        self._host = parts.hostname or "localhost"
        self._port = parts.port or (443 if self._https else 80)
        self._timeout = cfg.timeout
        self._context: ssl.SSLContext | None = None
        if self._https:
            self._context = ssl.create_default_context()
            if cfg.insecure:
                self._context.check_hostname = False
                self._context.verify_mode = ssl.CERT_NONE
        self._prefix = parts.path.rstrip("/")
        self._write_path = write_path(cfg)
        self._headers = {"User-Agent": USER_AGENT, "Content-Type": "text/plain; charset=utf-8"}
        auth = _auth_header(cfg)
        if auth:
            self._headers["Authorization"] = auth
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

    def request(
        self, method: str, path: str, body: bytes = b"", extra: dict[str, str] | None = None
    ) -> tuple[Response, bytes]:
        """Send one request; network errors come back as a :class:`Response` with status None."""
        headers = dict(self._headers, **(extra or {}))
        for attempt in (1, 2):
            try:
                conn = self._connection()
                conn.request(method, path, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                if resp.will_close:
                    self.close()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as exc:
                # a keep-alive connection the server had closed: one fresh try
                self.close()
                if attempt == 2 or self._aborted:
                    return Response(None, _reason(exc)), b""
                continue
            except (OSError, http.client.HTTPException) as exc:
                self.close()
                return Response(None, _reason(exc)), b""
            if 200 <= resp.status < 300:
                return Response(resp.status, ""), data
            retry_after = None
            ra = resp.getheader("Retry-After")
            if ra and ra.strip().isdigit():
                retry_after = float(ra.strip())
            return Response(resp.status, error_text(resp.status, data, resp.msg), retry_after), data
        raise AssertionError("unreachable")

    def write(self, body: bytes) -> Response:
        """POST ``body`` (line protocol) to the write endpoint."""
        return self.request("POST", self._write_path, body)[0]

    def query(self, q: str) -> tuple[Response, bytes]:
        """POST an InfluxQL statement to the 1.x ``/query`` endpoint."""
        return self.request(
            "POST",
            self._prefix + "/query?" + urlencode({"q": q}),
            b"",
            {"Content-Type": "application/x-www-form-urlencoded"},
        )

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
