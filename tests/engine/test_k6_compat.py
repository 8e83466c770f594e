"""The json output of a horde run has k6's metric names, types and tag keys (real k6 fixture)."""

from __future__ import annotations

import json
from pathlib import Path

FIXTURE = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "k6" / "sample.json"


def _records(path: Path) -> list[dict]:
    return [json.loads(l) for l in path.read_text().splitlines() if l.strip()]


def test_same_metrics_types_and_tag_keys_as_k6(script, run_script, tmp_path):
    assert FIXTURE.exists(), FIXTURE
    k6 = _records(FIXTURE)
    path = script("""
        from horde import http, check, group, env
        options = {"iterations": 3, "tags": {"testid": "sample-run"}}
        async def default(data):
            with group("front"):
                res = await http.get(env["TARGET"] + "/", tags={"page": "home"})
                check(res, {"status is 200": lambda r: r.status == 200})
    """)
    out = tmp_path / "o.json"
    assert run_script(path, outs=[f"json={out}"]).code == 0
    ours = _records(out)
    k6_meta = {r["metric"]: r["data"] for r in k6 if r["type"] == "Metric"}
    our_meta = {r["metric"]: r["data"] for r in ours if r["type"] == "Metric"}
    for name, data in k6_meta.items():
        if name in our_meta:
            assert (our_meta[name]["type"], our_meta[name]["contains"]) == (data["type"], data["contains"]), name
    http_k6 = [n for n in k6_meta if n.startswith("http_req")]
    assert set(http_k6) <= set(our_meta)

    def tag_keys(records, metric):
        return {frozenset(r["data"]["tags"]) for r in records if r["type"] == "Point" and r["metric"] == metric}

    for metric in ("http_req_duration", "http_reqs", "checks"):
        k6_keys = tag_keys(k6, metric)
        if k6_keys:
            ours_keys = tag_keys(ours, metric)
            assert ours_keys and ours_keys <= k6_keys, (metric, ours_keys, k6_keys)
    # field order of Point lines is k6's
    line = next(l for l in out.read_text().splitlines() if '"type":"Point"' in l)
    assert line.startswith('{"metric":"') and '"type":"Point","data":{"time":"' in line
