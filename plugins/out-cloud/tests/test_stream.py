"""Whole runs streamed to a real horde-insights process.

Each test runs twice: through driver.py (the real output Manager fed by a
synthetic run) and through ``horde run`` (skipped until the engine lands).
"""

import signal
import time

from conftest import start_driver
from counts import assert_same_counts


def only_run(srv, token):
    runs = srv.get("/api/v1/runs", token)[1]["runs"]
    assert len(runs) == 1, runs
    return runs[0]["id"]


def wait_running(srv, token, within=30):
    end = time.monotonic() + within
    while time.monotonic() < end:
        runs = srv.get("/api/v1/runs", token)[1]["runs"]
        if runs and runs[0]["state"] == "running":
            return runs[0]["id"]
        assert not runs or runs[0]["state"] == "created", runs
        time.sleep(0.1)
    raise AssertionError("the run never became Running")


def test_normal_run_is_finished_with_every_sample(server, tmp_path, start_run):
    tok = server.token()
    proc = start_run(server, tok, tmp_path, 2)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    rid = only_run(server, tok)
    assert f"cloud: streaming results to {server.url}/runs/{rid}" in out
    detail = server.run(tok, rid)
    run = detail["run"]
    assert (run["state"], run["label"], run["run_status"], run["passed"]) == ("finished", "Finished", 3, True)
    assert run["name"] == "driver-script.py" and run["vus"] > 0 and run["planned_duration"] >= 2
    assert run["thresholds"] == {"http_req_duration": ["p(95)<500"], "checks": ["rate>0.5"]}
    assert_same_counts(tmp_path / "out.json", detail)
    assert detail["run"]["duplicate_pushes"] == 0


def test_failed_threshold_marks_the_result_failed(server, tmp_path, start_run):
    tok = server.token()
    proc = start_run(server, tok, tmp_path, 1, threshold_fail=True)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 99, err
    detail = server.run(tok, only_run(server, tok))
    assert detail["run"]["state"] == "finished" and detail["run"]["passed"] is False
    assert [t["ok"] for t in detail["thresholds"] if t["metric"] == "http_req_duration"] == [False]


def test_sigint_is_finished_aborted_by_user(server, tmp_path, start_run):
    tok = server.token()
    proc = start_run(server, tok, tmp_path, 60)
    rid = wait_running(server, tok)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 105, err
    detail = server.run(tok, rid)
    run = detail["run"]
    assert (run["state"], run["label"], run["detail"], run["run_status"]) == (
        "finished",
        "Finished",
        "aborted by user",
        5,
    )
    assert_same_counts(tmp_path / "out.json", detail)


def test_sigkill_times_out_and_keeps_the_data(make_server, tmp_path, start_run):
    srv = make_server(timeout=5)
    tok = srv.token()
    proc = start_run(srv, tok, tmp_path, 60, HORDE_CLOUD_AGGREGATION_WAIT_PERIOD="0.2s")
    rid = wait_running(srv, tok)
    end = time.monotonic() + 30
    while srv.run(tok, rid)["run"]["requests"] == 0 and time.monotonic() < end:
        time.sleep(0.1)  # until requests (not just the vus gauge) reached the service
    proc.kill()
    proc.communicate(timeout=30)
    detail = srv.wait_state(tok, rid, ("timed_out",), within=30)
    run = detail["run"]
    assert (run["state"], run["label"], run["colour"], run["run_status"]) == ("timed_out", "Timed out", "red", 4)
    assert run["requests"] > 0 and detail["series"]["t"]


def test_service_down_mid_run_loses_nothing(make_server, tmp_path, start_run):
    srv = make_server()
    tok = srv.token()
    proc = start_run(srv, tok, tmp_path, 6, HORDE_CLOUD_ERROR_LOG_INTERVAL="1s", HORDE_CLOUD_MAX_MEMORY="2000")
    rid = wait_running(srv, tok)
    srv.stop()
    time.sleep(2.5)
    srv.start()
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert "connection errors stacking up" in err and "samples waiting" in err
    assert "restored after" in err
    detail = srv.run(tok, rid)
    assert detail["run"]["state"] == "finished"
    assert_same_counts(tmp_path / "out.json", detail)


def test_wrong_token_fails_the_start_and_stores_nothing(server, tmp_path, start_run):
    tok = server.token()
    proc = start_run(server, "hi_wrong", tmp_path, 1)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode != 0
    assert "could not create the test run" in err and "invalid token" in err
    assert server.get("/api/v1/runs", tok)[1]["runs"] == []


def cloud_report(stdout: str) -> dict[str, int]:
    """The cloud output's ``report()`` counts, as driver.py prints them."""
    line = next(ln for ln in stdout.splitlines() if ln.startswith("report cloud"))
    return {k: int(v) for k, v in (kv.split("=") for kv in line.split()[2:])}


def test_outage_spills_to_disk_and_replays_everything(make_server, tmp_path):
    srv = make_server()
    tok = srv.token()
    spool = tmp_path / "spool"
    proc = start_driver(
        srv,
        tok,
        tmp_path,
        "--seconds",
        "6",
        "--rate",
        "200",
        HORDE_CLOUD_MAX_MEMORY="1000",
        HORDE_CLOUD_SPOOL_DIR=str(spool),
        HORDE_CLOUD_AGGREGATION_WAIT_PERIOD="0.2s",
        HORDE_CLOUD_MAX_TIME_SERIES_IN_BATCH="5",
    )
    rid = wait_running(srv, tok)
    srv.stop()
    time.sleep(3)
    srv.start()
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    counts = cloud_report(out)
    assert counts["dropped"] == 0 and counts["spilled"] > 0 and counts["retried"] > 0 and counts["failed_pushes"] > 0
    assert counts["written"] > 0
    assert "connection errors stacking up" in err and "restored after" in err
    detail = srv.run(tok, rid)
    assert detail["run"]["state"] == "finished" and detail["run"]["duplicate_pushes"] == 0
    assert_same_counts(tmp_path / "out.json", detail)
    assert list(spool.iterdir()) == []  # spill files removed


def test_service_down_at_stop_ends_by_the_stop_timeout_and_reports_the_loss(make_server, tmp_path):
    srv = make_server()
    tok = srv.token()
    proc = start_driver(
        srv,
        tok,
        tmp_path,
        "--seconds",
        "3",
        "--rate",
        "200",
        HORDE_CLOUD_STOP_TIMEOUT="2s",
        HORDE_CLOUD_AGGREGATION_WAIT_PERIOD="0.2s",
    )
    wait_running(srv, tok)
    srv.stop()
    started = time.monotonic()
    out, err = proc.communicate(timeout=60)
    assert time.monotonic() - started < 20  # 3 s of run + 2 s stop timeout, with room for a slow machine
    counts = cloud_report(out)
    assert counts["dropped"] > 0 and counts["written"] >= 0
    assert f"{counts['dropped']} samples could not be delivered" in err
