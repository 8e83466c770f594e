"""Fixtures: real influxd / VictoriaMetrics servers, real sample containers, outputs built from Params."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from horde.metrics import BuiltinMetrics, ConnectedSamples, MetricRegistry, MetricType, Sample, TagSet  # noqa: E402
from horde.output import Params  # noqa: E402
from horde_out_influx import InfluxDBOutput  # noqa: E402
from servers import InfluxD, VictoriaMetrics  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def influxd_factory(tmp_path: Path) -> Iterator:
    """``make(max_body_size=..., auth=(user, pw))`` → a started :class:`InfluxD`; all are stopped at the end."""
    servers: list[InfluxD] = []

    def make(**kw) -> InfluxD:
        server = InfluxD(tmp_path / f"influxd{len(servers)}", **kw)
        servers.append(server)
        return server.start()

    yield make
    for s in servers:
        s.stop()


@pytest.fixture
def influxd(influxd_factory) -> InfluxD:
    return influxd_factory()


@pytest.fixture
def victoria(tmp_path: Path) -> Iterator[VictoriaMetrics]:
    with VictoriaMetrics(tmp_path / "vm") as server:
        yield server


class Emitter:
    """Builds the containers a horde run emits: one ConnectedSamples of 9 metrics per HTTP request."""

    def __init__(self, step_ns: int = 1000) -> None:
        self.step_ns = step_ns
        self.registry = MetricRegistry()
        self.builtin = BuiltinMetrics(self.registry)
        self.checks = self.builtin.checks
        self.custom = self.registry.get_or_new("my_counter", MetricType.COUNTER)
        self.base = TagSet.of({"scenario": "default", "testid": "t1"})
        self.emitted = 0
        self.requests = 0
        self._t = time.time_ns()

    def _now(self) -> int:
        self._t += self.step_ns  # distinct timestamps: points of one series never overwrite each other
        return self._t

    def request(self, status: int = 200, page: str = "home") -> list:
        url = f"http://127.0.0.1:8080/{page}"
        tags = self.base.with_tags(
            {
                "expected_response": "true" if status < 400 else "false",
                "group": "",
                "method": "GET",
                "name": url,
                "proto": "HTTP/1.1",
                "status": str(status),
                "url": url,
                "page": page,
            }
        )
        values = (1.0, 0.232383, 0.24424, 0.180517, 0.0, 0.046359, 0.138984, 0.04704, 0.0 if status < 400 else 1.0)
        t = self._now()
        out = [
            ConnectedSamples(self.builtin.http_request, values, t, tags, {"vu": "1", "iter": "0"}),
            Sample(self.checks, self._now(), 1.0, self.base.with_tag("check", "status is 200")),
        ]
        self.emitted += 10
        self.requests += 1
        return out

    def counter(self, value: float) -> Sample:
        self.emitted += 1
        return Sample(self.custom, self._now(), value, self.base.with_tag("kind", "a"))


@pytest.fixture
def emitter() -> Emitter:
    return Emitter()


def new_output(argument: str = "", env: dict | None = None, json_config: dict | None = None) -> InfluxDBOutput:
    """An output made the way the engine makes it: ``factory(Params(...))``."""
    params = Params(
        output_type="influxdb",
        config_argument=argument,
        json_config=json_config,
        environment=env or {},
        logger=logging.getLogger("horde.output.influxdb"),
    )
    return InfluxDBOutput(params)


@pytest.fixture
def make_output(tmp_path: Path) -> Iterator:
    """Like :func:`new_output`, with the spool in the test's temp dir; outputs left running are stopped."""
    made: list[InfluxDBOutput] = []

    def make(argument: str = "", env: dict | None = None, json_config: dict | None = None) -> InfluxDBOutput:
        env = dict(env or {})
        env.setdefault("HORDE_INFLUXDB_SPOOL_DIR", str(tmp_path / "spool"))
        out = new_output(argument, env, json_config)
        made.append(out)
        return out

    yield make
    for out in made:
        if out._flusher is not None and out._flusher.running:
            out.stop(None)
