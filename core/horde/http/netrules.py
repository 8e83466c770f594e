"""k6's network options, parsed once per run: hosts, blockHostnames, blacklistIPs, dns, localIPs, tlsVersion,
tlsCipherSuites.

A transport asks :meth:`NetRules.resolve_name` before it resolves a host (a
blocked hostname fails with k6's code 1111; ``hosts`` maps a name to an
address) and :meth:`NetRules.check_ip` after (a blacklisted address fails
with code 1110). Both run on a DNS cache miss only, never per request.
"""

from __future__ import annotations

import ipaddress
import random
import socket
import ssl
from collections.abc import Mapping
from typing import Any

from ..durations import parse_duration
from ..errors import ExitCode, UserError
from .ciphers import openssl_cipher_string
from .errors import TransportError

__all__ = [
    "NetRules",
    "DnsConfig",
    "RateLimiter",
    "parse_tls_auth",
    "BLACKLISTED_IP",
    "BLOCKED_HOSTNAME",
    "rules_for",
    "parse_local_ips",
]

BLACKLISTED_IP = 1110
BLOCKED_HOSTNAME = 1111

_TLS_VERSIONS = {
    "ssl3.0": ssl.TLSVersion.SSLv3,
    "tls1.0": ssl.TLSVersion.TLSv1,
    "tls1.1": ssl.TLSVersion.TLSv1_1,
    "tls1.2": ssl.TLSVersion.TLSv1_2,
    "tls1.3": ssl.TLSVersion.TLSv1_3,
}


def _invalid(msg: str) -> UserError:
    return UserError(msg, ExitCode.INVALID_CONFIG)


class DnsConfig:
    """k6's ``dns`` option: ``ttl`` (seconds, inf or 0), ``select`` (first, random, roundRobin), ``policy``."""

    POLICIES = ("preferIPv4", "preferIPv6", "onlyIPv4", "onlyIPv6", "any")
    SELECTS = ("first", "random", "roundRobin")

    def __init__(self, ttl: float = 300.0, select: str = "random", policy: str = "preferIPv4") -> None:
        self.ttl = ttl
        self.select = select
        self.policy = policy
        self._rr = 0

    @classmethod
    def parse(cls, value: Any) -> DnsConfig:
        """From ``"ttl=1m,select=first,policy=any"`` or ``{"ttl": "1m", ...}``; unknown keys are exit 104."""
        if value is None or value == "":
            return cls()
        if isinstance(value, str):
            items: dict[str, Any] = {}
            for part in value.split(","):
                key, sep, val = part.strip().partition("=")
                if not sep:
                    raise _invalid(f"invalid dns option {part!r}: expected ttl=..., select=... or policy=...")
                items[key.strip()] = val.strip()
        elif isinstance(value, Mapping):
            items = dict(value)
        else:
            raise _invalid(f"invalid dns option {value!r}")
        cfg = cls()
        for key, val in items.items():
            if key == "ttl":
                text = str(val)
                if text == "inf":
                    cfg.ttl = float("inf")
                else:
                    try:  # k6: milliseconds when no unit is given
                        cfg.ttl = float(text) / 1000 if text.replace(".", "", 1).isdigit() else parse_duration(text)
                    except ValueError:
                        raise _invalid(f"invalid dns ttl {text!r}: use inf, 0 or a duration") from None
            elif key == "select":
                if val not in cls.SELECTS:
                    raise _invalid(f"invalid dns select {val!r}: use one of {', '.join(cls.SELECTS)}")
                cfg.select = str(val)
            elif key == "policy":
                if val not in cls.POLICIES:
                    raise _invalid(f"invalid dns policy {val!r}: use one of {', '.join(cls.POLICIES)}")
                cfg.policy = str(val)
            else:
                raise _invalid(f"unknown dns option {key!r}: use ttl, select or policy")
        return cfg

    def choose(self, infos: list[Any]) -> Any:
        """The address info to dial among ``getaddrinfo``'s answers, by ``policy`` then ``select``."""
        v4 = [i for i in infos if i[0] == socket.AF_INET]
        v6 = [i for i in infos if i[0] == socket.AF_INET6]
        if self.policy == "onlyIPv4":
            pool = v4
        elif self.policy == "onlyIPv6":
            pool = v6
        elif self.policy == "preferIPv4":
            pool = v4 or v6
        elif self.policy == "preferIPv6":
            pool = v6 or v4
        else:
            pool = infos
        if not pool:
            raise socket.gaierror(socket.EAI_NONAME, f"no {self.policy[-4:]} address")
        if self.select == "first":
            return pool[0]
        if self.select == "roundRobin":
            self._rr += 1
            return pool[self._rr % len(pool)]
        return random.choice(pool)


