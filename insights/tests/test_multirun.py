"""One run for N instances (issue 17): k6-operator's calls, merged metrics, lifecycle, central
thresholds, stop and setup data — against a real service process on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import threading
import time

from helpers import push
from horde_insights.testing import api
from pushbuild import instance_push

T0 = 1_700_000_000.0


def cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "horde_insights", *args],
        check=False,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={k: v for k, v in os.environ.items() if not k.startswith(("HORDE_INSIGHTS_", "K6_CLOUD_"))},
    )


def operator_create(srv, token, thresholds, instances, name="test.js") -> str:
    """POST /v1/tests exactly as k6-operator's pkg/cloud createTestRun sends it through k6's cloudapi
    client (project_id 0 is omitted, process_thresholds is always true)."""
    body = {
        "name": name,
        "vus": 10,
        "thresholds": thresholds,
        "duration": 60,
        "process_thresholds": True,
        "instances": instances,
    }
    status, reply = api(
        srv.url + "/v1/tests",
        token,
        "POST",
        json.dumps(body).encode(),
        {"Content-Type": "application/json", "User-Agent": "k6cloud/v1.2.3"},
    )
    assert status == 200, reply
    return reply["reference_id"]


def operator_finish(srv, token, ref) -> tuple[int, dict]:
    """k6-operator's FinishTestRun: cloudapi TestFinished(ref, {}, tainted=false, RunStatusFinished)."""
    body = json.dumps({"result_status": 0, "run_status": 3, "thresholds": {}}).encode()
    return api(f"{srv.url}/v1/tests/{ref}", token, "POST", body, {"Content-Type": "application/json"})


def push_as(srv, token, ref, instance, t, durations, **kw) -> tuple[int, dict]:
    return push(srv, token, ref, body=instance_push(instance, t, durations, **kw))


def finish_instance(srv, token, ref, instance, run_status=3, result_status=0) -> tuple[int, dict]:
    body = json.dumps({"run_status": run_status, "result_status": result_status}).encode()
    return api(
        f"{srv.url}/v1/tests/{ref}/instances/{instance}/finish",
        token,
        "POST",
        body,
        {"Content-Type": "application/json"},
    )


def exact_quantile(values: list[float], q: float) -> float:
    s = sorted(values)
    rank = q * (len(s) - 1)
    lo = int(rank)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (rank - lo)


def metric(entries: list[dict], name: str) -> dict:
    return next(e for e in entries if e["metric"] == name)


def test_operator_calls_create_one_run_that_merges_its_instances_and_finishes(server):
    tok = server.token()
    ref = operator_create(server, tok, {"http_req_duration": ["p(95)<500"]}, instances=2)
    detail = server.run(tok, ref)
    assert detail["run"]["state"] == "created" and detail["expected_instances"] == 2
    assert push_as(server, tok, ref, "1", T0, [10.0] * 30)[0] == 200
    assert push_as(server, tok, ref, "2", T0, [20.0] * 10, failed=5)[0] == 200
    detail = server.run(tok, ref)
    assert detail["run"]["state"] == "running" and detail["run"]["requests"] == 40
    assert [i["instance_id"] for i in detail["instances"]] == ["1", "2"]
    assert [i["state"] for i in detail["instances"]] == ["running", "running"]
    assert metric(detail["instances"][1]["metrics"], "http_reqs")["count"] == 10
    assert metric(detail["metrics"], "http_req_failed")["rate"] == 5 / 40
    status, progress = api(f"{server.url}/v1/test-progress/{ref}", tok)
    assert status == 200
    assert {k: progress[k] for k in ("run_status", "run_status_text", "instances", "stopped")} == {
        "run_status": 2,
        "run_status_text": "running",
        "instances": 2,
        "stopped": False,
    }
    assert operator_finish(server, tok, ref) == (200, {})
    detail = server.run(tok, ref)
    assert (detail["run"]["state"], detail["run"]["passed"]) == ("finished", True)
    assert detail["verdict"]["passed"] is True and detail["verdict"]["thresholds"][0]["value"] > 0
    assert detail["thresholds"] == [{"metric": "http_req_duration", "threshold": "p(95)<500", "ok": True}]


