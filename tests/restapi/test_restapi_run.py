"""``horde run`` with k6's REST API: --paused, stop through the API, --linger, setup/teardown calls, --address."""

from __future__ import annotations

import json
import signal
import socket
import time

import pytest
from apihelpers import HORDE, api, patch_status
from horde.testing.ports import free_port

HTTP_SCRIPT = """
from horde import env, http

options = {{"vus": 2, "duration": "{duration}"}}


async def default(data):
    await http.get(env["TARGET"] + "/")
"""

LIFECYCLE_SCRIPT = """
import json
from pathlib import Path

from horde import env, sleep

options = {{"vus": 1, {execution}}}


async def setup():
    Path(env["MARKS"], "setup").write_text("ran")
    return {{"a": 1}}


async def default(data):
    Path(env["MARKS"], "data").write_text(json.dumps(data))
    await sleep({pause})


async def teardown(data):
    Path(env["MARKS"], "teardown").write_text(json.dumps(data))
"""


def lifecycle(execution: str = '"duration": "30s"', pause: float = 0.1) -> str:
    return LIFECYCLE_SCRIPT.format(execution=execution, pause=pause)


@pytest.mark.parametrize("workers", ["1", "2"])
def test_paused_run_sends_nothing_until_resumed(horde_run, counting_target, workers):
    run = horde_run(
        HTTP_SCRIPT.format(duration="1s"), "--paused", "-q", "--workers", workers, "-e", f"TARGET={counting_target.url}"
    )
    run.wait_api()
    attrs = run.wait_status(lambda a: a["status"] == 4)
    assert attrs == {
        "status": 4,
        "paused": True,
        "vus": 0,
        "vus-max": 2,
        "stopped": False,
        "running": False,
        "tainted": False,
    }
    time.sleep(1.5)  # initialized and waiting: the target must not see a request
    assert counting_target.count == 0
    resumed_at = time.monotonic()
    code, _, doc = patch_status(run.port, paused=False)
    assert code == 200 and doc["data"]["attributes"]["paused"] is False
    assert run.wait(30) == 0, run.stderr()
    assert counting_target.count > 0 and counting_target.first_at >= resumed_at


def test_stop_through_the_api_ends_gracefully_with_outputs_flushed(horde_run, tmp_path):
    out, summary = tmp_path / "out.json", tmp_path / "summary.json"
    run = horde_run(
        lifecycle(),
        "--paused",
        "--workers",
        "1",
        "-o",
        f"json={out}",
        "--summary-export",
        str(summary),
        "-e",
        f"MARKS={tmp_path}",
    )
    run.wait_api()
    patch_status(run.port, paused=False)
    run.wait_status(lambda a: a["status"] == 7 and a["vus"] == 1)
    time.sleep(1.0)
    t0 = time.monotonic()
    code, _, doc = patch_status(run.port, stopped=True)
    assert code == 200 and doc["data"]["attributes"]["stopped"] is True
    assert run.wait(20) == 103
    assert time.monotonic() - t0 < 15
    assert "test run stopped from REST API" in run.stderr()
    assert json.loads((tmp_path / "teardown").read_text()) == {"a": 1}  # teardown still runs, as in k6
    records = [json.loads(line) for line in out.read_text().splitlines()]  # every line complete
    iterations = sum(r["data"]["value"] for r in records if r["type"] == "Point" and r["metric"] == "iterations")
    exported = json.loads(summary.read_text())["metrics"]["iterations"]["count"]
    assert iterations == exported > 0


def test_stop_while_paused_runs_nothing_and_lingers(horde_run, tmp_path):
    run = horde_run(lifecycle(), "--paused", "--linger", "-q", "--workers", "1", "-e", f"MARKS={tmp_path}")
    run.wait_api()
    code, _, doc = patch_status(run.port, stopped=True)
    assert code == 200 and doc["data"]["attributes"]["stopped"] is True
    attrs = run.wait_status(lambda a: a["status"] == 10)
    assert attrs == {
        "status": 10,
        "paused": True,
        "vus": 0,
        "vus-max": 1,
        "stopped": True,
        "running": False,
        "tainted": False,
    }
    time.sleep(0.5)
    assert run.p.poll() is None  # --linger: still up
    run.signal(signal.SIGINT)
    assert run.wait(15) == 103
    assert not (tmp_path / "setup").exists() and not (tmp_path / "teardown").exists()