def _parse_nets(values: Any) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    nets = []
    for v in values or ():
        try:
            nets.append(ipaddress.ip_network(str(v).strip(), strict=False))
        except ValueError:
            raise _invalid(f"invalid blacklistIPs entry {v!r}: expected a CIDR such as 10.0.0.0/8") from None
    return nets


def _parse_patterns(values: Any) -> tuple[frozenset[str], tuple[str, ...]]:
    exact: set[str] = set()
    suffixes: list[str] = []
    for v in values or ():
        p = str(v).strip().lower()
        if not p:
            continue
        if p.startswith("*"):
            suffixes.append(p)
        elif "*" in p:
            raise _invalid(f"invalid blockHostnames pattern {v!r}: only a leading '*' wildcard is allowed")
        else:
            exact.add(p)
    return frozenset(exact), tuple(suffixes)


def parse_local_ips(value: Any) -> list[str]:
    """k6's ``localIPs``: ``"10.0.0.1,10.0.0.5-10.0.0.9,fd::/126"`` → every address, in order."""
    if not value:
        return []
    parts = value if isinstance(value, (list, tuple)) else str(value).split(",")
    out: list[str] = []
    for part in parts:
        p = str(part).strip()
        try:
            if "/" in p:
                out.extend(str(a) for a in ipaddress.ip_network(p, strict=False))
            elif "-" in p:
                lo, hi = (ipaddress.ip_address(x.strip()) for x in p.split("-", 1))
                if lo.version != hi.version or int(hi) < int(lo):
                    raise ValueError
                out.extend(str(ipaddress.ip_address(n)) for n in range(int(lo), int(hi) + 1))
            elif p:
                out.append(str(ipaddress.ip_address(p)))
        except ValueError:
            raise _invalid(f"invalid localIPs entry {p!r}: use IP, IP-IP or CIDR") from None
    return out


class NetRules:
    """The network options of a run, parsed once (see module doc)."""

    def __init__(self, options: Mapping[str, Any]) -> None:
        hosts = options.get("hosts") or {}
        if not isinstance(hosts, Mapping):
            raise _invalid("options.hosts must be an object of name: address")
        self.hosts: dict[str, tuple[str, int | None]] = {}
        for name, addr in hosts.items():
            text = str(addr)
            host, port = text, None
            if text.count(":") == 1:
                host, _, p = text.partition(":")
                port = int(p)
            elif text.startswith("[") and "]:" in text:
                host, _, p = text[1:].partition("]:")
                port = int(p)
            self.hosts[str(name).lower()] = (host, port)
        self.blocked_exact, self.blocked_suffixes = _parse_patterns(options.get("blockHostnames"))
        self.blacklist = _parse_nets(options.get("blacklistIPs"))
        self.dns = DnsConfig.parse(options.get("dns"))
        self.local_ips = parse_local_ips(options.get("localIPs"))
        self.tls_min, self.tls_max = _tls_range(options.get("tlsVersion"))
        self.tls_auth = parse_tls_auth(options.get("tlsAuth"))
        self.ciphers = openssl_cipher_string(options.get("tlsCipherSuites"))
        """The OpenSSL cipher string of ``tlsCipherSuites`` (TLS <= 1.2 only, as Go), or None."""
        rps = options.get("rps")
        self.rps = RateLimiter(float(rps)) if rps and float(rps) > 0 else None
        self.active = bool(self.hosts or self.blocked_exact or self.blocked_suffixes or self.blacklist)

    def resolve_name(self, host: str, port: int) -> tuple[str, int]:
        """The host and port to resolve for ``host:port``; raises a blocked hostname (1111)."""
        lower = host.lower()
        if lower in self.blocked_exact:
            raise TransportError(f"hostname ({host}) is in a blocked pattern ({lower})", BLOCKED_HOSTNAME)
        for pattern in self.blocked_suffixes:
            if lower.endswith(pattern[1:]) or lower == pattern[2:]:
                raise TransportError(f"hostname ({host}) is in a blocked pattern ({pattern})", BLOCKED_HOSTNAME)
        mapped = self.hosts.get(lower)
        if mapped is not None:
            return mapped[0], mapped[1] if mapped[1] is not None else port
        return host, port

    def check_ip(self, ip: str) -> None:
        """Raise a blacklisted IP (1110) when ``ip`` is in a ``blacklistIPs`` range."""
        if not self.blacklist:
            return
        addr = ipaddress.ip_address(ip.split("%", 1)[0])
        for net in self.blacklist:
            if addr in net:
                raise TransportError(f"IP ({ip}) is in a blacklisted range ({net})", BLACKLISTED_IP)

    def cert_chain(self, host: str) -> tuple[str, str, str | None] | None:
        """The client certificate files ``tlsAuth`` gives ``host`` (a domain, or ``*.domain``), or None."""
        lower = host.lower()
        for domains, chain in self.tls_auth:
            if not domains:
                return chain
            for d in domains:
                if lower == d or (d.startswith("*.") and lower.endswith(d[1:])):
                    return chain
        return None

    def local_ip(self, vu_id: int) -> str | None:
        """The source address of VU ``vu_id`` (round-robin over ``localIPs``), or None."""
        if not self.local_ips:
            return None
        return self.local_ips[(max(vu_id, 1) - 1) % len(self.local_ips)]


