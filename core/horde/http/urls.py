"""URL handling for the client: parsing (cached), k6's URL cleaning, query params, durations."""

from __future__ import annotations

import re
from urllib.parse import urlencode, urljoin, urlsplit

from .errors import InvalidURL

__all__ = ["Target", "parse_url", "add_params", "resolve", "parse_timeout"]

_DEFAULT_PORTS = {"http": 80, "https": 443}


class Target:
    """A parsed request URL: what the transport needs, plus the tag value (``clean``)."""

    __slots__ = ("url", "scheme", "host", "port", "target", "path", "host_header", "clean")

    def __init__(self, url: str) -> None:
        try:
            u = urlsplit(url)
            port = u.port
        except ValueError as e:
            raise InvalidURL(url, str(e)) from None
        scheme = u.scheme.lower()
        if scheme not in _DEFAULT_PORTS:
            if scheme in ("ws", "wss", "h2c", "h2", "http2"):
                raise InvalidURL(
                    url,
                    f"scheme {scheme!r} is not supported: horde.http speaks HTTP/1.1 over http:// and https:// only",
                )
            raise InvalidURL(url, f"unsupported protocol scheme {u.scheme!r}" if u.scheme else "missing scheme")
        host = u.hostname
        if not host:
            raise InvalidURL(url, "missing host")
        self.url = url
        self.scheme = scheme
        self.host = host
        self.port = port or _DEFAULT_PORTS[scheme]
        path = u.path or "/"
        self.path = path
        self.target = path + ("?" + u.query if u.query else "")
        hh = f"[{host}]" if ":" in host else host
        self.host_header = hh if port is None or port == _DEFAULT_PORTS[scheme] else f"{hh}:{port}"
        self.clean = _clean(url, u)


def _clean(url: str, u) -> str:
    """k6's ``URL.Clean``: the URL as given, with user info masked and the fragment dropped."""
    if "#" in url:
        url = url.split("#", 1)[0]
    if u.username is None and u.password is None:
        return url
    head = len(u.scheme) + 3
    at = url.index("@", head)
    masked = "****:****" if u.password is not None else "****"
    return url[:head] + masked + url[at:]


_cache: dict[str, Target] = {}


def parse_url(url: str) -> Target:
    """The parsed :class:`Target` of ``url`` (cached; raises :class:`InvalidURL`)."""
    t = _cache.get(url)
    if t is None:
        t = Target(url)
        if len(_cache) >= 10000:
            _cache.clear()
        _cache[url] = t
    return t


def add_params(url: str, params) -> str:
    """``url`` with ``params`` (a dict or pairs) appended to its query string."""
    if not params:
        return url
    q = urlencode(params, doseq=True)
    base, frag = (url.split("#", 1) + [""])[:2] if "#" in url else (url, "")
    sep = "&" if "?" in base else "?"
    if base.endswith("?") or base.endswith("&"):
        sep = ""
    return base + sep + q + ("#" + frag if frag else "")


def resolve(base: str, location: str) -> str:
    """The absolute URL of a redirect ``location`` seen at ``base``."""
    return urljoin(base, location)


_DUR = re.compile(r"(\d+(?:\.\d+)?)(ms|us|µs|s|m|h)")
_timeouts: dict[object, float] = {}


def parse_timeout(value) -> float:
    """Seconds from a number of seconds or a duration string (``"500ms"``, ``"10s"``, ``"1m30s"``)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if value <= 0:
            raise ValueError(f"timeout must be positive, got {value!r}")
        return float(value)
    cached = _timeouts.get(value)
    if cached is not None:
        return cached
    if not isinstance(value, str):
        raise TypeError(f"timeout must be seconds or a duration string, got {value!r}")
    s = value.strip()
    total = 0.0
    pos = 0
    for m in _DUR.finditer(s):
        if m.start() != pos:
            break
        n, unit = float(m.group(1)), m.group(2)
        total += n * {"ms": 1e-3, "us": 1e-6, "µs": 1e-6, "s": 1.0, "m": 60.0, "h": 3600.0}[unit]
        pos = m.end()
    if pos != len(s) or not s:
        try:
            total = float(s) if s else 0.0  # a bare number is seconds, as a Python number
        except ValueError:
            raise ValueError(f"invalid timeout {value!r}; use seconds or a duration like '10s'") from None
    if total <= 0:
        raise ValueError(f"timeout must be positive, got {value!r}")
    _timeouts[value] = total
    return total