def test_the_final_verdict_is_insights_own_when_it_processes_the_thresholds(server):
    """The operator always finishes with result_status 0; the merged data decides."""
    tok = server.token()
    ref = operator_create(server, tok, {"http_reqs": ["count<50"]}, instances=2)
    push_as(server, tok, ref, "1", T0, [5.0] * 30)
    push_as(server, tok, ref, "2", T0, [5.0] * 30)
    assert operator_finish(server, tok, ref)[0] == 200
    detail = server.run(tok, ref)
    assert (detail["run"]["run_status"], detail["run"]["result_status"]) == (3, 1)
    assert detail["thresholds"] == [{"metric": "http_reqs", "threshold": "count<50", "ok": False}]
    assert detail["verdict"]["failed"] == ["http_reqs: count<50"]


def test_four_instances_merge_counts_rates_vus_and_histograms_exactly(server):
    tok = server.token()
    ref = operator_create(server, tok, {}, instances=4)
    rng = random.Random(17)
    every: list[float] = []
    sent = failed = 0
    for inst in ("1", "2", "3", "4"):
        scale = 20.0 * int(inst)  # instances differ: the mean of their p95s is not the p95 of all
        for k in range(3):
            durations = [rng.lognormvariate(0, 0.6) * scale for _ in range(rng.randint(50, 150))]
            fails = rng.randint(0, 5)
            every += durations
            sent += len(durations)
            failed += fails
            assert push_as(server, tok, ref, inst, T0 + 3 * k, durations, failed=fails, vus=int(inst))[0] == 200
    detail = server.run(tok, ref)
    assert detail["run"]["requests"] == sent
    assert metric(detail["metrics"], "http_req_failed")["rate"] == failed / sent
    trend = metric(detail["metrics"], "http_req_duration")
    assert trend["count"] == sent
    exact = exact_quantile(every, 0.95)
    assert abs(trend["p95"] - exact) / exact < 0.01  # k6's histogram: buckets under 0.8 % wide
    per_p95 = [metric(i["metrics"], "http_req_duration")["p95"] for i in detail["instances"]]
    assert abs(sum(per_p95) / 4 - exact) / exact > 0.05  # what a mean of p95s would have said
    assert detail["series"]["vus"] == [10.0, 10.0, 10.0]  # 1 + 2 + 3 + 4 at each time
    assert metric(detail["metrics"], "vus")["value"] == 10 and detail["run"]["max_vus_seen"] == 10
    assert [metric(i["metrics"], "vus")["value"] for i in detail["instances"]] == [1, 2, 3, 4]


def test_all_instances_finishing_finish_the_run_and_wait_exits_0(server):
    tok = server.token()
    ref = operator_create(server, tok, {"http_req_duration": ["p(95)<500"]}, instances=2)
    push_as(server, tok, ref, "1", T0, [10.0] * 5)
    push_as(server, tok, ref, "2", T0, [10.0] * 5)
    assert finish_instance(server, tok, ref, "1") == (200, {"instance_id": "1", "recorded": True})
    assert server.run(tok, ref)["run"]["state"] == "running"
    assert api(f"{server.url}/v1/test-progress/{ref}", tok)[1]["instances_finished"] == ["1"]
    assert finish_instance(server, tok, ref, "2")[0] == 200
    detail = server.run(tok, ref)
    assert (detail["run"]["state"], detail["run"]["passed"]) == ("finished", True)
    assert [i["state"] for i in detail["instances"]] == ["finished", "finished"]
    out = cli("wait", ref, "--host", server.url, "--token", tok, "--timeout", "30s")
    assert out.returncode == 0, out.stdout + out.stderr


