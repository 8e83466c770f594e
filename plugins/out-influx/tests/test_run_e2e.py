"""``horde run`` end to end: every sample of a real run reaches influxd, counted against the json output.

Needs the engine (``horde run``); until it is in the core this test skips
with that reason.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

HORDE = [sys.executable, "-c", "import sys; from horde.cli import main; sys.exit(main())"]

SCRIPT = """
from horde import http, check, env

options = {"vus": 4, "duration": "2s"}

async def default(data):
    res = await http.get(env["TARGET"] + "/")
    check(res, {"status is 200": lambda r: r.status == 200})
"""


@pytest.fixture
def target():
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def horde_run(script_text: str, target: str, outs: list[str], tmp_path, during=None, extra=(), env_extra=None):
    """Run ``horde run`` on ``script_text`` with ``outs``; call ``during()`` while it runs; return the process."""
    script = tmp_path / "script.py"
    script.write_text(script_text)
    env = dict(
        os.environ,
        HORDE_INFLUXDB_PUSH_INTERVAL="200ms",
        HORDE_INFLUXDB_SPOOL_DIR=str(tmp_path),
        HORDE_INFLUXDB_RETRY_INTERVAL="100ms",
        HORDE_INFLUXDB_MAX_RETRY_INTERVAL="500ms",
    )
    env.update(env_extra or {})
    args = HORDE + ["run", str(script), "-e", f"TARGET={target}", "--tag", "testid=e2e", "--quiet", *extra]
    if "--summary" in args:
        args.remove("--summary")
    else:
        args.append("--no-summary")
    for o in outs:
        args += ["--out", o]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path)
    try:
        if during is not None:
            during()
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return subprocess.CompletedProcess(args, proc.returncode, stdout, stderr)


def json_points(path) -> dict[str, int]:
    points: dict[str, int] = {}
    for line in path.read_text().splitlines():
        rec = json.loads(line)
        if rec["type"] == "Point":
            points[rec["metric"]] = points.get(rec["metric"], 0) + 1
    return points


def test_horde_run_every_sample_reaches_influxdb(influxd, target, tmp_path):
    out_json = tmp_path / "out.json"
    proc = horde_run(SCRIPT, target, [f"influxdb={influxd.addr}/e2e", f"json={out_json}"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    points = json_points(out_json)
    assert points["http_reqs"] > 0
    assert influxd.count("http_reqs", "e2e") == points["http_reqs"]
    stored = {s["name"]: int(s["values"][0][1]) for s in influxd.rows('SELECT count("value") FROM /.*/', "e2e")}
    assert stored == points
    # the schema of k6's InfluxDB output for the same kind of script (see fixtures/k6_sample.lp)
    assert influxd.tag_keys("e2e")["http_reqs"] == {
        "expected_response",
        "method",
        "name",
        "proto",
        "scenario",
        "status",
        "testid",
    }
    assert influxd.field_keys("e2e")["http_reqs"] == {"url": "string", "value": "float"}
    assert {
        "http_reqs",
        "http_req_duration",
        "http_req_failed",
        "iterations",
        "iteration_duration",
        "data_sent",
        "data_received",
        "checks",
        "vus",
        "vus_max",
    } <= influxd.measurements("e2e")
    assert "not delivered" not in proc.stderr.lower()


def test_horde_run_with_influxd_restarted_mid_run_loses_nothing(influxd, target, tmp_path):
    out_json = tmp_path / "out.json"

    def outage() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # until the run's first points are stored
            if "e2e" in str(influxd.query("SHOW DATABASES")[1]) and influxd.count("http_reqs", "e2e"):
                break
            time.sleep(0.05)
        influxd.stop()
        time.sleep(1.5)
        influxd.start()

    script = SCRIPT.replace('"2s"', '"4s"')
    proc = horde_run(
        script, target, [f"influxdb={influxd.addr}/e2e", f"json={out_json}"], tmp_path, outage, extra=["--summary"]
    )
    assert proc.returncode == 0, proc.stderr
    points = json_points(out_json)
    assert influxd.count("http_reqs", "e2e") == points["http_reqs"] > 0
    stored = {s["name"]: int(s["values"][0][1]) for s in influxd.rows('SELECT count("value") FROM /.*/', "e2e")}
    assert stored == points
    # the end-of-test summary reports the delivery: every point written, some retried, none undelivered
    line = next(l for l in proc.stdout.splitlines() if l.strip().startswith("InfluxDBv1"))
    counts = dict(kv.split("=") for kv in line.split(": ", 1)[1].split() if "=" in kv)
    assert int(counts["written"]) == sum(points.values()) and int(counts["retried"]) > 0
    assert counts["dropped"] == "0" and int(counts["spilled"]) == 0
    assert "errors in a row" in proc.stderr and "restored after" in proc.stderr
    assert "0 undelivered" in proc.stderr


def test_horde_run_json_config_and_env(influxd, target, tmp_path):
    config = tmp_path / "config.json"
    config.write_text(
        json.dumps(
            {
                "collectors": {
                    "influxdb": {
                        "addr": influxd.addr,
                        "db": "fromjson",
                        "tagsAsFields": ["url", "status:int"],
                        "pushInterval": 300,
                    }
                }
            }
        )
    )
    proc = horde_run(
        SCRIPT.replace('"2s"', '"1s"'),
        target,
        ["influxdb"],
        tmp_path,
        extra=["--config", str(config)],
        env_extra={"HORDE_INFLUXDB_DB": "fromenv"},
    )
    assert proc.returncode == 0, proc.stderr
    assert influxd.count("http_reqs", "fromenv") > 0
    assert influxd.field_keys("fromenv")["http_reqs"] == {"status": "integer", "url": "string", "value": "float"}
    assert "status" not in influxd.tag_keys("fromenv")["http_reqs"]
