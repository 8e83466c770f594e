"""Several ``horde run --out cloud`` instances in one run of a real horde-insights process (issue 17).

The run is created as k6-operator creates it (``POST /v1/tests`` with ``instances`` and
``process_thresholds``) and each instance joins it through its push reference id, started with
``--instance I/N`` (the execution segment ``(I-1)/N:I/N`` and the tag ``instance_id=I``).
"""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
import threading
import time
import uuid
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from conftest import _horde_exe
from counts import json_counts, service_counts
from horde_insights.testing import api

SCRIPT = """
import asyncio
from horde import http, env

options = {"vus": int(env["N"]), "duration": env["DURATION"], "setupTimeout": env.get("SETUP_TIMEOUT", "30s"),
           "teardownTimeout": "30s"}

async def setup():
    if env.get("SETUP_FAILS"):
        raise RuntimeError("the target refused the login")
    res = await http.post(env["TARGET"] + "/setup")
    return {"token": res.json()["token"], "ids": [1, 2, 3]}

async def default(data):
    await http.get(f'{env["TARGET"]}/work?instance={env["I"]}&token={data["token"]}&ids={len(data["ids"])}')
    await asyncio.sleep(0.05)

async def teardown(data):
    await http.post(f'{env["TARGET"]}/teardown?instance={env["I"]}&token={data["token"]}')
"""

PLAIN_SCRIPT = """
import asyncio
from horde import http, env

options = {"vus": 2 * int(env["N"]), "duration": env["DURATION"]}

async def default(data):
    await http.get(f'{env["TARGET"]}/json?instance={env["I"]}')
    await asyncio.sleep(0.02)
"""