def test_threshold_crossed_only_on_merged_data_makes_wait_exit_99(server):
    tok = server.token()
    thresholds = json.dumps({"http_reqs": ["count<100"], "http_req_duration": ["p(95)<500"]})
    out = cli(
        "run",
        "create",
        "--name",
        "merged",
        "--instances",
        "4",
        "--thresholds",
        thresholds,
        "--host",
        server.url,
        "--token",
        tok,
    )
    assert out.returncode == 0, out.stderr
    ref = out.stdout.strip().splitlines()[-1]
    assert ref.isdigit()
    for inst in ("1", "2", "3", "4"):  # 40 each: every instance alone passes count<100
        push_as(server, tok, ref, inst, T0, [10.0] * 40)
    waiter = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "horde_insights",
            "wait",
            ref,
            "--host",
            server.url,
            "--token",
            tok,
            "--timeout",
            "60s",
            "--interval",
            "0.2s",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(0.5)
        out = cli("run", "finish", ref, "--host", server.url, "--token", tok)
        assert out.returncode == 0 and "finished" in out.stdout, out.stderr
        stdout, stderr = waiter.communicate(timeout=60)
    finally:
        waiter.kill()
    assert waiter.returncode == 99, stdout + stderr
    assert "threshold crossed: http_reqs: count<100" in stdout


def test_a_silent_instance_times_the_run_out_naming_it_with_every_sample_kept(make_server):
    srv = make_server(timeout=1)
    tok = srv.token()
    ref = operator_create(srv, tok, {}, instances=2)
    push_as(srv, tok, ref, "1", T0, [10.0] * 10)
    push_as(srv, tok, ref, "2", T0, [10.0] * 10)
    end = time.monotonic() + 30
    k = 1
    while time.monotonic() < end and srv.run(tok, ref)["run"]["state"] == "running":
        assert push_as(srv, tok, ref, "1", T0 + 3 * k, [10.0] * 10)[0] == 200  # instance 1 keeps pushing
        k += 1
        time.sleep(0.2)
    detail = srv.run(tok, ref)
    assert detail["run"]["state"] == "timed_out"
    assert detail["timed_out_instances"] == ["2"] and "instance 2 silent" in detail["abort_reason"]
    assert [i["state"] for i in detail["instances"]] == ["running", "timed_out"]
    assert detail["run"]["requests"] == 10 * (k + 1)
    assert push_as(srv, tok, ref, "2", T0 + 99, [10.0] * 10)[0] == 200  # late data is kept
    assert operator_finish(srv, tok, ref)[0] == 200
    assert srv.run(tok, ref)["run"]["state"] == "timed_out"  # the creator's finish does not hide it
    out = cli("wait", ref, "--host", srv.url, "--token", tok, "--timeout", "30s")
    assert out.returncode == 97, out.stdout + out.stderr
    assert "instance 2 silent" in out.stdout
    assert "instance(s) 2 silent" in (srv.log.read_text() if srv.log else "")


def test_stop_makes_pushes_get_k6s_stopped_run_error(server):
    tok = server.token()
    ref = operator_create(server, tok, {}, instances=3)
    assert push_as(server, tok, ref, "1", T0, [10.0] * 5)[0] == 200
    out = cli("run", "stop", ref, "--host", server.url, "--token", tok)
    assert out.returncode == 0 and "stopped by user" in out.stdout, out.stderr
    status, body = push_as(server, tok, ref, "2", T0, [10.0] * 5)
    assert status == 403 and body["error"]["code"] == 4, body  # k6 stops sending on 403 + code 4
    progress = api(f"{server.url}/v1/test-progress/{ref}", tok)[1]
    assert progress["stopped"] is True and progress["abort_reason"] == "stopped by user"
    assert finish_instance(server, tok, ref, "1", run_status=5)[0] == 200  # the instances still report their end
    detail = server.run(tok, ref)
    assert (detail["run"]["state"], detail["run"]["detail"]) == ("finished", "aborted by user")
    assert detail["run"]["requests"] == 5 and detail["stopped"] is True
    assert operator_finish(server, tok, ref)[0] == 200
    assert server.run(tok, ref)["run"]["run_status"] == 5


def test_abort_on_fail_on_merged_data_stops_the_run_and_wait_exits_99(server):
    tok = server.token()
    thresholds = {"http_reqs": [{"threshold": "count<100", "abortOnFail": True}]}
    ref = operator_create(server, tok, thresholds, instances=4)
    for inst in ("1", "2", "3", "4"):
        assert push_as(server, tok, ref, inst, T0, [10.0] * 40)[0] == 200
    end = time.monotonic() + 15
    while time.monotonic() < end and not api(f"{server.url}/v1/test-progress/{ref}", tok)[1]["stopped"]:
        time.sleep(0.1)
    detail = server.run(tok, ref)
    assert detail["stopped"] is True and detail["run"]["state"] == "aborted_threshold"
    assert detail["abort_reason"] == "threshold 'count<100' on http_reqs crossed (value 160)"
    status, body = push_as(server, tok, ref, "1", T0 + 3, [10.0])
    assert (status, body["error"]["code"]) == (403, 4)
    out = cli("wait", ref, "--host", server.url, "--token", tok, "--timeout", "30s")
    assert out.returncode == 99, out.stdout + out.stderr


