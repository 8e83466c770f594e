"""pytest fixtures: a running target server, plain and over TLS.

Load them from a ``conftest.py``::

    from horde.testing.fixtures import target, tls_target  # noqa: F401

``target`` and ``tls_target`` are session-scoped :class:`horde.testing.target.TargetServer`
objects; ``tls_target.cert_file`` is its self-signed certificate (trust it as a CA).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from .certs import CertToolMissing, make_self_signed_cert
from .target import TargetServer, start_target

__all__ = ["target", "tls_target"]


@pytest.fixture(scope="session")
def target() -> Iterator[TargetServer]:
    """A running HTTP target server on 127.0.0.1 (free port)."""
    server = start_target()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def tls_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TargetServer]:
    """A running HTTPS target server with a fresh self-signed certificate."""
    directory = tmp_path_factory.mktemp("horde-tls")
    try:
        cert, key = make_self_signed_cert(str(directory))
    except CertToolMissing as e:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(str(e))
        pytest.skip(str(e))
    server = start_target(tls_cert=cert, tls_key=key)
    try:
        yield server
    finally:
        server.stop()
