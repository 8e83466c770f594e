"""A small RFC 6265 cookie jar, one per VU (k6's ``http.cookieJar()``)."""

from __future__ import annotations

import time
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

__all__ = ["Cookie", "CookieJar", "parse_set_cookie"]


class Cookie:
    """One cookie as stored in a jar or read from a ``Set-Cookie`` header.

    ``expires`` is a Unix time in seconds or None (a session cookie);
    ``max_age`` is the raw Max-Age attribute or None.
    """

    __slots__ = ("name", "value", "domain", "path", "host_only", "expires", "max_age", "secure", "http_only")

    def __init__(
        self,
        name: str,
        value: str,
        domain: str = "",
        path: str = "/",
        *,
        host_only: bool = True,
        expires: float | None = None,
        max_age: int | None = None,
        secure: bool = False,
        http_only: bool = False,
    ) -> None:
        self.name = name
        self.value = value
        self.domain = domain
        self.path = path
        self.host_only = host_only
        self.expires = expires
        self.max_age = max_age
        self.secure = secure
        self.http_only = http_only

    def as_dict(self) -> dict:
        """k6's cookie object: name, value, domain, path, http_only, secure, max_age, expires."""
        return {
            "name": self.name,
            "value": self.value,
            "domain": self.domain,
            "path": self.path,
            "http_only": self.http_only,
            "secure": self.secure,
            "max_age": self.max_age or 0,
            "expires": int(self.expires * 1000) if self.expires is not None else 0,
        }

    def __repr__(self) -> str:
        return f"Cookie({self.name}={self.value!r}, domain={self.domain!r}, path={self.path!r})"


def parse_set_cookie(header: str, now: float | None = None) -> Cookie | None:
    """The cookie in one ``Set-Cookie`` header value, or None when it is malformed."""
    parts = header.split(";")
    name, sep, value = parts[0].partition("=")
    name = name.strip()
    if not sep or not name:
        return None
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    c = Cookie(name, value, path="")
    for attr in parts[1:]:
        k, _, v = attr.partition("=")
        k = k.strip().lower()
        v = v.strip()
        if k == "domain":
            c.domain = v.lstrip(".").lower()
            c.host_only = not c.domain
        elif k == "path":
            c.path = v if v.startswith("/") else ""
        elif k == "max-age":
            try:
                c.max_age = int(v)
            except ValueError:
                continue
            c.expires = (time.time() if now is None else now) + c.max_age
        elif k == "expires" and c.max_age is None:
            try:
                c.expires = parsedate_to_datetime(v).timestamp()
            except (TypeError, ValueError, IndexError):
                continue
        elif k == "secure":
            c.secure = True
        elif k == "httponly":
            c.http_only = True
    return c


def _default_path(path: str) -> str:
    if not path.startswith("/"):
        return "/"
    i = path.rfind("/")
    return "/" if i == 0 else path[:i]


def _path_match(req_path: str, cookie_path: str) -> bool:
    if req_path == cookie_path:
        return True
    if req_path.startswith(cookie_path):
        return cookie_path.endswith("/") or req_path[len(cookie_path)] == "/"
    return False


def _domain_match(host: str, domain: str) -> bool:
    return host == domain or (host.endswith("." + domain) and not host.replace(".", "").isdigit())


class CookieJar:
    """Cookies of one VU, keyed by (domain, path, name).

    The client stores every ``Set-Cookie`` it receives and sends matching
    cookies; scripts use :meth:`set`, :meth:`cookies_for_url`, :meth:`delete`
    and :meth:`clear` as k6's CookieJar methods.
    """

    def __init__(self) -> None:
        self._cookies: dict[tuple[str, str, str], Cookie] = {}

    def __len__(self) -> int:
        return len(self._cookies)

    def store(self, host: str, path: str, cookie: Cookie, now: float | None = None) -> None:
        """Store ``cookie`` received from ``host`` for a request to ``path`` (RFC 6265 §5.3)."""
        host = host.lower()
        if cookie.host_only or not cookie.domain:
            cookie.domain = host
            cookie.host_only = True
        elif not _domain_match(host, cookie.domain):
            return
        if not cookie.path:
            cookie.path = _default_path(path)
        key = (cookie.domain, cookie.path, cookie.name)
        now = time.time() if now is None else now
        if cookie.expires is not None and cookie.expires <= now:
            self._cookies.pop(key, None)
        else:
            self._cookies[key] = cookie

    def matching(self, scheme: str, host: str, path: str, now: float | None = None) -> list[Cookie]:
        """The unexpired cookies to send to ``scheme://host/path``, longest path first."""
        if not self._cookies:
            return []
        host = host.lower()
        now = time.time() if now is None else now
        out = []
        expired = []
        for key, c in self._cookies.items():
            if c.expires is not None and c.expires <= now:
                expired.append(key)
                continue
            if c.host_only:
                if host != c.domain:
                    continue
            elif not _domain_match(host, c.domain):
                continue
            if not _path_match(path, c.path):
                continue
            if c.secure and scheme != "https":
                continue
            out.append(c)
        for key in expired:
            del self._cookies[key]
        if len(out) > 1:
            out.sort(key=lambda c: -len(c.path))
        return out

    def header_for(self, scheme: str, host: str, path: str) -> str:
        """The ``Cookie`` header value for a request, or "" when no cookie matches."""
        if not self._cookies:
            return ""
        return "; ".join(f"{c.name}={c.value}" for c in self.matching(scheme, host, path))

    # k6's CookieJar API
    def set(
        self,
        url: str,
        name: str,
        value: str,
        *,
        domain: str | None = None,
        path: str | None = None,
        expires: float | None = None,
        max_age: int | None = None,
        secure: bool = False,
        http_only: bool = False,
    ) -> None:
        """Set a cookie for ``url`` (k6's ``jar.set(url, name, value, options)``)."""
        u = urlsplit(url)
        c = Cookie(
            name,
            str(value),
            (domain or "").lstrip(".").lower(),
            path or "",
            host_only=not domain,
            expires=expires,
            max_age=max_age,
            secure=secure,
            http_only=http_only,
        )
        if max_age is not None:
            c.expires = time.time() + max_age
        self.store(u.hostname or "", u.path or "/", c)

    def cookies_for_url(self, url: str) -> dict[str, list[str]]:
        """``{name: [values]}`` of the cookies that a request to ``url`` would send."""
        u = urlsplit(url)
        out: dict[str, list[str]] = {}
        for c in self.matching(u.scheme, u.hostname or "", u.path or "/"):
            out.setdefault(c.name, []).append(c.value)
        return out

    def delete(self, url: str, name: str) -> None:
        """Delete the cookie ``name`` that would be sent to ``url``."""
        u = urlsplit(url)
        for c in self.matching(u.scheme, u.hostname or "", u.path or "/"):
            if c.name == name:
                self._cookies.pop((c.domain, c.path, c.name), None)

    def clear(self, url: str | None = None) -> None:
        """Delete the cookies that would be sent to ``url``, or all cookies."""
        if url is None:
            self._cookies.clear()
            return
        u = urlsplit(url)
        for c in self.matching(u.scheme, u.hostname or "", u.path or "/"):
            self._cookies.pop((c.domain, c.path, c.name), None)
