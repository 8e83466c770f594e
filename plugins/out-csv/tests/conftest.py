"""Shared helpers: real metrics, real containers, a CsvOutput run end to end in-process."""

from __future__ import annotations

import io
import json
import pathlib
from collections.abc import Iterable
from typing import Any

import pytest
from horde.metrics import BuiltinMetrics, ConnectedSamples, MetricRegistry, MetricType, Sample, TagSet, ValueType
from horde.output import Params
from horde_out_csv import CsvOutput

FIXTURES = pathlib.Path(__file__).parent / "fixtures"

K6_DEFAULT_HEADER = (
    "metric_name,timestamp,metric_value,check,error,error_code,expected_response,group,method,name,proto,"
    "scenario,service,status,subproto,tls_version,url,extra_tags,metadata"
)
"""The header k6 v1.1.0 writes with the default system tags (fixtures/k6_sample.csv)."""

T0 = 1_795_303_223_537_028_460
"""2026-11-21T23:20:23.53702846Z in nanoseconds (the fixture run's first sample)."""


@pytest.fixture
def builtin() -> BuiltinMetrics:
    return BuiltinMetrics(MetricRegistry())


def make_params(
    arg: str = "",
    *,
    env: dict | None = None,
    json_config: Any = None,
    system_tags: Any = None,
    stdout: io.StringIO | None = None,
) -> Params:
    options = {} if system_tags is None else {"systemTags": system_tags}
    kw = {"stdout": stdout} if stdout is not None else {}
    return Params(
        "csv", config_argument=arg, json_config=json_config, environment=env or {}, script_options=options, **kw
    )


def run_output(params: Params, batches: Iterable[list]) -> CsvOutput:
    """Construct, start, feed every batch, stop: what the Manager does with one output."""
    out = CsvOutput(params)
    out.start()
    for batch in batches:
        out.add_samples(batch)
    out.stop(None)
    return out


def request_container(
    builtin: BuiltinMetrics,
    time: int,
    tags: dict,
    metadata: dict | None = None,
    values: tuple = (1.0, 0.192801, 0.189628, 0.132798, 0.0, 0.06595, 0.089698, 0.037153, 0.0),
):
    """One HTTP request: k6's 9 samples sharing time, tags and metadata."""
    return ConnectedSamples(builtin.http_request, values, time, TagSet.of(tags), metadata)


def fixture_containers() -> list:
    """The containers of the real k6 run, rebuilt from its JSON output (consecutive points with the
    same time, tags and metadata form one container, as k6 sent them)."""
    from datetime import datetime

    registry = MetricRegistry()
    types = {
        "counter": MetricType.COUNTER,
        "gauge": MetricType.GAUGE,
        "trend": MetricType.TREND,
        "rate": MetricType.RATE,
    }
    contains = {"default": ValueType.DEFAULT, "time": ValueType.TIME, "data": ValueType.DATA}
    containers: list = []
    last_key = None
    for line in (FIXTURES / "k6_sample.json").read_text().splitlines():
        rec = json.loads(line)
        if rec["type"] == "Metric":
            d = rec["data"]
            registry.get_or_new(d["name"], types[d["type"]], contains[d["contains"]])
            continue
        d = rec["data"]
        stamp, frac = d["time"].rstrip("Z").split(".")
        secs = int(datetime.fromisoformat(stamp + "+00:00").timestamp())
        ns = secs * 1_000_000_000 + int(frac.ljust(9, "0"))
        tags, md = TagSet.of(d["tags"]), d.get("metadata")
        key = (ns, tags, json.dumps(md, sort_keys=True))
        metric = registry.get(rec["metric"])
        if key == last_key:
            c = containers[-1]
            c.metrics = c.metrics + (metric,)
            c.values = c.values + (float(d["value"]),)
        else:
            containers.append(ConnectedSamples((metric,), (float(d["value"]),), ns, tags, md))
        last_key = key
    return containers


def split_row(line: str) -> list[str]:
    """A CSV line as fields (Go quoting), with the ``k=v&k=v`` fields' pairs sorted
    (k6 writes them in Go's random map order)."""
    import csv

    fields = next(csv.reader([line]))
    for i in (-2, -1):
        fields[i] = "&".join(sorted(fields[i].split("&"))) if fields[i] else ""
    return fields


__all__ = [
    "FIXTURES",
    "K6_DEFAULT_HEADER",
    "T0",
    "make_params",
    "run_output",
    "request_container",
    "fixture_containers",
    "split_row",
    "Sample",
]
