"""Issue 17's end-to-end test: one distributed run as k6-operator runs it, with 4 ``horde run`` instances
and one real k6 v1.1.0 instance pushing into one Insights run (SQLite and PostgreSQL).

The run is created with the exact call k6-operator makes (``POST /v1/tests`` with ``instances``,
``process_thresholds`` and the thresholds); the horde instances join it with ``--instance I/5`` and a push
reference id (HORDE_CLOUD_PUSH_REF_ID or k6's K6_CLOUD_PUSH_REF_ID), real k6 with the execution segment
4/5:1 and ``--tag instance_id=5``. The merged results are checked against the instances' own JSON outputs.
The helpers of plugins/out-cloud/tests/test_distributed.py cover each piece with horde instances alone.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from horde.testing.target import TargetServer, start_target
from horde_insights.testing import InsightsProcess, api
from test_multirun import cli, exact_quantile, metric, operator_create, operator_finish

N = 5
ITERATIONS = 200  # 40 per instance: shared-iterations split by the execution segments
PROC_TIMEOUT = 120  # hard bound on every subprocess
SILENCE_TIMEOUT = 10  # the service's --timeout in the SIGKILL test

HISTOGRAM_REL_ERROR = 1 / 128  # k6's log-linear buckets: under 0.8 % wide (horde_insights.histogram)
HISTOGRAM_ABS_ERROR = 0.001  # values are upscaled to µs and ceiled: 1 µs

HORDE_SCRIPT = """
import random
import uuid

from horde import http, env

options = {"scenarios": {"main": {"executor": "shared-iterations", "vus": 10, "iterations": %(iterations)d,
                                  "maxDuration": "60s"}}}


async def setup():
    res = await http.post(env["TARGET"] + "/echo", uuid.uuid4().hex)  # the only request to /echo
    return {"token": res.json()["body"]}


async def default(data):
    # instances differ (1-10 ms on the first, 1-40 ms on the fourth): a mean of their p95s is not the p95 of all
    await http.get(f'{env["TARGET"]}/delay/{random.randint(1, 10 * int(env["I"]))}?token={data["token"]}')
""" % {"iterations": ITERATIONS}

K6_SCRIPT = """
import http from 'k6/http';
export const options = { scenarios: { main: { executor: 'shared-iterations', vus: 10, iterations: %(iterations)d,
                                              maxDuration: '60s' } } };
export default function () { http.get(`${__ENV.TARGET}/delay/${1 + Math.floor(Math.random() * 60)}`); }
""" % {"iterations": ITERATIONS}

RATE_SCRIPT = """
from horde import http, env

options = {"scenarios": {"main": {"executor": "constant-arrival-rate", "rate": int(env["RATE"]), "timeUnit": "1s",
                                  "duration": "60s", "preAllocatedVUs": 12}}}


async def default(data):
    await http.get(env["TARGET"] + "/json")
