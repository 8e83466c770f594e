"""Every executor, run for real against the local target."""

from __future__ import annotations

import pytest
from conftest import count, read_points

HTTP_SCRIPT = """
from horde import http, env
options = {OPTIONS}
async def default(data):
    await http.get(env["TARGET"] + "/")
"""


def _run(script, run_script, tmp_path, options: dict, **kw):
    path = script(HTTP_SCRIPT.replace("{OPTIONS}", repr(options)))
    out = tmp_path / "out.json"
    res = run_script(path, outs=[f"json={out}"], **kw)
    return res, read_points(out)


def test_shared_iterations_runs_exactly_the_iterations(script, run_script, tmp_path):
    res, pts = _run(script, run_script, tmp_path, {"vus": 3, "iterations": 17})
    assert res.code == 0
    assert count(pts, "iterations") == 17
    assert count(pts, "http_reqs") == 17
    assert {p["data"]["tags"]["scenario"] for p in pts if p["metric"] == "http_reqs"} == {"default"}


def test_per_vu_iterations(script, run_script, tmp_path):
    res, pts = _run(
        script, run_script, tmp_path, {"scenarios": {"s": {"executor": "per-vu-iterations", "vus": 4, "iterations": 5}}}
    )
    assert res.code == 0
    assert count(pts, "iterations") == 20
    assert {p["data"]["tags"]["scenario"] for p in pts if p["metric"] == "iterations"} == {"s"}


def test_constant_vus_runs_for_the_duration(script, run_script, tmp_path):
    res, pts = _run(script, run_script, tmp_path, {"vus": 2, "duration": "1s"})
    assert res.code == 0
    assert count(pts, "iterations") > 10
    assert max(p["data"]["value"] for p in pts if p["metric"] == "vus_max") == 2


def test_ramping_vus_follows_the_stages(script, run_script, tmp_path):
    path = script("""
        from horde import sleep
        options = {"scenarios": {"ramp": {"executor": "ramping-vus", "startVUs": 0,
                   "stages": [{"duration": "1s", "target": 4}, {"duration": "1s", "target": 0}],
                   "gracefulRampDown": "0s"}}}
        async def default(data):
            await sleep(0.05)
    """)
    out = tmp_path / "out.json"
    res = run_script(path, outs=[f"json={out}"])
    pts = read_points(out)
    assert res.code == 0
    assert max(p["data"]["value"] for p in pts if p["metric"] == "vus_max") == 4
    assert count(pts, "iterations") > 20
    vus = [p["data"]["value"] for p in pts if p["metric"] == "vus"]
    assert vus[-1] == 0


def test_constant_arrival_rate_starts_iterations_at_the_rate(script, run_script, tmp_path):
    res, pts = _run(
        script,
        run_script,
        tmp_path,
        {
            "scenarios": {
                "car": {
                    "executor": "constant-arrival-rate",
                    "rate": 20,
                    "timeUnit": "1s",
                    "duration": "1s",
                    "preAllocatedVUs": 2,
                    "maxVUs": 5,
                }
            }
        },
    )
    assert res.code == 0
    assert 18 <= count(pts, "iterations") <= 21


def test_arrival_rate_drops_iterations_without_free_vus(script, run_script, tmp_path):
    path = script("""
        from horde import sleep
        options = {"scenarios": {"car": {"executor": "constant-arrival-rate", "rate": 50, "timeUnit": "1s",
                   "duration": "1s", "preAllocatedVUs": 1, "maxVUs": 1}}}
        async def default(data):
            await sleep(0.2)
    """)
    out = tmp_path / "out.json"
    res = run_script(path, outs=[f"json={out}"])
    pts = read_points(out)
    assert res.code == 0
    dropped = count(pts, "dropped_iterations")
    assert dropped > 30
    assert count(pts, "iterations") + dropped == pytest.approx(50, abs=2)


def test_ramping_arrival_rate(script, run_script, tmp_path):
    res, pts = _run(
        script,
        run_script,
        tmp_path,
        {
            "scenarios": {
                "rar": {
                    "executor": "ramping-arrival-rate",
                    "startRate": 0,
                    "timeUnit": "1s",
                    "preAllocatedVUs": 2,
                    "maxVUs": 4,
                    "stages": [{"duration": "1s", "target": 40}],
                }
            }
        },
    )
    assert res.code == 0
    assert 17 <= count(pts, "iterations") <= 21  # the area under a 0 -> 40/s ramp over 1 s


def test_two_scenarios_at_once_with_start_time_and_exec(script, run_script, tmp_path):
    path = script("""
        from horde import http, env
        options = {"scenarios": {
            "a": {"executor": "shared-iterations", "vus": 1, "iterations": 3, "exec": "fa", "tags": {"team": "x"}},
            "b": {"executor": "per-vu-iterations", "vus": 2, "iterations": 2, "exec": "fb", "startTime": "200ms"}}}
        async def fa(data):
            await http.get(env["TARGET"] + "/json")
        async def fb(data):
            await http.get(env["TARGET"] + "/")
    """)
    out = tmp_path / "out.json"
    res = run_script(path, outs=[f"json={out}"])
    pts = read_points(out)
    assert res.code == 0
    reqs = [p for p in pts if p["metric"] == "http_reqs"]
    by = {}
    for p in reqs:
        by.setdefault(p["data"]["tags"]["scenario"], []).append(p)
    assert len(by["a"]) == 3 and len(by["b"]) == 4
    assert all(p["data"]["tags"]["team"] == "x" for p in by["a"])
    assert all("team" not in p["data"]["tags"] for p in by["b"])


def test_graceful_stop_interrupts_long_iterations(script, run_script, tmp_path):
    path = script("""
        from horde import sleep
        options = {"scenarios": {"c": {"executor": "constant-vus", "vus": 2, "duration": "300ms", "gracefulStop": "100ms"}}}
        async def default(data):
            await sleep(5)
    """)
    out = tmp_path / "out.json"
    res = run_script(path, outs=[f"json={out}"])
    pts = read_points(out)
    assert res.code == 0
    assert count(pts, "iterations") == 0
    # interrupted iterations still report their data counters
    assert len([p for p in pts if p["metric"] == "data_sent"]) == 2


def test_final_ramp_downs_match_ramp_target():
    from horde.engine.executors import final_ramp_downs, ramp_target
    from horde.engine.scenarios import Stage

    stages = [Stage(2, 4), Stage(2, 1), Stage(1, 3), Stage(2, 0)]
    downs = final_ramp_downs(0, stages)
    assert sorted(downs) == [0, 1, 2, 3]
    for i, at in downs.items():  # active just before, inactive just after, for good
        assert ramp_target(0, stages, at - 1e-6) > i >= ramp_target(0, stages, at + 1e-6)
        assert all(ramp_target(0, stages, at + k / 10) <= i for k in range(1, 40))
    assert final_ramp_downs(1, [Stage(1, 1), Stage(0, 0)]) == {0: 1.0}
    assert final_ramp_downs(0, [Stage(1, 2)]) == {}
