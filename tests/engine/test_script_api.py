"""The scripting API: checks, groups, custom metrics, env, vu, fail, abort, setup/teardown."""

from __future__ import annotations

from conftest import count, read_points


def test_checks_groups_custom_metrics_and_setup_data(script, run_script, tmp_path):
    path = script("""
        from horde import http, check, group, env, vu, Counter, Trend, Rate, Gauge
        hits = Counter("my_hits")
        lat = Trend("my_latency", True)
        ok = Rate("my_ok")
        level = Gauge("my_level")
        options = {"vus": 2, "iterations": 4, "tags": {"testid": "t1"}}
        async def setup():
            return {"base": env["TARGET"]}
        async def default(data):
            with group("front"):
                res = await http.get(data["base"] + "/", tags={"page": "home"})
                check(res, {"status is 200": lambda r: r.status == 200, "never": lambda r: False})
                with group("inner"):
                    hits.add(2, {"kind": "a"})
            lat.add(12.5)
            ok.add(True)
            level.add(vu.id)
            vu.metadata["trace_id"] = "abc"
    """)
    out = tmp_path / "out.json"
    res = run_script(path, outs=[f"json={out}"])
    assert res.code == 0, res.stdout
    pts = read_points(out)
    checks = [p for p in pts if p["metric"] == "checks"]
    assert len(checks) == 8
    assert {p["data"]["tags"]["check"] for p in checks} == {"status is 200", "never"}
    assert {p["data"]["tags"]["group"] for p in checks} == {"::front"}
    assert count(pts, "checks") == 4
    hits = [p for p in pts if p["metric"] == "my_hits"]
    assert sum(p["data"]["value"] for p in hits) == 8
    assert {p["data"]["tags"]["group"] for p in hits} == {"::front::inner"}
    assert all(p["data"]["tags"]["kind"] == "a" and p["data"]["tags"]["testid"] == "t1" for p in hits)
    groups = {p["data"]["tags"]["group"] for p in pts if p["metric"] == "group_duration"}
    assert groups == {"::front", "::front::inner"}
    req = next(p for p in pts if p["metric"] == "http_reqs")
    assert req["data"]["tags"]["page"] == "home"
    lines = [__import__("json").loads(l) for l in out.read_text().splitlines()]
    meta = {l["metric"]: l["data"] for l in lines if l["type"] == "Metric"}
    assert meta["my_latency"]["type"] == "trend" and meta["my_latency"]["contains"] == "time"
    assert meta["my_ok"]["type"] == "rate" and meta["my_level"]["type"] == "gauge"
    assert any(p["data"].get("metadata", {}).get("trace_id") == "abc" for p in pts)


def test_exception_in_iteration_is_logged_and_run_continues(script, run_script, tmp_path, caplog):
    path = script("""
        from horde import fail
        options = {"iterations": 3}
        async def default(data):
            fail("boom")
    """)
    res = run_script(path)
    assert res.code == 0
    assert res.run.script_errors == 3
    assert "boom" in caplog.text and "script.py:5" in caplog.text


def test_error_while_loading_is_exit_107(script, run_script):
    path = script("""
        raise RuntimeError("bad init")
        async def default(data): pass
    """)
    try:
        run_script(path)
    except Exception as exc:  # the CLI prints it as one line
        assert getattr(exc, "exit_code", None) == 107
        assert "bad init" in str(exc) and "script.py:2" in str(exc)
    else:
        raise AssertionError("no error")


def test_error_in_setup_is_exit_107(script, run_script):
    path = script("""
        async def setup():
            raise ValueError("no data")
        async def default(data): pass
    """)
    res = run_script(path)
    assert res.code == 107


def test_abort_stops_the_run_with_108(script, run_script, tmp_path):
    path = script("""
        from horde import abort, vu
        options = {"vus": 1, "iterations": 100}
        async def default(data):
            if vu.iteration == 3:
                abort("enough")
    """)
    res = run_script(path, outs=[f"json={tmp_path / 'o.json'}"])
    assert res.code == 108
    assert count(read_points(tmp_path / "o.json"), "iterations") < 10


def test_env_and_vu_and_cli_shortcuts(script, run_script, tmp_path):
    path = script("""
        from horde import env, vu, Counter
        seen = Counter("seen_vu")
        options = {"vus": 1, "iterations": 1}
        async def default(data):
            assert env["NAME"] == "x"
            seen.add(vu.id)
    """)
    res = run_script(path, env={"NAME": "x"}, outs=[f"json={tmp_path / 'o.json'}"], cli={"vus": 3, "iterations": 9})
    assert res.code == 0
    pts = read_points(tmp_path / "o.json")
    assert count(pts, "iterations") == 9
    assert {p["data"]["value"] for p in pts if p["metric"] == "seen_vu"} <= {1, 2, 3}


def test_scenario_env_overrides_cli_env_for_its_vus(script, run_script, tmp_path):
    path = script("""
        from horde import env, Counter
        got = Counter("got")
        options = {"scenarios": {
            "a": {"executor": "shared-iterations", "iterations": 2, "env": {"MODE": "fast"}},
            "b": {"executor": "shared-iterations", "iterations": 3}}}
        async def default(data):
            got.add(1, {"mode": env["MODE"], "has": str("MODE" in env)})
    """)
    res = run_script(path, env={"MODE": "slow"}, outs=[f"json={tmp_path / 'o.json'}"])
    assert res.code == 0
    pts = [p for p in read_points(tmp_path / "o.json") if p["metric"] == "got"]
    modes = sorted((p["data"]["tags"]["scenario"], p["data"]["tags"]["mode"]) for p in pts)
    assert modes == [("a", "fast")] * 2 + [("b", "slow")] * 3


def test_setup_and_teardown_run_on_vu_0_outside_vus_max(script, run_script, tmp_path):
    path = script("""
        from horde import vu, Counter
        ids = Counter("ids")
        options = {"vus": 2, "iterations": 2}
        async def setup():
            ids.add(100 + vu.id, {"phase": "setup"})
        async def default(data):
            ids.add(vu.id, {"phase": "default"})
        async def teardown(data):
            ids.add(100 + vu.id, {"phase": "teardown"})
    """)
    res = run_script(path, outs=[f"json={tmp_path / 'o.json'}"])
    assert res.code == 0
    pts = read_points(tmp_path / "o.json")
    by_phase = {}
    for p in pts:
        if p["metric"] == "ids":
            by_phase.setdefault(p["data"]["tags"]["phase"], set()).add(p["data"]["value"])
    assert by_phase["setup"] == by_phase["teardown"] == {100}  # VU 0
    assert by_phase["default"] and by_phase["default"] <= {1, 2}  # real VUs start at 1
    assert {
        p["data"]["tags"]["scenario"] for p in pts if p["metric"] == "ids" and p["data"]["tags"]["phase"] != "default"
    } == {"setup", "teardown"}
    assert max(p["data"]["value"] for p in pts if p["metric"] == "vus_max") == 2
