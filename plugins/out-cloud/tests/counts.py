"""Count what a run produced, from horde's JSON output and from the Insights API, to compare them."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path


def json_counts(path: Path) -> dict[str, float]:
    """Per metric: number of points (trends, rates, gauges), sum of values (counters), and checks passes."""
    counts: Counter = Counter()
    types = {}
    for line in path.read_text().splitlines():
        rec = json.loads(line)
        if rec["type"] == "Metric":
            types[rec["metric"]] = rec["data"]["type"]
            continue
        name, value = rec["metric"], rec["data"]["value"]
        if types[name] == "counter":
            counts[name] += value
        else:
            counts[name] += 1
        if types[name] == "rate" and value:
            counts[name + ".passes"] += 1
    return dict(counts)


def service_counts(detail: dict) -> dict[str, float]:
    out = {}
    for m in detail["metrics"]:
        if m["type"] == "counter":
            out[m["metric"]] = m["count"]
        elif m["type"] == "rate":
            out[m["metric"]] = m["total"]
            if m["passes"]:
                out[m["metric"] + ".passes"] = m["passes"]
        elif m["type"] == "trend":
            out[m["metric"]] = m["count"]
    return out


def assert_same_counts(json_path: Path, detail: dict) -> None:
    want = {k: v for k, v in json_counts(json_path).items() if not k.startswith("vus")}
    got = {k: v for k, v in service_counts(detail).items() if k in want}
    assert got == want
    assert want.get("http_reqs", 0) > 0
