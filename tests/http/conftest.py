import asyncio
import importlib.util
import os

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


@pytest.fixture(params=["scan", "httptools"])
def response_reader(request, monkeypatch):
    """Each HTTP test twice: responses read by the C scanner where it can, and by httptools alone."""
    if request.param == "httptools":
        monkeypatch.setattr(h1, "scan_response", None)
    elif h1.scan_response is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("horde.http._scan is not built (a C compiler and Python's headers are needed)")
        pytest.skip("horde.http._scan is not built")
    return request.param


@pytest.fixture
def run(loop_kind, response_reader):
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