def test_a_push_without_instance_id_belongs_to_instance_1(server):
    tok = server.token()
    ref = operator_create(server, tok, {}, instances=1)
    push_as(server, tok, ref, None, T0, [10.0] * 3)
    detail = server.run(tok, ref)
    assert [i["instance_id"] for i in detail["instances"]] == ["1"]
    assert finish_instance(server, tok, ref, "1")[0] == 200
    assert server.run(tok, ref)["run"]["state"] == "finished"


def test_setup_data_is_published_once_and_long_polled(server):
    tok = server.token()
    ref = operator_create(server, tok, {}, instances=3)
    url = f"{server.url}/v1/tests/{ref}/setup"
    assert api(url + "?wait=0", tok) == (204, {})
    got: list[tuple[int, dict]] = []
    waiter = threading.Thread(target=lambda: got.append(api(url + "?wait=20", tok, timeout=30)))
    began = time.monotonic()
    waiter.start()
    time.sleep(0.3)
    data = {"data": {"token": "abc", "ids": [1, 2, 3], "html": "<b>x</b>"}}
    assert api(url, tok, "PUT", json.dumps(data).encode(), {"Content-Type": "application/json"})[0] == 200
    waiter.join(25)
    assert got == [(200, data)] and time.monotonic() - began < 15
    assert api(url + "?wait=1", tok) == (200, data)
    status, body = api(url, tok, "PUT", json.dumps({"data": 2}).encode(), {"Content-Type": "application/json"})
    assert status == 409 and "already published" in body["error"]["message"]
    assert api(url + "?wait=31", tok)[0] == 400
    other = operator_create(server, tok, {}, instances=2)
    err = {"error": "setup() threw: boom"}
    url2 = f"{server.url}/v1/tests/{other}/setup"
    assert api(url2, tok, "PUT", json.dumps(err).encode(), {"Content-Type": "application/json"})[0] == 200
    assert api(url2, tok) == (200, err)
    assert api(url2, server.token(), "PUT", b'{"data": 1}')[0] == 404  # another project's token


def test_operator_error_events_with_abort_stop_the_run(server):
    tok = server.token()
    ref = operator_create(server, tok, {}, instances=2)
    events = [
        {"event_type": "TestRunErrorEvent", "event": {"error_code": 8030, "error_detail": "setup failed"}},
        {"event_type": "TestRunAbortEvent", "event": {"origin": "user"}},
    ]
    status, body = api(
        f"{server.url}/orchestrator/v1/testruns/{ref}/events",
        tok,
        "POST",
        json.dumps(events).encode(),
        {"Content-Type": "application/json"},
    )
    assert (status, body) == (200, {"received": 2, "stopped": True})
    detail = server.run(tok, ref)
    assert detail["run"]["state"] == "aborted_system"
    assert detail["abort_reason"] == "aborted by k6-operator (error 8030: setup failed)"


def test_bad_multi_run_input_is_a_clear_4xx(server):
    tok = server.token()
    for body, culprit in (
        ({"name": "x", "instances": 0}, "'instances'"),
        ({"name": "x", "instances": "2"}, "'instances'"),
        ({"name": "x", "process_thresholds": "yes"}, "'process_thresholds'"),
        ({"name": "x", "process_thresholds": True, "thresholds": {"m": ["p95<1"]}}, "'p95<1'"),
    ):
        status, reply = api(
            server.url + "/v1/tests", tok, "POST", json.dumps(body).encode(), {"Content-Type": "application/json"}
        )
        assert status == 400 and culprit in reply["error"]["message"], (body, reply)
    ref = operator_create(server, tok, {}, instances=2)
    assert finish_instance(server, tok, ref, "1", run_status=2)[0] == 400
    assert api(f"{server.url}/api/v1/runs/{ref}/stop", server.token(), "POST", b"{}")[0] == 404
    assert api(f"{server.url}/api/v1/runs/{ref}/stop", None, "POST", b"{}")[0] == 401
    operator_finish(server, tok, ref)
    assert api(f"{server.url}/api/v1/runs/{ref}/stop", tok, "POST", b"{}")[0] == 409


