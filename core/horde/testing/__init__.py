"""Test helpers for horde and its plugins: a target server and certificates.

The pytest fixtures live in :mod:`horde.testing.fixtures`; load them from a
``conftest.py`` with ``from horde.testing.fixtures import target, tls_target``
(or ``pytest_plugins = ["horde.testing.fixtures"]`` in a root conftest).
"""

from .certs import make_self_signed_cert
from ..target import TargetServer, start_target

__all__ = ["TargetServer", "make_self_signed_cert", "start_target"]
