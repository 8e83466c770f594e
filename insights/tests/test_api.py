"""The ingest and read API against a real service process, on SQLite and on PostgreSQL."""

import json
import time

from helpers import create_run, finish, push
from horde_insights.testing import api


def requests(srv, token, run_id):
    return srv.run(token, run_id)["run"]["requests"]


def test_normal_run_is_created_running_then_finished_with_data(server):
    tok = server.token()
    status, body = create_run(server, tok)
    assert status == 200
    rid = body["reference_id"]
    assert body["config"]["webAppURL"] == server.url
    assert server.run(tok, rid)["run"]["state"] == "created"
    assert push(server, tok, rid)[0] == 200
    run = server.run(tok, rid)
    assert run["run"]["state"] == "running" and run["run"]["label"] == "Running" and run["run"]["colour"] == "purple"
    assert finish(server, tok, rid)[0] == 200
    detail = server.run(tok, rid)
    assert detail["run"]["state"] == "finished" and detail["run"]["colour"] == "green"
    assert detail["run"]["requests"] == 20 and detail["run"]["passed"] is True
    assert detail["thresholds"] == [{"metric": "http_req_duration", "threshold": "p(95)<500", "ok": True}]
    assert detail["checks"] == [{"group": "::<b>grp</b>", "check": "is 200 <img src=x>", "passes": 20, "fails": 0}]
    assert detail["series"]["t"] and detail["series"]["p95"][0] > 0


def test_aborted_by_user_shows_finished_with_detail_and_other_aborts_as_such(server):
    tok = server.token()
    expected = {
        5: ("finished", "Finished", "aborted by user"),
        7: ("aborted_script_error", "Aborted by script error", None),
        8: ("aborted_threshold", "Aborted by threshold", None),
        6: ("aborted_system", "Aborted by system", None),
    }
    for code, (state, label, detail) in expected.items():
        rid = create_run(server, tok)[1]["reference_id"]
        push(server, tok, rid)
        assert finish(server, tok, rid, run_status=code, result_status=1)[0] == 200
        run = server.run(tok, rid)["run"]
        assert (run["state"], run["label"], run["run_status"]) == (state, label, code)
        assert run["passed"] is False
        if detail:
            assert run["detail"] == detail


def test_duplicate_push_with_same_idempotency_key_is_dropped(server):
    tok = server.token()
    rid = create_run(server, tok)[1]["reference_id"]
    assert push(server, tok, rid, key="0123456789abcdef") == (200, {"stored": True, "duplicate": False})
    assert push(server, tok, rid, key="0123456789abcdef") == (200, {"stored": False, "duplicate": True})
    assert requests(server, tok, rid) == 20
    push(server, tok, rid, key="fedcba9876543210")
    assert requests(server, tok, rid) == 40


def test_create_with_same_idempotency_key_returns_the_same_run(server):
    tok = server.token()
    body = json.dumps({"name": "x", "vus": 1, "duration": 1, "thresholds": {}}).encode()
    h = {"Content-Type": "application/json", "K6-Idempotency-Key": "aaaabbbbccccdddd"}
    a = api(server.url + "/v1/tests", tok, "POST", body, h)[1]["reference_id"]
    b = api(server.url + "/v1/tests", tok, "POST", body, h)[1]["reference_id"]
    assert a == b and len(server.get("/api/v1/runs", tok)[1]["runs"]) == 1


def test_wrong_or_missing_token_is_401_and_nothing_is_stored(server):
    tok = server.token()
    rid = create_run(server, tok)[1]["reference_id"]
    for bad in ("hi_wrong", None):
        status, body = create_run(server, bad)
        assert status == 401 and body["error"]["message"]
        assert push(server, bad, rid)[0] == 401
        assert finish(server, bad, rid, run_status=5)[0] == 401
        assert server.get("/api/v1/runs", bad)[0] == 401
    status, body = api(server.url + "/api/v1/runs", None, headers={"Authorization": "Basic abc"})
    assert status == 401
    runs = server.get("/api/v1/runs", tok)[1]["runs"]
    assert [r["id"] for r in runs] == [rid]
    assert runs[0]["state"] == "created" and runs[0]["pushes"] == 0


def test_one_projects_token_cannot_read_or_write_another_projects_runs(server):
    a, b = server.token(), server.token()
    rid = create_run(server, a)[1]["reference_id"]
    push(server, a, rid)
    assert server.get(f"/api/v1/runs/{rid}", b)[0] == 404
    assert server.get("/api/v1/runs", b)[1]["runs"] == []
    assert push(server, b, rid)[0] == 404
    assert finish(server, b, rid, run_status=6)[0] == 404
    run = server.run(a, rid)["run"]
    assert run["state"] == "running" and run["requests"] == 20