class CountingTarget:
    """The system under test: counts setup and teardown requests and records the token of every request."""

    def __init__(self, setup_delay: float = 0.0) -> None:
        self.setup_delay = setup_delay
        self.setups: list[str] = []
        self.teardowns: list[tuple[str, str, float]] = []  # (instance, token, time)
        self.work: list[tuple[str, str, float]] = []
        self.lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _reply(self, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _read(self) -> None:
                n = int(self.headers.get("Content-Length") or 0)
                if n:
                    self.rfile.read(n)

            def do_POST(self) -> None:
                self._read()
                url = urlsplit(self.path)
                q = {k: v[0] for k, v in parse_qs(url.query).items()}
                if url.path == "/setup":
                    time.sleep(owner.setup_delay)
                    token = uuid.uuid4().hex
                    with owner.lock:
                        owner.setups.append(token)
                    self._reply({"token": token})
                else:
                    with owner.lock:
                        owner.teardowns.append((q.get("instance", ""), q.get("token", ""), time.time()))
                    self._reply({})

            def do_GET(self) -> None:
                q = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
                with owner.lock:
                    owner.work.append((q.get("instance", ""), q.get("token", ""), time.time()))
                self._reply({})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> CountingTarget:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def horde_exe() -> str:
    exe = _horde_exe()
    if exe is None:
        pytest.fail("`horde run` (the engine) is not installed next to this plugin")
    return exe


def create_run(srv, token: str, instances: int, thresholds: dict | None = None) -> str:
    """The run as k6-operator creates it (pkg/cloud: CreateTestRun with instances and process_thresholds)."""
    body = {
        "name": "distributed",
        "vus": instances,
        "duration": 60,
        "thresholds": thresholds or {},
        "instances": instances,
        "process_thresholds": True,
    }
    status, reply = api(
        srv.url + "/v1/tests", token, "POST", json.dumps(body).encode(), {"Content-Type": "application/json"}
    )
    assert status == 200, reply
    return str(reply["reference_id"])


def start_instance(
    exe: str,
    srv,
    token: str,
    tmp_path: Path,
    i: int,
    n: int,
    ref: str | None,
    *,
    target_url: str,
    duration: str = "2s",
    script: str = SCRIPT,
    ref_var: str = "HORDE_CLOUD_PUSH_REF_ID",
    **env: str,
) -> subprocess.Popen:
    """``horde run`` as instance ``i`` of ``n``: ``--instance i/n`` (segment (i-1)/n:i/n, tag instance_id=i)."""
    path = tmp_path / "script.py"
    path.write_text(textwrap.dedent(script))
    e = {k: v for k, v in os.environ.items() if not k.startswith(("HORDE_CLOUD_", "K6_CLOUD_"))}
    e.update(HORDE_CLOUD_HOST=srv.url, HORDE_CLOUD_TOKEN=token, PYTHONUNBUFFERED="1", **env)
    if ref is not None:
        e[ref_var] = ref
    cmd = [
        exe,
        "run",
        str(path),
        "--out",
        "cloud",
        "--out",
        f"json={tmp_path / f'out-{i}.json'}",
        "--instance",
        f"{i}/{n}",
        "-e",
        f"N={n}",
        "-e",
        f"I={i}",
        "-e",
        f"TARGET={target_url}",
        "-e",
        f"DURATION={duration}",
        "--no-summary",
        "-q",
    ]
    for key in ("SETUP_FAILS", "SETUP_TIMEOUT"):
        if key in env:
            cmd += ["-e", f"{key}={env[key]}"]
    return subprocess.Popen(cmd, env=e, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(procs: list[subprocess.Popen], timeout: float = 120) -> list[tuple[int, str, str]]:
    """Wait for every process (hard timeout: a hang fails the test): (exit code, stdout, stderr) each."""
    results = []
    for p in procs:
        try:
            out, err = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            for q in procs:
                q.kill()
            raise
        results.append((p.returncode, out, err))
    return results


def progress(srv, token: str, ref: str) -> dict:
    status, body = srv.get(f"/v1/test-progress/{ref}", token)
    assert status == 200, body
    return body


def test_instances_push_into_the_given_run_and_report_their_own_end(server, tmp_path, horde_exe, target):
    tok = server.token()
    ref = create_run(server, tok, 2)
    procs = [
        start_instance(horde_exe, server, tok, tmp_path, 1, 2, ref, target_url=target.url, script=PLAIN_SCRIPT,
                       ref_var="K6_CLOUD_PUSH_REF_ID"),
        # HORDE_CLOUD_PUSH_REF_ID wins over k6's variable
        start_instance(horde_exe, server, tok, tmp_path, 2, 2, ref, target_url=target.url, script=PLAIN_SCRIPT,
                       K6_CLOUD_PUSH_REF_ID="999999"),
    ]  # fmt: skip
    results = finish(procs)
    for i, (code, out, err) in enumerate(results, 1):
        assert code == 0, err
        assert f"cloud: streaming results to {server.url}/runs/{ref} (instance {i})" in out
    runs = server.get("/api/v1/runs", tok)[1]["runs"]
    assert [str(r["id"]) for r in runs] == [ref]  # no run created by the instances
    p = progress(server, tok, ref)
    assert (p["instances"], sorted(p["instances_finished"]), p["stopped"]) == (2, ["1", "2"], False)
    detail = server.wait_state(tok, ref, ("finished",), within=10)
    assert detail["run"]["state"] == "finished"
    want: Counter = Counter()
    for i in (1, 2):
        want.update({k: v for k, v in json_counts(tmp_path / f"out-{i}.json").items() if not k.startswith("vus")})
    got = {k: v for k, v in service_counts(detail).items() if k in want}
    assert got == dict(want) and want["http_reqs"] > 0


@pytest.mark.parametrize("how", ["progress-poll", "push-error", "own-run"])
def test_a_stop_in_the_service_ends_every_instance_within_5_seconds(server, tmp_path, horde_exe, target, how):
    """The run page's Stop button (POST /api/v1/runs/{id}/stop) ends running ``horde run --out cloud``
    processes with k6's exit code 105: learnt by polling the run's progress, or (polling off) from k6's
    push error for a stopped run (HTTP 403, code 4), or for a run the output created itself."""
    tok = server.token()
    env = {
        "progress-poll": {"HORDE_CLOUD_PUSH_INTERVAL": "60s"},  # no push comes back refused: the poll must find it
        "push-error": {"HORDE_CLOUD_STOP_POLL_INTERVAL": "0"},
        "own-run": {},
    }[how]
    if how == "own-run":
        procs = [start_instance(horde_exe, server, tok, tmp_path, 1, 1, None, target_url=target.url,
                                script=PLAIN_SCRIPT, duration="60s")]  # fmt: skip
        end = time.monotonic() + 30
        while not server.get("/api/v1/runs", tok)[1]["runs"] and time.monotonic() < end:
            time.sleep(0.1)
        ref = str(server.get("/api/v1/runs", tok)[1]["runs"][0]["id"])
    else:
        ref = create_run(server, tok, 2)
        procs = [
            start_instance(horde_exe, server, tok, tmp_path, i, 2, ref, target_url=target.url, script=PLAIN_SCRIPT,
                           duration="60s", **env)
            for i in (1, 2)
        ]  # fmt: skip
    end = time.monotonic() + 30
    outs = [tmp_path / f"out-{i}.json" for i in range(1, len(procs) + 1)]
    while not all(o.exists() and "http_reqs" in o.read_text() for o in outs) and time.monotonic() < end:
        time.sleep(0.1)  # every instance is running iterations
    time.sleep(1.0)
    assert all(p.poll() is None for p in procs)
    status, body = api(f"{server.url}/api/v1/runs/{ref}/stop", tok, "POST", b"{}", {"Content-Type": "application/json"})
    assert status == 200, body
    stopped_at = time.monotonic()
    ended = []
    for p in procs:
        try:
            p.wait(timeout=60)
        except subprocess.TimeoutExpired:
            for q in procs:
                q.kill()
            raise
        ended.append(time.monotonic() - stopped_at)
    results = finish(procs)
    for code, _, err in results:
        assert code == 105, err
        assert f"the test run {ref} was stopped in {server.url}: " in err and "stopped by user" in err, err
        assert "Traceback" not in err
    print(f"{how}: ended {ended} s after the stop")
    assert max(ended) < 5.0, ended
    if how != "own-run":
        assert sorted(progress(server, tok, ref)["instances_finished"]) == ["1", "2"]
    run = server.run(tok, ref)["run"]
    assert (run["state"], run["run_status"]) == ("finished", 5)


def test_setup_runs_once_and_teardown_once_across_three_instances(server, tmp_path, horde_exe):
    tok = server.token()
    ref = create_run(server, tok, 3)
    with CountingTarget(setup_delay=1.0) as sut:
        # the others start first and wait for the first instance's setup data
        others = [
            start_instance(horde_exe, server, tok, tmp_path, i, 3, ref, target_url=sut.url, duration="3s")
            for i in (2, 3)
        ]
        time.sleep(1.0)
        first = start_instance(horde_exe, server, tok, tmp_path, 1, 3, ref, target_url=sut.url, duration="1s")
        results = finish([first, *others])
    for code, _, err in results:
        assert code == 0, err
    assert len(sut.setups) == 1  # setup() ran once, on the instance whose segment starts at 0
    token = sut.setups[0]
    assert {inst for inst, _, _ in sut.work} == {"1", "2", "3"}
    assert {tok_ for _, tok_, _ in sut.work} == {token}  # every instance got the same data
    assert [(inst, tok_) for inst, tok_, _ in sut.teardowns] == [("1", token)]  # teardown() once, on the first
    last_other = max(t for inst, _, t in sut.work if inst != "1")
    assert sut.teardowns[0][2] > last_other  # after the other instances finished
    assert sorted(progress(server, tok, ref)["instances_finished"]) == ["1", "2", "3"]


def test_a_setup_error_on_the_first_instance_fails_the_others(server, tmp_path, horde_exe):
    tok = server.token()
    ref = create_run(server, tok, 2)
    with CountingTarget() as sut:
        procs = [
            start_instance(horde_exe, server, tok, tmp_path, i, 2, ref, target_url=sut.url, SETUP_FAILS="1")
            for i in (2, 1)
        ]
        (other_code, _, other_err), (first_code, _, first_err) = finish(procs)
    assert first_code == 107, first_err
    assert other_code == 107, other_err
    assert "setup() failed on the first instance: RuntimeError: the target refused the login" in other_err
    assert "Traceback" not in other_err
    assert sut.work == [] and sut.teardowns == []


def test_setup_data_that_never_comes_ends_with_the_setup_timeout_exit_code(server, tmp_path, horde_exe):
    tok = server.token()
    ref = create_run(server, tok, 2)
    with CountingTarget() as sut:
        started = time.monotonic()
        ((code, _, err),) = finish(
            [start_instance(horde_exe, server, tok, tmp_path, 2, 2, ref, target_url=sut.url, SETUP_TIMEOUT="2s")], 60
        )
    assert code == 100, err
    assert "setup() data from the first instance did not arrive within 2 seconds (setupTimeout)" in err
    assert time.monotonic() - started < 30
    assert sut.work == []


def test_a_stop_while_waiting_for_setup_data_ends_the_instance_within_5_seconds(server, tmp_path, horde_exe):
    tok = server.token()
    ref = create_run(server, tok, 2)
    with CountingTarget() as sut:
        proc = start_instance(horde_exe, server, tok, tmp_path, 2, 2, ref, target_url=sut.url)
        time.sleep(3.0)  # started, waiting for the first instance's setup data
        assert proc.poll() is None
        status, body = api(
            f"{server.url}/api/v1/runs/{ref}/stop", tok, "POST", b"{}", {"Content-Type": "application/json"}
        )
        assert status == 200, body
        stopped_at = time.monotonic()
        ((code, _, err),) = finish([proc], 60)
        took = time.monotonic() - stopped_at
    assert code == 105, err
    assert took < 5.0, took
    assert sut.work == []
