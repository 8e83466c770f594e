"""k6's ``tlsCipherSuites``: Go's cipher suite names as the OpenSSL cipher string of a client context.

k6 v1.1.0 accepts the names of ``lib.SupportedTLSCipherSuites`` (Go's
crypto/tls constants) and Go applies the list to TLS 1.0–1.2 only: TLS 1.3
suites are not configurable there, so the three TLS 1.3 names are accepted and
change nothing. ``SSLContext.set_ciphers`` has the same reach (TLS <= 1.2),
so TLS 1.3 keeps OpenSSL's defaults, as it keeps Go's in k6.
"""

from __future__ import annotations

import ssl
from typing import Any

from ..errors import ExitCode, UserError

__all__ = ["GO_TO_OPENSSL", "TLS13_SUITES", "openssl_cipher_string"]

GO_TO_OPENSSL: dict[str, str] = {
    "TLS_RSA_WITH_RC4_128_SHA": "RC4-SHA",
    "TLS_RSA_WITH_3DES_EDE_CBC_SHA": "DES-CBC3-SHA",
    "TLS_RSA_WITH_AES_128_CBC_SHA": "AES128-SHA",
    "TLS_RSA_WITH_AES_256_CBC_SHA": "AES256-SHA",
    "TLS_RSA_WITH_AES_128_CBC_SHA256": "AES128-SHA256",
    "TLS_RSA_WITH_AES_128_GCM_SHA256": "AES128-GCM-SHA256",
    "TLS_RSA_WITH_AES_256_GCM_SHA384": "AES256-GCM-SHA384",
    "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA": "ECDHE-ECDSA-RC4-SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA": "ECDHE-ECDSA-AES128-SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA": "ECDHE-ECDSA-AES256-SHA",
    "TLS_ECDHE_RSA_WITH_RC4_128_SHA": "ECDHE-RSA-RC4-SHA",
    "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA": "ECDHE-RSA-DES-CBC3-SHA",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA": "ECDHE-RSA-AES128-SHA",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA": "ECDHE-RSA-AES256-SHA",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256": "ECDHE-RSA-AES128-GCM-SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256": "ECDHE-ECDSA-AES128-GCM-SHA256",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384": "ECDHE-RSA-AES256-GCM-SHA384",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384": "ECDHE-ECDSA-AES256-GCM-SHA384",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256": "ECDHE-ECDSA-AES128-SHA256",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305": "ECDHE-RSA-CHACHA20-POLY1305",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305": "ECDHE-ECDSA-CHACHA20-POLY1305",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256": "ECDHE-RSA-AES128-SHA256",
}
"""k6's TLS 1.0–1.2 suite names (Go's) and their OpenSSL names."""

TLS13_SUITES = frozenset({"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"})
"""k6's TLS 1.3 suite names: accepted, and (as in Go) without effect."""


def _invalid(msg: str) -> UserError:
    return UserError(msg, ExitCode.INVALID_CONFIG)


def _available(name: str) -> bool:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    try:
        ctx.set_ciphers(name)
    except ssl.SSLError:
        return False
    return True


def openssl_cipher_string(value: Any) -> str | None:
    """The OpenSSL cipher string for k6's ``tlsCipherSuites`` list, or None when unset.

    An unknown name is k6's error (``unknown cipher suite 'X'``, exit 104); a
    name this Python's OpenSSL cannot offer (RC4, 3DES at its security level)
    is exit 104 too, naming it, rather than a suite silently left out.
    """
    if value is None:
        return None
    if isinstance(value, str):
        value = [s.strip() for s in value.split(",") if s.strip()]
    if not isinstance(value, list | tuple):
        raise _invalid(f"options.tlsCipherSuites must be a list of cipher suite names, not {value!r}")
    names: list[str] = []
    for name in value:
        text = str(name)
        if text in TLS13_SUITES:
            continue
        openssl = GO_TO_OPENSSL.get(text)
        if openssl is None:
            raise _invalid(f"unknown cipher suite '{text}'")
        if not _available(openssl):
            raise _invalid(f"cipher suite '{text}' ({openssl}) is not available in this Python's OpenSSL")
        names.append(openssl)
    return ":".join(names) or None