def test_linger_keeps_the_api_after_the_end_until_a_signal(horde_run, tmp_path):
    run = horde_run(
        lifecycle('"iterations": 1', pause=0), "--linger", "--no-teardown", "--workers", "1", "-e", f"MARKS={tmp_path}"
    )
    run.wait_api()
    attrs = run.wait_status(lambda a: a["status"] == 9)
    assert attrs == {
        "status": 9,
        "paused": False,
        "vus": 0,
        "vus-max": 1,
        "stopped": False,
        "running": False,
        "tainted": False,
    }
    time.sleep(1.0)
    assert run.p.poll() is None
    code, _, doc = api(run.port, path="/v1/metrics/iterations")
    assert code == 200 and doc["data"]["attributes"]["sample"]["count"] == 1
    assert "waiting for Ctrl+C" in run.stdout()
    assert not (tmp_path / "teardown").exists()
    code, _, body = api(run.port, "POST", "/v1/teardown")  # k6-operator's teardown call while lingering
    assert (code, body) == (200, b"")
    assert json.loads((tmp_path / "teardown").read_text()) == {"a": 1}
    run.signal(signal.SIGINT)
    assert run.wait(15) == 0, run.stderr()
    assert "TOTAL RESULTS" in run.stdout()


def test_setup_through_the_api_with_no_setup(horde_run, tmp_path):
    run = horde_run(
        lifecycle('"iterations": 1', pause=0),
        "--paused",
        "--no-setup",
        "--no-teardown",
        "-q",
        "--workers",
        "1",
        "-e",
        f"MARKS={tmp_path}",
    )
    run.wait_api()
    assert api(run.port, path="/v1/setup")[2]["data"]["attributes"] == {}
    code, ctype, doc = api(run.port, "POST", "/v1/setup")
    assert (code, ctype) == (200, "application/json") and doc["data"]["attributes"] == {"data": {"a": 1}}
    assert (tmp_path / "setup").read_text() == "ran"
    code, _, doc = api(run.port, "PUT", "/v1/setup", {"x": [1, 2]})
    assert code == 200 and doc["data"]["attributes"] == {"data": {"x": [1, 2]}}
    (tmp_path / "setup").unlink()
    patch_status(run.port, paused=False)
    assert run.wait(20) == 0, run.stderr()
    assert json.loads((tmp_path / "data").read_text()) == {"x": [1, 2]}  # the VUs get the data the API set
    assert not (tmp_path / "setup").exists() and not (tmp_path / "teardown").exists()


@pytest.mark.parametrize("workers", ["1", "2"])
def test_ctrl_c_while_paused_ends_cleanly(horde_run, tmp_path, workers):
    body = lifecycle()
    run = horde_run(body, "--paused", "-u", "2", "--workers", workers, "-e", f"MARKS={tmp_path}")
    run.wait_api()
    run.wait_status(lambda a: a["status"] == 4)
    t0 = time.monotonic()
    run.signal(signal.SIGINT)
    assert run.wait(15) == 105
    assert time.monotonic() - t0 < 2.5  # the waiting workers stop when told, not after the stop grace
    assert "Traceback" not in run.stderr() and "did not stop" not in run.stderr(), run.stderr()
    assert "TOTAL RESULTS" in run.stdout()
    assert not (tmp_path / "setup").exists()


def test_workers_start_before_the_pause_and_get_the_setup_data(horde_run, tmp_path):
    run = horde_run(
        lifecycle('"iterations": 4', pause=0), "--paused", "-u", "2", "--workers", "2", "-q", "-e", f"MARKS={tmp_path}"
    )
    run.wait_api()
    run.wait_status(lambda a: a["status"] == 4)
    assert not (tmp_path / "setup").exists()
    patch_status(run.port, paused=False)
    assert run.wait(30) == 0, run.stderr()
    assert json.loads((tmp_path / "data").read_text()) == {"a": 1}  # setup() after the resume, its data to the workers
    assert json.loads((tmp_path / "teardown").read_text()) == {"a": 1}