"""


@pytest.fixture
def sut() -> Iterator[TargetServer]:
    """This test's own target: its ``paths`` counter tells how often setup()'s path was hit."""
    server = start_target()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def horde_exe() -> str:
    exe = shutil.which("horde") or os.path.join(os.path.dirname(sys.executable), "horde")
    if not os.path.exists(exe):
        pytest.fail("`horde run` (the engine) is not installed next to horde-insights")
    return exe


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HORDE_CLOUD_", "K6_CLOUD_", "HORDE_INSIGHTS_"))}
    env.update(PYTHONUNBUFFERED="1", K6_NO_USAGE_REPORT="true", **extra)
    return env


def horde_instance(
    exe: str,
    srv: InsightsProcess,
    token: str,
    ref: str,
    tmp_path: Path,
    i: int,
    n: int,
    script: str,
    *,
    ref_var: str = "HORDE_CLOUD_PUSH_REF_ID",
    args: tuple[str, ...] = (),
    **env: str,
) -> subprocess.Popen[str]:
    """``horde run --instance i/n -o cloud -o json=out-i.json`` pushing into run ``ref`` (k6's cloud env)."""
    path = tmp_path / f"script-{i}.py"
    path.write_text(textwrap.dedent(script))
    cmd = [exe, "run", str(path), "-o", "cloud", "-o", f"json={tmp_path / f'out-{i}.json'}",
           "--instance", f"{i}/{n}", "-e", f"I={i}", "--workers", "1", "--no-summary", "-q", *args]  # fmt: skip
    e = clean_env(K6_CLOUD_HOST=srv.url, K6_CLOUD_TOKEN=token, **env)
    e[ref_var] = ref
    return subprocess.Popen(cmd, env=e, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def k6_instance(
    k6_bin: str, srv: InsightsProcess, token: str, ref: str, tmp_path: Path, target: str
) -> subprocess.Popen[str]:
    """Real k6 v1.1.0 as the last of 5 instances: segment 4/5:1 of k6-operator's sequence, instance_id=5."""
    path = tmp_path / "script-5.js"
    path.write_text(K6_SCRIPT)
    cmd = [k6_bin, "run", "--no-color", "-q", "--execution-segment", "4/5:1",
           "--execution-segment-sequence", "0,1/5,2/5,3/5,4/5,1", "--tag", "instance_id=5",
           "-o", "cloud", "-o", f"json={tmp_path / 'out-5.json'}", "-e", f"TARGET={target}", str(path)]  # fmt: skip
    e = clean_env(K6_CLOUD_HOST=srv.url, K6_CLOUD_TOKEN=token, K6_CLOUD_PUSH_REF_ID=ref)
    return subprocess.Popen(cmd, env=e, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def communicate_all(procs: list[subprocess.Popen[str]], timeout: float = PROC_TIMEOUT) -> list[tuple[int, str]]:
    """Wait for every process (a hang kills them all and fails): (exit code, stdout + stderr) each."""
    out = []
    try:
        for p in procs:
            o, e = p.communicate(timeout=timeout)
            out.append((p.returncode, o + e))
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait(10)
    return out


def json_samples(path: Path) -> tuple[int, list[float], list[str]]:
    """From a k6/horde JSON output: the http_reqs sum, every http_req_duration and every request's URL."""
    reqs = 0
    durations: list[float] = []
    urls: list[str] = []
    for line in path.read_text().splitlines():
        rec = json.loads(line)
        if rec["type"] != "Point":
            continue
        if rec["metric"] == "http_reqs":
            reqs += int(rec["data"]["value"])
            urls.append(rec["data"]["tags"].get("url", ""))
        elif rec["metric"] == "http_req_duration":
            durations.append(float(rec["data"]["value"]))
    return reqs, durations, urls


def state_progress(srv: InsightsProcess, token: str, ref: str) -> dict:
    status, body = api(f"{srv.url}/v1/test-progress/{ref}", token)
    assert status == 200, body
    return body


def test_four_horde_instances_and_real_k6_make_one_run_with_merged_results_and_one_verdict(
    server, sut, horde_exe, k6_bin, tmp_path
):
    tok = server.token()
    thresholds = {"http_reqs": ["count<100"], "http_req_duration": ["p(95)<5000"]}
    ref = operator_create(server, tok, thresholds, instances=N, name="e2e")
    procs = [
        horde_instance(horde_exe, server, tok, ref, tmp_path, i, N, HORDE_SCRIPT, args=("-e", f"TARGET={sut.url}"),
                       ref_var="HORDE_CLOUD_PUSH_REF_ID" if i % 2 else "K6_CLOUD_PUSH_REF_ID")
        for i in range(1, N)
    ]  # fmt: skip
    procs.append(k6_instance(k6_bin, server, tok, ref, tmp_path, sut.url))
    results = communicate_all(procs)
    for i, (code, text) in enumerate(results, 1):
        assert code == 0, f"instance {i}: {text}"
        assert "Traceback" not in text

    per_instance = {str(i): json_samples(tmp_path / f"out-{i}.json") for i in range(1, N + 1)}
    total = sum(reqs for reqs, _, _ in per_instance.values())
    every = [d for _, durations, _ in per_instance.values() for d in durations]

    # setup() ran once, on instance 1, and instances 1-4 all iterated with its data; k6 never hit /echo
    assert sut.paths["/echo"] == 1, f"setup() ran {sut.paths['/echo']} times"
    tokens = {
        i: {u.partition("?token=")[2] for u in urls if "/delay/" in u} for i, (_, _, urls) in per_instance.items()
    }
    assert all(tokens[str(i)] for i in range(1, N)), tokens
    seen = set().union(*(tokens[str(i)] for i in range(1, N)))
    assert len(seen) == 1 and len(next(iter(seen))) == 32, tokens
    assert tokens["5"] == {""}  # real k6 ran its own segment, without horde's setup data

    # the horde instances reported their end; k6 sends none with a push reference id: still running
    progress = state_progress(server, tok, ref)
    assert (progress["instances"], sorted(progress["instances_finished"])) == (N, ["1", "2", "3", "4"])
    detail = server.run(tok, ref)
    assert detail["run"]["state"] == "running", detail["run"]

    # 1. one request count: the sum of the five JSON outputs, and the per-instance breakdown
    assert detail["run"]["requests"] == total == ITERATIONS + 1, per_instance.keys()
    breakdown = {i["instance_id"]: metric(i["metrics"], "http_reqs")["count"] for i in detail["instances"]}
    assert breakdown == {i: reqs for i, (reqs, _, _) in per_instance.items()}
    assert all(count < 100 for count in breakdown.values())  # each instance alone passes count<100

    # 2. the merged p95 is the p95 over every request, within the histogram's bucket width
    trend = metric(detail["metrics"], "http_req_duration")
    assert trend["count"] == len(every) == total
    ordered = sorted(every)
    rank = 0.95 * (len(ordered) - 1)
    lo, hi = ordered[int(rank)], ordered[min(int(rank) + 1, len(ordered) - 1)]
    exact = exact_quantile(every, 0.95)
    print(f"requests {total} {sorted(breakdown.items())}; p95 exact {exact:.3f} ms merged {trend['p95']:.3f} ms")
    assert lo * (1 - HISTOGRAM_REL_ERROR) - HISTOGRAM_ABS_ERROR <= trend["p95"]
    assert trend["p95"] <= hi * (1 + HISTOGRAM_REL_ERROR) + HISTOGRAM_ABS_ERROR
    per_p95 = [metric(i["metrics"], "http_req_duration")["p95"] for i in detail["instances"]]
    print(f"mean of the instances' p95s {sum(per_p95) / N:.3f} ms")
    # what a mean of the instances' p95s would have said: wrong by more than the merge's own error (by how much
    # depends on each instance's latencies, which a loaded machine stretches unevenly)
    assert abs(sum(per_p95) / N - exact) > 4 * (exact * HISTOGRAM_REL_ERROR + HISTOGRAM_ABS_ERROR)

    # 3. the operator finishes the run; the threshold crossed only on merged data: wait exits 99
    waiter = subprocess.Popen(
        [sys.executable, "-m", "horde_insights", "wait", ref, "--host", server.url, "--token", tok,
         "--timeout", "60s", "--interval", "0.2s"],
        env=clean_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        time.sleep(0.5)
        assert operator_finish(server, tok, ref) == (200, {})
        out, err = waiter.communicate(timeout=60)
    finally:
        if waiter.poll() is None:
            waiter.kill()
            waiter.wait(10)
    assert waiter.returncode == 99, out + err
    assert "threshold crossed: http_reqs: count<100" in out
    detail = server.run(tok, ref)
    assert (detail["run"]["state"], detail["run"]["passed"]) == ("finished", False)
    assert {(t["metric"], t["ok"]) for t in detail["thresholds"]} == {("http_reqs", False), ("http_req_duration", True)}
    assert detail["run"]["requests"] == total


def _requests(instance: dict) -> float:
    """The http_reqs count an instance's metrics show so far (0 before its first request)."""
    return next((e["count"] for e in instance["metrics"] if e["metric"] == "http_reqs"), 0)


def test_a_sigkilled_horde_instance_times_the_run_out_naming_it(make_server, sut, horde_exe, tmp_path):
    # the service also times out a run that hears nothing for the timeout after its creation: the timeout
    # must cover the instances' start (a few seconds on a busy machine), and stays short to keep the test short
    srv = make_server(timeout=SILENCE_TIMEOUT)
    tok = srv.token()
    ref = operator_create(srv, tok, {}, instances=2, name="killed")
    procs = [
        horde_instance(horde_exe, srv, tok, ref, tmp_path, i, 2, RATE_SCRIPT,
                       args=("-e", f"TARGET={sut.url}", "-e", "RATE=20"), HORDE_CLOUD_PUSH_INTERVAL="0.5")
        for i in (1, 2)
    ]  # fmt: skip
    try:
        end = time.monotonic() + 60
        while time.monotonic() < end:
            instances = srv.run(tok, ref)["instances"]
            # an instance is listed from its first push, which may hold no request yet
            if len(instances) == 2 and all(_requests(i) > 0 for i in instances):
                break
            assert all(p.poll() is None for p in procs), communicate_all(procs)
            assert srv.run(tok, ref)["run"]["state"] in ("created", "running")
            time.sleep(0.2)
        else:
            pytest.fail("the instances sent no data within 60 s")
        procs[1].send_signal(signal.SIGKILL)
        killed_at = time.monotonic()
        detail = srv.wait_state(tok, ref, ("timed_out",), within=30)
        print(f"timed out {time.monotonic() - killed_at:.1f} s after the SIGKILL (service timeout {SILENCE_TIMEOUT} s)")
        assert detail["run"]["state"] == "timed_out", detail["run"]
        assert detail["timed_out_instances"] == ["2"], detail["run"]
        assert "instance 2 silent" in detail["abort_reason"]
        assert {i["instance_id"]: i["state"] for i in detail["instances"]}["2"] == "timed_out"
        kept = detail["run"]["requests"]
        assert kept >= sum(metric(i["metrics"], "http_reqs")["count"] for i in detail["instances"]) > 0
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
        communicate_all(procs, 60)
    assert srv.run(tok, ref)["run"]["requests"] >= kept  # every sample kept, the survivor's last ones too
    out = cli("wait", ref, "--host", srv.url, "--token", tok, "--timeout", "30s")
    assert out.returncode == 97, out.stdout + out.stderr
    assert "instance 2 silent" in out.stdout


def test_abort_on_fail_on_merged_data_stops_every_horde_instance_within_5_seconds(server, sut, horde_exe, tmp_path):
    tok = server.token()
    # 60 requests/s over 3 instances: the union crosses count<200 after ~3.3 s, one instance alone after ~10 s
    thresholds = {"http_reqs": [{"threshold": "count<200", "abortOnFail": True}]}
    ref = operator_create(server, tok, thresholds, instances=3, name="abort")
    procs = [
        horde_instance(horde_exe, server, tok, ref, tmp_path, i, 3, RATE_SCRIPT,
                       args=("-e", f"TARGET={sut.url}", "-e", "RATE=60"))
        for i in (1, 2, 3)
    ]  # fmt: skip
    try:
        end = time.monotonic() + 60
        while time.monotonic() < end and server.run(tok, ref)["run"]["state"] != "aborted_threshold":
            assert all(p.poll() is None for p in procs), communicate_all(procs)
            time.sleep(0.1)
        aborted_at = time.monotonic()
        detail = server.run(tok, ref)
        assert detail["run"]["state"] == "aborted_threshold", detail["run"]
        counts = {i["instance_id"]: metric(i["metrics"], "http_reqs")["count"] for i in detail["instances"]}
        assert sorted(counts) == ["1", "2", "3"] and all(c < 200 for c in counts.values()), counts
        ended = []
        for p in procs:
            p.wait(timeout=60)
            ended.append(time.monotonic() - aborted_at)
    finally:
        results = communicate_all(procs, 60)
    print(f"abortOnFail: per-instance counts at the abort {counts}; instances ended {ended} s after it")
    for code, text in results:
        assert code == 105, text  # k6's cloud output on a run stopped in the service
        assert f"the test run {ref} was stopped in {server.url}" in text and "count<200" in text, text
        assert "Traceback" not in text
    assert max(ended) < 5.0, ended
    assert "threshold 'count<200' on http_reqs crossed" in server.run(tok, ref)["abort_reason"]
    out = cli("wait", ref, "--host", server.url, "--token", tok, "--timeout", "30s")
    assert out.returncode == 99, out.stdout + out.stderr


def test_a_run_created_as_k6_operator_creates_it_that_no_instance_joins_times_out_saying_so(make_server):
    """The operator created the run but no pod ever pushed: Timed out after ``--start-timeout`` with a reason,
    and ``wait`` says it."""
    srv = make_server(timeout=1, args=("--start-timeout", "1s"))
    tok = srv.token()
    ref = operator_create(srv, tok, {"http_reqs": ["count>0"]}, instances=N, name="never joined")
    detail = srv.wait_state(tok, ref, ("timed_out",), within=30)
    assert detail["run"]["state"] == "timed_out", detail["run"]
    assert (detail["timed_out_instances"], detail["abort_reason"]) == ([], "no data within 1 s of its creation")
    out = cli("wait", ref, "--host", srv.url, "--token", tok, "--timeout", "30s")
    assert out.returncode == 97, out.stdout + out.stderr
    assert "reason: no data within 1 s of its creation" in out.stdout