def test_clear_4xx_errors_for_bad_requests(server):
    tok = server.token()
    rid = create_run(server, tok)[1]["reference_id"]
    status, body = push(server, tok, rid, body=b"\x05not-snappy")
    assert status == 400 and "snappy" in body["error"]["message"]
    status, body = push(server, tok, rid, body=b"\x0a\x05ab", headers={"Content-Encoding": "identity"})
    assert status == 400 and "MetricSet" in body["error"]["message"]
    status, body = push(server, tok, rid, headers={"Content-Encoding": "br"})
    assert status == 415 and "snappy" in body["error"]["message"]
    status, body = push(server, tok, rid, headers={"K6-Metrics-Protocol-Version": "1.0"})
    assert status == 400 and "2.0" in body["error"]["message"]
    status, body = push(server, tok, 999999)
    assert status == 404
    status, body = api(server.url + "/v1/tests", tok, "POST", b"{nope", {"Content-Type": "application/json"})
    assert status == 400 and "JSON" in body["error"]["message"]
    status, body = api(
        server.url + "/v1/tests",
        tok,
        "POST",
        json.dumps({"vus": "many"}).encode(),
        {"Content-Type": "application/json"},
    )
    assert status == 400 and "'vus'" in body["error"]["message"]
    status, body = finish(server, tok, rid, run_status=4)
    assert status == 400 and "run_status" in body["error"]["message"]
    status, body = api(f"{server.url}/v1/metrics/{rid}", tok, "POST", b"[]", {"Content-Type": "application/json"})
    assert status == 400 and "v2" in body["error"]["message"]
    # nothing of the above was stored
    assert server.run(tok, rid)["run"]["requests"] == 0


def test_body_size_limits_are_413(server):
    tok = server.token()
    rid = create_run(server, tok)[1]["reference_id"]
    status, body = push(server, tok, rid, body=b"\x00" * (17 << 20))
    assert status == 413 and "limit" in body["error"]["message"]
    # a tiny snappy body claiming a huge decompressed size is refused before decompressing
    bomb = bytes([0xFF, 0xFF, 0xFF, 0xFF, 0x0F]) + b"\x00" * 10
    status, body = push(server, tok, rid, body=bomb)
    assert status == 413 and "decompressed" in body["error"]["message"]
    status, body = api(server.url + "/v1/tests", tok, "POST", b" " * (2 << 20), {"Content-Type": "application/json"})
    assert status == 413


def test_silent_run_times_out_keeps_its_data_and_stores_late_data(make_server):
    srv = make_server(timeout=1)
    tok = srv.token()
    rid = create_run(srv, tok)[1]["reference_id"]
    push(srv, tok, rid)
    # wait until the service has been up for its timeout and the run went silent for it
    detail = srv.wait_state(tok, rid, ("timed_out",), within=30)
    run = detail["run"]
    assert (run["state"], run["label"], run["colour"], run["run_status"]) == ("timed_out", "Timed out", "red", 4)
    assert run["requests"] == 20 and detail["series"]["t"] and detail["checks"]
    assert push(srv, tok, rid)[0] == 200  # late data is still stored
    assert srv.run(tok, rid)["run"]["requests"] == 40
    assert srv.run(tok, rid)["run"]["state"] == "timed_out"


def test_a_run_that_keeps_pushing_does_not_time_out(make_server):
    srv = make_server(timeout=1)
    tok = srv.token()
    rid = create_run(srv, tok)[1]["reference_id"]
    end = time.monotonic() + 2.5
    while time.monotonic() < end:
        assert push(srv, tok, rid)[0] == 200
        time.sleep(0.2)
    assert srv.run(tok, rid)["run"]["state"] == "running"
    finish(srv, tok, rid)
    assert srv.run(tok, rid)["run"]["state"] == "finished"


def test_data_survives_a_service_restart(make_server):
    srv = make_server()
    tok = srv.token()
    rid = create_run(srv, tok)[1]["reference_id"]
    push(srv, tok, rid)
    srv.stop()
    srv.start()
    push(srv, tok, rid)
    finish(srv, tok, rid)
    run = srv.run(tok, rid)["run"]
    assert run["state"] == "finished" and run["requests"] == 40


def test_pages_and_static_files_are_served_without_data(server):
    import urllib.request

    for path, ctype in (
        ("/", "text/html"),
        ("/runs/1", "text/html"),
        ("/static/app.js", "javascript"),
        ("/static/vendor/uplot/uPlot.iife.min.js", "javascript"),
        ("/static/vendor/uplot/LICENSE", ""),
    ):
        with urllib.request.urlopen(server.url + path, timeout=10) as resp:
            assert resp.status == 200
            assert ctype in resp.headers["Content-Type"]
            assert "script-src 'self'" in resp.headers["Content-Security-Policy"]
    assert server.get("/static/../cli.py", None)[0] == 404


def test_token_cli_creates_project_tokens_and_lists_them_without_secrets(server, tmp_path):
    import subprocess
    import sys

    def cli(*args):
        return subprocess.run(
            [sys.executable, "-m", "horde_insights", *args, "--db", server.db],
            capture_output=True,
            text=True,
            timeout=60,
        )

    name = f"cli-{time.time_ns()}"
    out = cli("token", "create", "--project", name, "--label", "ci")
    assert out.returncode == 0, out.stderr
    tok = out.stdout.strip()
    assert tok.startswith("hi_") and len(tok) == 43
    assert server.get("/api/v1/runs", tok)[1]["runs"] == [] and server.get("/api/v1/runs", tok)[1]["total"] == 0
    listing = cli("token", "list").stdout
    assert name in listing and "ci" in listing and tok not in listing


def test_unusable_database_is_one_clear_error_line(tmp_path):
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-m", "horde_insights", "token", "create", "--db", str(tmp_path / "missing" / "x.db")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 1
    assert out.stderr.strip().startswith("error: cannot open database") and "Traceback" not in out.stderr
    out = subprocess.run(
        [sys.executable, "-m", "horde_insights", "token", "list", "--db", "postgresql://nobody@127.0.0.1:1/none"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 1 and out.stderr.startswith("error: cannot connect to PostgreSQL at 127.0.0.1:1/none")