def test_a_failing_setup_ends_waiting_workers_at_once(horde_run, tmp_path):
    body = lifecycle().replace('Path(env["MARKS"], "setup").write_text("ran")', 'raise RuntimeError("no setup today")')
    run = horde_run(body, "-u", "2", "--workers", "2", "-q", "-e", f"MARKS={tmp_path}")
    assert run.wait(30) == 107
    assert "no setup today" in run.stderr() and "did not stop" not in run.stderr(), run.stderr()


def _hold(port: int) -> socket.socket:
    s = socket.socket()
    s.bind(("127.0.0.1", port))
    s.listen()
    return s


def _quick_script(tmp_path):
    script = tmp_path / "quick.py"
    script.write_text("async def default(data):\n    pass\n")
    return script


def test_a_taken_address_is_one_line_and_exit_106(tmp_path):
    import subprocess

    port = free_port()
    with _hold(port):
        r = subprocess.run(
            [HORDE, "run", _quick_script(tmp_path), "-q", "-i", "1", "--address", f"127.0.0.1:{port}"],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert r.returncode == 106
    assert (
        r.stderr == f"error: cannot start the REST API server on 127.0.0.1:{port}: address already in use (--address)\n"
    )
    r = subprocess.run(
        [HORDE, "run", _quick_script(tmp_path), "-q", "-i", "1", "--address", "nowhere"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 106 and r.stderr.count("\n") == 1 and "missing port" in r.stderr


def test_the_default_address_taken_or_off_does_not_stop_the_run(tmp_path):
    import subprocess

    try:
        held = _hold(6565)
    except OSError:  # someone else holds it: the same situation
        held = None
    try:
        for extra in ([], ["--address", ""]):
            r = subprocess.run(
                [HORDE, "run", _quick_script(tmp_path), "-q", "-i", "1", "--no-summary", *extra],
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert (r.returncode, r.stderr) == (0, ""), extra
    finally:
        if held is not None:
            held.close()


def test_client_commands(horde_run, tmp_path):
    import subprocess

    run = horde_run(lifecycle(), "--paused", "-q", "--workers", "1", "-e", f"MARKS={tmp_path}")
    run.wait_api()
    run.wait_status(lambda a: a["status"] == 4)
    a = f"127.0.0.1:{run.port}"

    def horde(*args):
        return subprocess.run([HORDE, *args, "-a", a], capture_output=True, text=True, timeout=30)

    r = horde("status")
    assert r.returncode == 0
    assert (
        r.stdout
        == 'status: 4\npaused: "true"\nvus: "0"\nvus-max: "1"\nstopped: false\nrunning: false\ntainted: false\n'
    )
    r = horde("pause")
    assert (r.returncode, r.stdout, r.stderr) == (255, "", "error: Pause error: execution is already paused\n")
    r = horde("scale", "-u", "3")
    assert r.returncode == 255
    assert (
        r.stderr
        == "error: Execution config error: an externally-controlled executor needs to be configured for live configuration updates\n"
    )
    r = horde("resume")
    assert r.returncode == 0 and 'paused: "false"\n' in r.stdout
    run.wait_status(lambda s: s["status"] == 7)
    time.sleep(1.2)
    r = horde("stats")
    assert r.returncode == 0 and "- name: vus\n  type:\n    type: gauge\n    valid: true\n" in r.stdout
    r = horde("pause")
    assert r.returncode == 255
    assert (
        r.stderr
        == "error: Pause error: constant-vus executor 'default' doesn't support pause and resume operations after its start\n"
    )
    patch_status(run.port, stopped=True)
    assert run.wait(20) == 103
    r = horde("status")
    assert r.returncode == 255 and r.stderr.startswith("error: GET http://") and r.stderr.count("\n") == 1


def test_paused_and_no_setup_from_the_environment_and_options(horde_run, tmp_path):
    body = lifecycle('"iterations": 1, "noSetup": True, "noTeardown": True', pause=0)
    run = horde_run(body, "-q", "--workers", "1", "-e", f"MARKS={tmp_path}", env={"HORDE_PAUSED": "true"})
    run.wait_api()
    assert run.wait_status(lambda a: a["status"] == 4)["paused"] is True
    patch_status(run.port, paused=False)
    assert run.wait(20) == 0, run.stderr()
    assert (tmp_path / "data").read_text() == "null"
    assert not (tmp_path / "setup").exists() and not (tmp_path / "teardown").exists()