def test_submetric_thresholds_select_series_by_tag_across_instances(server):
    tok = server.token()
    thresholds = {"http_req_duration{status:200}": ["p(95)<100"], "http_req_duration{status:500}": ["max<100"]}
    ref = operator_create(server, tok, thresholds, instances=2)
    push_as(server, tok, ref, "1", T0, [10.0] * 20, tags={"status": "200"})
    push_as(server, tok, ref, "2", T0, [10.0] * 20, tags={"status": "200"})
    push_as(server, tok, ref, "2", T0 + 3, [900.0] * 2, tags={"status": "500"})
    assert operator_finish(server, tok, ref)[0] == 200
    rows = {(r["metric"], r["ok"]) for r in server.run(tok, ref)["verdict"]["thresholds"]}
    assert rows == {("http_req_duration{status:200}", True), ("http_req_duration{status:500}", False)}


def test_a_stopped_k6_run_keeps_its_stop_status_and_takes_k6s_own_verdict(server):
    from helpers import create_run, finish

    tok = server.token()
    ref = create_run(server, tok)[1]["reference_id"]  # as k6 itself creates it: Insights does not judge
    push(server, tok, ref)
    assert api(f"{server.url}/api/v1/runs/{ref}/stop", tok, "POST", b"{}")[0] == 200
    assert finish(server, tok, ref, run_status=3, result_status=1)[0] == 200
    run = server.run(tok, ref)["run"]
    assert (run["run_status"], run["result_status"], run["abort_reason"]) == (5, 1, "stopped by user")


def test_run_commands_user_errors_are_one_line(server):
    tok = server.token()
    for args, code, culprit in (
        (("wait", "999999", "--host", server.url, "--token", tok), 1, "test run 999999 not found"),
        (("run", "stop", "1", "--host", server.url, "--token", "wrong"), 1, "invalid token"),
        (
            ("run", "create", "--name", "x", "--thresholds", "{", "--host", server.url, "--token", tok),
            2,
            "'--thresholds'",
        ),
        (("run", "create", "--name", "x", "--host", "ftp://x", "--token", tok), 2, "'--host'"),
        (("run", "finish", "1", "--host", "http://127.0.0.1:1", "--token", tok), 1, "cannot reach Insights"),
    ):
        out = cli(*args)
        assert out.returncode == code, (args, out.stderr)
        assert out.stderr.startswith("error: ") and out.stderr.count("\n") == 1, out.stderr
        assert culprit in out.stderr and "Traceback" not in out.stderr


def test_the_live_verdict_follows_every_push_and_matches_the_final_one(server):
    tok = server.token()
    ref = operator_create(server, tok, {"http_reqs": ["count<1000"], "http_req_duration": ["p(50)<15"]}, instances=2)

    def live_values(expected_count, within=15):
        end = time.monotonic() + within
        while True:
            verdict = server.run(tok, ref)["verdict"]
            values = {r["metric"]: r["value"] for r in (verdict or {}).get("thresholds", [])}
            if values.get("http_reqs") == expected_count or time.monotonic() > end:
                return values
            time.sleep(0.1)

    push_as(server, tok, ref, "1", T0, [10.0] * 10)
    assert live_values(10)["http_reqs"] == 10  # the tally is built from the store
    push_as(server, tok, ref, "2", T0, [20.0] * 15)
    push_as(server, tok, ref, "2", T0 + 3, [20.0] * 5)
    live = live_values(30)  # then fed by the pushes
    assert live["http_reqs"] == 30 and live["http_req_duration"] > 15
    assert operator_finish(server, tok, ref)[0] == 200
    final = {r["metric"]: r["value"] for r in server.run(tok, ref)["verdict"]["thresholds"]}
    assert final == live
