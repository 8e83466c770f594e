"""k6's HTTP error codes and the mapping from Python exceptions to them.

Codes and ranges are k6's (``lib/netext/httpext/error_codes.go``): 1000
generic, 1020 invalid URL, 1050 request timeout, 11xx DNS, 12xx TCP, 13xx TLS,
1400-1599 = 1000 + HTTP status, 1701 response decompression.
"""

from __future__ import annotations

import errno
import os
import socket
import ssl
import sys

__all__ = [
    "DEFAULT",
    "INVALID_URL",
    "REQUEST_TIMEOUT",
    "DNS",
    "DNS_NO_SUCH_HOST",
    "TCP",
    "TCP_BROKEN_PIPE",
    "TCP_UNKNOWN_ERRNO",
    "TCP_DIAL",
    "TCP_DIAL_TIMEOUT",
    "TCP_DIAL_REFUSED",
    "TCP_DIAL_UNKNOWN",
    "TCP_RESET_BY_PEER",
    "TLS",
    "TLS_UNKNOWN_AUTHORITY",
    "TLS_HOSTNAME",
    "DECOMPRESSION",
    "TransportError",
    "RequestTimeout",
    "InvalidURL",
    "HTTPRequestError",
    "classify_dial_error",
    "classify_io_error",
]

DEFAULT = 1000
NET_NON_TCP = 1010
INVALID_URL = 1020
REQUEST_TIMEOUT = 1050
DNS = 1100
DNS_NO_SUCH_HOST = 1101
TCP = 1200
TCP_BROKEN_PIPE = 1201
TCP_UNKNOWN_ERRNO = 1202
TCP_DIAL = 1210
TCP_DIAL_TIMEOUT = 1211
TCP_DIAL_REFUSED = 1212
TCP_DIAL_UNKNOWN = 1213
TCP_RESET_BY_PEER = 1220
TLS = 1300
TLS_UNKNOWN_AUTHORITY = 1310
TLS_HOSTNAME = 1311
HTTP2 = 1600
DECOMPRESSION = 1701


