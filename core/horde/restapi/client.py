"""The REST API client of ``horde status | pause | resume | scale | stats``, and k6's YAML prints of its answers."""

from __future__ import annotations

import http.client
import json
import re
import socket
from typing import Any

from ..errors import ExitCode, UserError
from ..metrics.gofmt import go_float
from .server import parse_address

__all__ = ["Client", "ClientError", "metrics_yaml", "status_yaml"]

TIMEOUT = 10.0
"""Seconds a client call may take (connect, send and read)."""


class ClientError(UserError):
    """The API could not be reached, or answered with an error document (k6 exits 255)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, ExitCode.GENERIC)


class Client:
    """Calls k6's v1 REST API of a running horde (or k6) at ``address`` (``HOST:PORT``)."""

    def __init__(self, address: str, timeout: float = TIMEOUT) -> None:
        host, port = parse_address(address)
        self.host = host or "localhost"
        self.port = port
        self.timeout = timeout

    def call(self, method: str, path: str, body: Any = None) -> Any:
        """One request; the decoded JSON answer (None when empty). ClientError on a failure or an error document."""
        url = f"http://{self.host}:{self.port}{path}"
        data = None if body is None else json.dumps(body, separators=(",", ":")).encode()
        conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            conn.request(method, path, body=data, headers={"Content-Type": "application/json"} if data else {})
            resp = conn.getresponse()
            raw = resp.read()
        except (OSError, http.client.HTTPException) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc) or type(exc).__name__
            if isinstance(exc, socket.timeout):
                reason = f"no answer within {self.timeout:g}s"
            raise ClientError(f"{method} {url}: {reason}") from None
        finally:
            conn.close()
        if resp.status >= 400:
            try:
                err = json.loads(raw)["errors"][0]
                message = f"{err.get('title', '')}: {err.get('detail', '')}"
            except (ValueError, KeyError, IndexError, TypeError):
                message = f"{method} {url}: HTTP {resp.status} {raw.decode('utf-8', 'replace').strip()}"
            raise ClientError(message)
        return json.loads(raw) if raw.strip() else None

    def status(self) -> dict[str, Any]:
        """The status attributes (``GET /v1/status``)."""
        return dict(self.call("GET", "/v1/status")["data"]["attributes"])

    def set_status(
        self, paused: bool | None = None, vus: int | None = None, vus_max: int | None = None, stopped: bool = False
    ) -> dict[str, Any]:
        """``PATCH /v1/status`` with k6's whole status document (unset fields null); the new status attributes."""
        attrs = {
            "status": 0,
            "paused": paused,
            "vus": vus,
            "vus-max": vus_max,
            "stopped": stopped,
            "running": False,
            "tainted": False,
        }
        doc = {"data": {"type": "status", "id": "default", "attributes": attrs}}
        return dict(self.call("PATCH", "/v1/status", doc)["data"]["attributes"])

    def metrics(self) -> list[dict[str, Any]]:
        """Every metric (``GET /v1/metrics``) as ``{"name": id, **attributes}``."""
        return [{"name": d["id"], **d["attributes"]} for d in self.call("GET", "/v1/metrics")["data"]]


_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_(){}.,:/ -]*$")
_RESERVED = {"", "true", "false", "yes", "no", "on", "off", "null", "~", "y", "n"}


def _scalar(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return go_float(float(v)) if isinstance(v, float) else str(v)
    text = str(v)
    if text.lower() in _RESERVED or not _PLAIN.match(text) or ": " in text or text != text.strip():
        return json.dumps(text)
    try:
        float(text)
    except ValueError:
        return text
    return json.dumps(text)


def _null_text(v: Any) -> str:
    """Go's ``null.Bool``/``null.Int`` in YAML: their text, quoted (``"false"``, ``"1"``, ``""`` for null)."""
    if v is None:
        return '""'
    if isinstance(v, bool):
        return '"true"' if v else '"false"'
    return f'"{int(v)}"'


def status_yaml(attrs: dict[str, Any]) -> str:
    """k6's print of a status (``k6 status``, ``pause``, ``resume``, ``scale``)."""
    return (
        f"status: {int(attrs.get('status') or 0)}\n"
        f"paused: {_null_text(attrs.get('paused'))}\n"
        f"vus: {_null_text(attrs.get('vus'))}\n"
        f"vus-max: {_null_text(attrs.get('vus-max'))}\n"
        f"stopped: {_scalar(bool(attrs.get('stopped')))}\n"
        f"running: {_scalar(bool(attrs.get('running')))}\n"
        f"tainted: {_scalar(bool(attrs.get('tainted')))}\n"
    )


def _num(v: Any) -> str:
    return go_float(float(v)) if isinstance(v, (int, float)) and not isinstance(v, bool) else _scalar(v)


def metrics_yaml(metrics: list[dict[str, Any]]) -> str:
    """k6's print of the metrics (``k6 stats``): one YAML list item per metric, sample keys sorted."""
    if not metrics:
        return "[]\n"
    lines: list[str] = []
    for m in metrics:
        lines.append(f"- name: {_scalar(m['name'])}")
        for field in ("type", "contains"):
            value = m.get(field)
            lines.append(f"  {field}:")
            lines.append(f"    type: {_scalar(value) if value is not None else 'default'}")
            lines.append(f"    valid: {'true' if value is not None else 'false'}")
        lines.append(f"  tainted: {_null_text(m.get('tainted'))}")
        sample = m.get("sample") or {}
        if not sample:
            lines.append("  sample: {}")
            continue
        lines.append("  sample:")
        for key in sorted(sample):
            lines.append(f"    {_scalar(key)}: {_num(sample[key])}")
    return "\n".join(lines) + "\n"
