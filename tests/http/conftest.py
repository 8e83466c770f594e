import asyncio
import importlib.util

import pytest

from horde import http
from horde.engine.vu import VUState, current_vu
from horde.metrics import DEFAULT_SYSTEM_TAGS, BuiltinMetrics, MetricRegistry, TagSet
from horde.testing.fixtures import target, tls_target  # noqa: F401

HAVE_UVLOOP = importlib.util.find_spec("uvloop") is not None


class VU:
    """A VUState whose emitted containers land in ``.samples``."""

    def __init__(self, system_tags=DEFAULT_SYSTEM_TAGS, tags=None, options=None):
        self.samples = []
        self.builtin = BuiltinMetrics(MetricRegistry())
        self.state = VUState(1, builtin=self.builtin, emit=self.samples.append, system_tags=system_tags,
                             base_tags=TagSet.of(tags or {}), options=options)
        self.state.iteration = 0


@pytest.fixture(params=["asyncio", "uvloop"])
def loop_kind(request):
    if request.param == "uvloop" and not HAVE_UVLOOP:
        pytest.skip("uvloop not installed")
    return request.param


@pytest.fixture
def run(loop_kind):
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
