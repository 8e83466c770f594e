"""Response objects returned to scripts: k6's ``http.Response`` in Python."""

from __future__ import annotations

import json as _json
from collections.abc import Iterator, Mapping
from typing import Any

from .cookies import parse_set_cookie

__all__ = ["Headers", "Response", "RequestInfo"]

_TIMING_KEYS = ("blocked", "connecting", "tls_handshaking", "sending", "waiting", "receiving")


class Headers(Mapping[str, str]):
    """Case-insensitive, read-only response headers.

    ``h["content-type"]`` and ``h["Content-Type"]`` are the same; repeated
    headers are joined with ``", "`` (use :meth:`get_all` for the list).
    """

    __slots__ = ("_raw", "_map", "_src")

    def __init__(self, raw: list[tuple[bytes, bytes]] | list[tuple[str, str]] = ()) -> None:
        self._raw: Any = raw
        self._map: dict[str, tuple[str, str]] | None = None
        self._src: Any = None

    @classmethod
    def of(cls, src: Any) -> Headers:
        """The headers of ``src`` (anything with a ``headers`` list, such as a RawResponse), read on first use."""
        h = cls(None)  # type: ignore[arg-type]
        h._src = src
        return h

    def _pairs(self) -> Any:
        raw = self._raw
        if raw is None:
            raw = self._raw = self._src.headers
            self._src = None
        return raw

    @classmethod
    def from_pairs(cls, pairs: list[tuple[str, str]]) -> Headers:
        return cls([(k.encode("latin-1"), v.encode("latin-1")) for k, v in pairs])

    def _m(self) -> dict[str, tuple[str, str]]:
        m = self._map
        if m is None:
            m = {}
            for k, v in self._pairs():
                name = k.decode("latin-1")
                value = v.decode("latin-1")
                low = name.lower()
                prev = m.get(low)
                m[low] = (name, value) if prev is None else (prev[0], prev[1] + ", " + value)
            self._map = m
        return m

    def __getitem__(self, key: str) -> str:
        return self._m()[key.lower()][1]

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        item = self._m().get(key.lower())
        return default if item is None else item[1]

    def get_all(self, key: str) -> list[str]:
        """Every value of header ``key``, in wire order."""
        low = key.lower().encode("latin-1")
        return [v.decode("latin-1") for k, v in self._pairs() if k.lower() == low]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.lower() in self._m()

    def __iter__(self) -> Iterator[str]:
        return (name for name, _ in self._m().values())

    def __len__(self) -> int:
        return len(self._m())

    def __repr__(self) -> str:
        return f"Headers({dict(self.items())!r})"


class RequestInfo:
    """The request that produced a response (``res.request``): method, url, headers, body, cookies."""

    __slots__ = ("method", "url", "_headers", "body")

    def __init__(self, method: str, url: str, headers: list[tuple[str, str]], body: bytes | None) -> None:
        self.method = method
        self.url = url
        self._headers = headers
        self.body = body

    @property
    def headers(self) -> dict[str, str]:
        """The headers sent (repeated names joined with ", ")."""
        out: dict[str, str] = {}
        for k, v in self._headers:
            out[k] = f"{out[k]}, {v}" if k in out else v
        return out

    @property
    def cookies(self) -> dict[str, list[str]]:
        """``{name: [values]}`` of the cookies sent."""
        out: dict[str, list[str]] = {}
        for k, v in self._headers:
            if k.lower() == "cookie":
                for part in v.split(";"):
                    n, _, val = part.strip().partition("=")
                    if n:
                        out.setdefault(n, []).append(val)
        return out

    def __repr__(self) -> str:
        return f"<RequestInfo {self.method} {self.url}>"


