import asyncio
import importlib.util
import os
import sys

import pytest
from horde import http
from horde.http import h1
from horde.testing.fixtures import target, tls_target  # noqa: F401
from horde.vustate import current_vu
from httpvu import VU

HAVE_UVLOOP = importlib.util.find_spec("uvloop") is not None


@pytest.fixture(params=["asyncio", "uvloop"])
def loop_kind(request):
    if request.param == "uvloop" and not HAVE_UVLOOP:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("uvloop is required in CI (pip install horde[test])")
        pytest.skip("uvloop not installed")
    return request.param


@pytest.fixture(params=["c", "python"])
def accelerators(request, monkeypatch):
    """Each HTTP test twice: with the C accelerators (the scanner reads what it can, an exchange on a
    pooled connection runs in C, Client.fast's bookkeeping of the common response is one C call) and
    with Python alone (httptools, the Python exchange and bookkeeping)."""
    client_module = sys.modules["horde.http.client"]  # horde.http.client is also the name of a function
    if request.param == "python":
        monkeypatch.setattr(h1, "scan_response", None)
        monkeypatch.setattr(h1, "_conn_class", h1._Conn)
        monkeypatch.setattr(h1, "_begin", None)
        monkeypatch.setattr(h1, "_end", h1._end_exchange)
        monkeypatch.setattr(client_module, "_finish", None)
    elif h1.scan_response is None or h1._begin is None or client_module._finish is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(
                "horde.http._scan, _exchange or _fast is not built (a C compiler and Python's headers are needed)"
            )
        pytest.skip("horde.http._scan, _exchange or _fast is not built")
    return request.param


@pytest.fixture
def run(loop_kind, accelerators):
    """run(vu, async_fn) runs async_fn() as code of VU ``vu`` on a fresh event loop."""

    def runner(vu, fn):
        async def main():
            current_vu.set(vu.state)
            try:
                return await fn()
            finally:
                http.close(vu.state)

        if loop_kind == "uvloop":
            import uvloop

            return uvloop.run(main())
        return asyncio.run(main())

    return runner


@pytest.fixture
def vu():
    return VU()