class TransportError(Exception):
    """A request that got no (complete) response: ``message`` and k6 ``code``.

    ``timings`` holds what was measured before the failure (ms: blocked,
    connecting, tls_handshaking, sending, waiting, receiving);
    ``bytes_sent``/``bytes_received`` what crossed the wire.
    """

    def __init__(
        self, message: str, code: int, *, timings: tuple | None = None, bytes_sent: int = 0, bytes_received: int = 0
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.timings = timings or (0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
        self.bytes_sent = bytes_sent
        self.bytes_received = bytes_received


class RequestTimeout(TransportError):
    """The request did not complete within its timeout (code 1050)."""

    def __init__(self, **kw) -> None:
        super().__init__(MSG_REQUEST_TIMEOUT, REQUEST_TIMEOUT, **kw)


class InvalidURL(TransportError, ValueError):
    """A URL horde cannot request (code 1020); raised to the script for the URL it passed."""

    def __init__(self, url: str, why: str) -> None:
        super().__init__(f"{MSG_INVALID_URL} {url!r}: {why}", INVALID_URL)
        self.url = url


class HTTPRequestError(Exception):
    """Raised by a request that failed when the ``throw`` option is on (k6's ``throw``)."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def _strerror(e: OSError) -> str:
    if e.errno is not None:
        try:
            return os.strerror(e.errno).lower()
        except ValueError:
            pass
    return str(e)


# k6's messages (error_codes.go): short and low-cardinality, since they become the ``error`` tag.
MSG_REQUEST_TIMEOUT = "request timeout"
MSG_DIAL_TIMEOUT = "dial: i/o timeout"
MSG_DIAL_REFUSED = "dial: connection refused"
MSG_NO_SUCH_HOST = "lookup: no such host"
MSG_X509_UNKNOWN_AUTHORITY = "x509: unknown authority"
MSG_X509_HOSTNAME = "x509: certificate doesn't match the hostname"
MSG_INVALID_URL = "invalid URL"


def classify_dial_error(e: BaseException, addr: str = "") -> tuple[str, int]:
    """(message, code) for an error while resolving, connecting or TLS-handshaking."""
    if isinstance(e, ssl.SSLError):
        return classify_tls_error(e)
    if isinstance(e, socket.gaierror):
        if e.errno in (socket.EAI_NONAME, getattr(socket, "EAI_NODATA", -5)):
            return MSG_NO_SUCH_HOST, DNS_NO_SUCH_HOST
        return f"lookup: {e.strerror or e}", DNS
    if isinstance(e, ConnectionRefusedError):
        return MSG_DIAL_REFUSED, TCP_DIAL_REFUSED
    if isinstance(e, ConnectionResetError):  # e.g. during the TLS handshake
        return "read: connection reset by peer", TCP_RESET_BY_PEER
    if isinstance(e, (TimeoutError, socket.timeout)) or getattr(e, "errno", None) == errno.ETIMEDOUT:
        return MSG_DIAL_TIMEOUT, TCP_DIAL_TIMEOUT
    if isinstance(e, OSError) and e.errno is not None:
        return f"dial: unknown errno `{e.errno}` on {sys.platform} with message `{_strerror(e)}`", TCP_DIAL_UNKNOWN
    return f"dial: {e}", TCP_DIAL


_ALERTS = {
    "HANDSHAKE_FAILURE": "handshake failure",
    "PROTOCOL_VERSION": "protocol version not supported",
    "BAD_CERTIFICATE": "bad certificate",
    "UNSUPPORTED_CERTIFICATE": "unsupported certificate",
    "CERTIFICATE_EXPIRED": "expired certificate",
    "CERTIFICATE_REVOKED": "revoked certificate",
    "CERTIFICATE_UNKNOWN": "unknown certificate",
    "CERTIFICATE_REQUIRED": "certificate required",
    "UNKNOWN_CA": "unknown certificate authority",
    "ACCESS_DENIED": "access denied",
    "DECODE_ERROR": "error decoding message",
    "DECRYPT_ERROR": "error decrypting message",
    "ILLEGAL_PARAMETER": "illegal parameter",
    "INSUFFICIENT_SECURITY": "insufficient security level",
    "INTERNAL_ERROR": "internal error",
    "UNRECOGNIZED_NAME": "unrecognized name",
    "NO_APPLICATION_PROTOCOL": "no application protocol",
}
"""OpenSSL's names of a TLS alert the server sent (after ``..._ALERT_``) and Go's text of it."""


def _remote_alert(reason: str) -> str | None:
    """Go's text of the alert in OpenSSL's ``reason`` (``SSLV3_ALERT_HANDSHAKE_FAILURE``), or None."""
    head, sep, alert = reason.partition("_ALERT_")
    if not sep or not head.startswith(("SSLV3", "TLSV1")):
        return None
    return _ALERTS.get(alert, alert.lower().replace("_", " "))


def classify_tls_error(e: BaseException) -> tuple[str, int]:
    """(message, code) for a TLS failure; an alert the server sent is Go's ``remote error`` (1010), as in k6."""
    if isinstance(e, ssl.SSLCertVerificationError):
        vc = getattr(e, "verify_code", None)
        if vc in (62, 64):  # X509_V_ERR_HOSTNAME_MISMATCH, X509_V_ERR_IP_ADDRESS_MISMATCH
            return MSG_X509_HOSTNAME, TLS_HOSTNAME
        if vc in (2, 18, 19, 20, 21):  # issuer unknown / self-signed
            return MSG_X509_UNKNOWN_AUTHORITY, TLS_UNKNOWN_AUTHORITY
        return f"tls: {getattr(e, 'verify_message', None) or e}", TLS
    reason = getattr(e, "reason", None) or str(e)
    alert = _remote_alert(str(reason))
    if alert is not None:  # Go: net.OpError{Op: "remote error"} without a network, so k6's 1010
        return f"remote error: tls: {alert}", NET_NON_TCP
    return f"tls: {str(reason).lower().replace('_', ' ')}", TLS


def classify_io_error(e: BaseException | None, op: str = "read") -> tuple[str, int]:
    """(message, code) for a connection that failed while a request was in flight."""
    if e is None:
        return "EOF", DEFAULT
    if isinstance(e, ConnectionResetError):
        return f"{op}: connection reset by peer", TCP_RESET_BY_PEER
    if isinstance(e, BrokenPipeError):
        return "write: broken pipe", TCP_BROKEN_PIPE
    if isinstance(e, ssl.SSLError):
        return classify_tls_error(e)
    if isinstance(e, OSError) and e.errno is not None:
        return f"{op}: unknown errno `{e.errno}` on {sys.platform} with message `{_strerror(e)}`", TCP_UNKNOWN_ERRNO
    return str(e) or type(e).__name__, DEFAULT