class Response:
    """The result of one request (after redirects).

    ``status`` is 0 when no response arrived; then ``error`` and
    ``error_code`` (k6's codes) say why. For status >= 400, ``error_code`` is
    ``1000 + status``. ``timings`` holds k6's keys in milliseconds. Given
    ``raw`` (the transport's response), ``status_text`` and ``headers`` left
    as None come from it when first read.
    """

    __slots__ = (
        "status",
        "_status_text",
        "proto",
        "_headers",
        "body",
        "url",
        "tls_version",
        "error",
        "error_code",
        "request",
        "remote_ip",
        "remote_port",
        "_timings",
        "_cookies",
        "_set_cookies",
        "_raw",
    )

    def __init__(
        self,
        status: int = 0,
        status_text: str | None = "",
        proto: str = "",
        headers: Headers | None = None,
        body: bytes | None = b"",
        url: str = "",
        tls_version: str | None = None,
        error: str = "",
        error_code: int = 0,
        request: RequestInfo | None = None,
        timings: tuple = (0.0,) * 6,
        remote_ip: str = "",
        remote_port: int = 0,
        set_cookies: list[str] | None = None,
        raw: Any = None,
    ) -> None:
        self.status = status
        self._status_text = status_text
        self.proto = proto
        self._headers = headers if headers is not None or raw is not None else Headers()
        self._raw = raw
        self.body = body
        self.url = url
        self.tls_version = tls_version
        self.error = error
        self.error_code = error_code
        self.request = request
        self.remote_ip = remote_ip
        self.remote_port = remote_port
        self._timings = timings
        self._cookies: dict | None = None
        self._set_cookies = set_cookies

    @property
    def status_text(self) -> str:
        """The status line after the protocol: ``"200 OK"``."""
        st = self._status_text
        if st is None:
            reason = self._raw.reason
            st = self._status_text = f"{self.status} {reason}" if reason else str(self.status)
        return st

    @property
    def headers(self) -> Headers:
        """The response headers (case-insensitive)."""
        h = self._headers
        if h is None:
            h = self._headers = Headers.of(self._raw)
        return h

    @property
    def timings(self) -> dict[str, float]:
        """blocked, connecting, tls_handshaking, sending, waiting, receiving, duration (ms)."""
        t = self._timings
        d = dict(zip(_TIMING_KEYS, t))
        d["duration"] = t[3] + t[4] + t[5]
        return d

    @property
    def text(self) -> str:
        """The body decoded with the charset of Content-Type (UTF-8 by default)."""
        if not self.body:
            return ""
        charset = "utf-8"
        ctype = self.headers.get("content-type")
        if ctype and "charset=" in ctype:
            charset = ctype.split("charset=", 1)[1].split(";", 1)[0].strip().strip('"') or "utf-8"
        try:
            return self.body.decode(charset, "replace")
        except LookupError:
            return self.body.decode("utf-8", "replace")

    def json(self, selector: str | None = None) -> Any:
        """The body parsed as JSON; ``selector`` (``"a.b.0"``) picks a nested value, None when absent."""
        doc = _json.loads(self.body or b"null")
        if selector is None:
            return doc
        for part in selector.split("."):
            if isinstance(doc, list):
                try:
                    doc = doc[int(part)]
                except (ValueError, IndexError):
                    return None
            elif isinstance(doc, dict):
                if part not in doc:
                    return None
                doc = doc[part]
            else:
                return None
        return doc

    @property
    def cookies(self) -> dict[str, list[dict]]:
        """Cookies set by this response: ``{name: [cookie dicts]}`` as k6's ``res.cookies``."""
        if self._cookies is None:
            out: dict[str, list[dict]] = {}
            for header in self._set_cookies or ():
                c = parse_set_cookie(header)
                if c is not None:
                    out.setdefault(c.name, []).append(c.as_dict())
            self._cookies = out
        return self._cookies

    @property
    def ok(self) -> bool:
        """True for a response with status 200-399."""
        return 200 <= self.status < 400

    def __repr__(self) -> str:
        if self.error and not self.status:
            return f"<Response [0] {self.url} error={self.error!r}>"
        return f"<Response [{self.status}] {self.url}>"