def _tls_range(value: Any) -> tuple[ssl.TLSVersion | None, ssl.TLSVersion | None]:
    if not value:
        return None, None

    def one(v: Any) -> ssl.TLSVersion:
        try:
            return _TLS_VERSIONS[str(v).lower()]
        except KeyError:
            raise _invalid(f"invalid tlsVersion {v!r}: use one of {', '.join(_TLS_VERSIONS)}") from None

    if isinstance(value, Mapping):
        lo = one(value["min"]) if value.get("min") else None
        hi = one(value["max"]) if value.get("max") else None
        return lo, hi
    v = one(value)
    return v, v


_cache: dict[int, tuple[Mapping[str, Any], NetRules]] = {}


def rules_for(options: Mapping[str, Any]) -> NetRules:
    """The :class:`NetRules` of a run's options, parsed once per options object."""
    hit = _cache.get(id(options))
    if hit is not None and hit[0] is options:
        return hit[1]
    rules = NetRules(options)
    _cache.clear()
    _cache[id(options)] = (options, rules)
    return rules


class RateLimiter:
    """k6's ``rps``: requests of the whole process start at most ``rate`` per second (burst 1)."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate
        self._next = 0.0

    async def wait(self) -> None:
        """Return when the next request may start."""
        import asyncio

        loop = asyncio.get_running_loop()
        now = loop.time()
        start = self._next if self._next > now else now
        self._next = start + self.interval
        if start > now:
            await asyncio.sleep(start - now)


def _write_pem(text: str) -> str:
    import atexit
    import os
    import tempfile

    fd, path = tempfile.mkstemp(prefix="horde-tlsauth-", suffix=".pem")
    with os.fdopen(fd, "w") as f:
        f.write(text)

    def remove() -> None:
        if os.path.exists(path):
            os.unlink(path)

    atexit.register(remove)
    return path


def parse_tls_auth(value: Any) -> list[tuple[tuple[str, ...], tuple[str, str, str | None]]]:
    """k6's ``tlsAuth``: ``[{"domains": [...], "cert": PEM, "key": PEM, "password"?}]`` → (domains, files)."""
    if not value:
        return []
    if not isinstance(value, list):
        raise _invalid("options.tlsAuth must be a list of {domains, cert, key}")
    out = []
    for entry in value:
        if not isinstance(entry, Mapping) or not entry.get("cert") or not entry.get("key"):
            raise _invalid("each tlsAuth entry needs cert and key (PEM text)")
        domains = tuple(str(d).lower() for d in entry.get("domains") or ())
        chain = (_write_pem(str(entry["cert"])), _write_pem(str(entry["key"])), entry.get("password"))
        try:
            ssl.create_default_context().load_cert_chain(*chain)
        except (ssl.SSLError, OSError) as exc:
            raise _invalid(f"tlsAuth for {', '.join(domains) or 'every domain'}: {exc}") from None
        out.append((domains, chain))
    return out
