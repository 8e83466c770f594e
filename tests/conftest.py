"""Shared fixtures of the core tests.

Throwaway output distributions are real: :mod:`distbuild` writes their
``*.dist-info`` (for an in-process temporary ``sys.path``) or a wheel that pip
installs into a fresh virtualenv (see ``test_distributions.py``).
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

import pytest
from horde.testing.fixtures import chromium_bin, k6_bin  # noqa: F401

sys.path.insert(0, str(Path(__file__).parent))

from distbuild import Dist, write_dist_info  # noqa: E402


@pytest.fixture
def plugin_path(tmp_path, monkeypatch):
    """``add(*dists)``: install ``dists`` (dist-info + modules) in a new directory put first on ``sys.path``.

    Modules imported from there are dropped from ``sys.modules`` afterwards.
    """
    count = 0

    def add(*dists: Dist) -> Path:
        nonlocal count
        count += 1
        site = tmp_path / f"site{count}"
        site.mkdir()
        for dist in dists:
            write_dist_info(site, dist)
        monkeypatch.syspath_prepend(str(site))
        importlib.invalidate_caches()
        return site

    yield add
    root = str(tmp_path)
    for name, mod in list(sys.modules.items()):
        if (getattr(mod, "__file__", None) or "").startswith(root):
            del sys.modules[name]


@pytest.fixture
def horde_env(monkeypatch):
    """A clean environment for registry discovery: no HORDE_* variable from the caller."""
    for key in list(os.environ):
        if key.startswith("HORDE_"):
            monkeypatch.delenv(key)


@pytest.fixture
def site(tmp_path):
    """``site(*dists)``: a new directory holding installed ``dists``, for a subprocess's PYTHONPATH."""
    n = [0]

    def make(*dists):
        n[0] += 1
        d = tmp_path / f"pythonpath{n[0]}"
        d.mkdir()
        for dist in dists:
            write_dist_info(d, dist)
        return d

    return make


@pytest.fixture
def assert_no_leak():
    """``assert_no_leak(call, rounds)``: running ``call()`` ``rounds`` times leaves no Python object behind
    (a reference C code forgot to release)."""

    def check(call, rounds: int) -> None:
        call()  # warm up: caches, interned values
        before = sys.getallocatedblocks()
        for _ in range(rounds):
            call()
        assert sys.getallocatedblocks() - before < 100

    return check
