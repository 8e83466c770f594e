"""A small HTTP client for InfluxDB's write and query endpoints (standard library only).

One :class:`Client` holds one keep-alive connection (:class:`horde.output.KeepAliveConnection`)
and is used by one thread; :meth:`Client.abort` may be called from another thread to make a
request in flight fail at once.
"""

from __future__ import annotations

import base64
import http.client
import json
import ssl
from typing import NamedTuple
from urllib.parse import urlencode, urlsplit

from horde.output import ConnectionFailed, KeepAliveConnection

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


TLS_HINT = "insecure=true (HORDE_INFLUXDB_INSECURE) skips verification"


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
        context: ssl.SSLContext | None = None
        if urlsplit(cfg.addr).scheme == "https":
            context = ssl.create_default_context()
            if cfg.insecure:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
        self._conn = KeepAliveConnection(cfg.addr, timeout=cfg.timeout, context=context, tls_hint=TLS_HINT)
        self._prefix = urlsplit(cfg.addr).path.rstrip("/")
        self._write_path = write_path(cfg)
        self._headers = {"User-Agent": USER_AGENT, "Content-Type": "text/plain; charset=utf-8"}
        auth = _auth_header(cfg)
        if auth:
            self._headers["Authorization"] = auth

    def request(
        self, method: str, path: str, body: bytes = b"", extra: dict[str, str] | None = None
    ) -> tuple[Response, bytes]:
        """Send one request; network errors come back as a :class:`Response` with status None."""
        try:
            answer = self._conn.request(method, path, body, dict(self._headers, **(extra or {})))
        except ConnectionFailed as exc:
            return Response(None, exc.reason), b""
        if answer.ok:
            return Response(answer.status, ""), answer.body
        text = error_text(answer.status, answer.body, answer.headers)
        return Response(answer.status, text, answer.retry_after), answer.body

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
        self._conn.close()

    def abort(self) -> None:
        """From any thread: make the request in flight fail now and refuse new ones."""
        self._conn.abort()
