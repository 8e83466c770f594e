"""End to end: `horde run` with the csv output next to the json output.

Every CSV row must be one JSON Point (same order, metric, time, value, tags,
metadata); the header is k6's; all six time formats, gzip and stdout; and a
Ctrl-C leaves a complete, valid file.
"""

from __future__ import annotations

import contextlib
import gzip
import http.server
import json
import os
import pathlib
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone

import pytest
from horde.metrics import DEFAULT_SYSTEM_TAGS, METADATA_SYSTEM_TAGS

HORDE = pathlib.Path(sys.executable).with_name("horde")
HEADER = (
    "metric_name,timestamp,metric_value,check,error,error_code,expected_response,group,method,name,proto,"
    "scenario,service,status,subproto,tls_version,url,extra_tags,metadata"
)
COLUMNS = sorted(DEFAULT_SYSTEM_TAGS - METADATA_SYSTEM_TAGS)
FORMATS = ("unix", "unix_milli", "unix_micro", "unix_nano", "rfc3339", "rfc3339_nano")

SCRIPT = """
from horde import http, check, env
options = {"vus": 2, "iterations": 10}

async def default(data):
    res = await http.get(env["TARGET"] + "/")
    check(res, {"status is 200": lambda r: r.status == 200})
    await http.get(env["TARGET"] + "/missing?a=1,2")
"""

LONG_SCRIPT = """
from horde import http, sleep, env
options = {"vus": 2, "duration": "60s"}

async def default(data):
    await http.get(env["TARGET"] + "/")
    await sleep(0.01)
"""


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802
        body = b"ok" if self.path == "/" else b"missing"
        self.send_response(200 if self.path == "/" else 404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def target():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _env():
    return {**os.environ, "TZ": "UTC", "PYTHONDONTWRITEBYTECODE": "1"}


def horde_run(tmp_path, script, target, *outs, timeout=120):
    path = tmp_path / "script.py"
    path.write_text(script)
    cmd = [HORDE, "run", str(path), "-e", f"TARGET={target}", "--tag", "testid=e2e", "--no-summary"]
    for o in outs:
        cmd += ["--out", o]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=tmp_path, env=_env())


def points(path):
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rt") as f:
        return [r for r in map(json.loads, f) if r["type"] == "Point"]


def csv_lines(path):
    data = pathlib.Path(path).read_bytes()
    if str(path).endswith(".gz"):
        data = gzip.decompress(data)
    assert b"\r\n" not in data
    return data.decode().split("\n")


def _ns(rfc3339_nano: str) -> int:
    base, _, frac = rfc3339_nano.rstrip("Z").partition(".")
    secs = int(datetime.fromisoformat(base).replace(tzinfo=timezone.utc).timestamp())
    return secs * 1_000_000_000 + int(frac.ljust(9, "0") or 0)


def expected_time(fmt: str, json_time: str) -> str:
    ns = _ns(json_time)
    return {
        "unix": str(ns // 10**9),
        "unix_milli": str(ns // 10**6),
        "unix_micro": str(ns // 10**3),
        "unix_nano": str(ns),
        "rfc3339": json_time.split(".")[0].rstrip("Z") + "Z",
        "rfc3339_nano": json_time,
    }[fmt]


def assert_rows_match(lines, pts, fmt="unix"):
    import csv

    assert lines[0] == HEADER and lines[-1] == ""
    rows = list(csv.reader(lines[1:-1]))
    assert len(rows) == len(pts) > 0
    for row, p in zip(rows, pts):
        d = p["data"]
        tags = d["tags"]
        assert row[0] == p["metric"]
        assert row[1] == expected_time(fmt, d["time"])
        assert row[2] == "%f" % d["value"]
        assert row[3:-2] == [tags.get(c, "") for c in COLUMNS]
        extra = {k: v for k, v in tags.items() if k not in COLUMNS}
        assert dict(kv.split("=", 1) for kv in row[-2].split("&") if kv) == extra
        md = d.get("metadata") or {}
        assert dict(kv.split("=", 1) for kv in row[-1].split("&") if kv) == md


def test_one_row_per_json_point_six_time_formats_and_gzip(tmp_path, target):
    outs = [f"csv=fileName=t_{f}.csv,timeFormat={f}" for f in FORMATS]
    proc = horde_run(tmp_path, SCRIPT, target, "json=points.json", *outs, "csv=fileName=packed.csv.gz", "csv")
    assert proc.returncode == 0, proc.stderr
    pts = points(tmp_path / "points.json")
    assert {p["metric"] for p in pts} >= {"http_reqs", "http_req_duration", "checks", "iterations", "data_sent"}
    assert sum(p["metric"] == "http_reqs" for p in pts) == 20
    for f in FORMATS:
        assert_rows_match(csv_lines(tmp_path / f"t_{f}.csv"), pts, f)
    assert csv_lines(tmp_path / "packed.csv.gz") == csv_lines(tmp_path / "t_unix.csv")
    assert csv_lines(tmp_path / "file.csv") == csv_lines(tmp_path / "t_unix.csv")  # bare --out csv


def test_stdout(tmp_path, target):
    proc = horde_run(tmp_path, SCRIPT, target, "json=points.json", "csv=-")
    assert proc.returncode == 0, proc.stderr
    pts = points(tmp_path / "points.json")
    names = {p["metric"] for p in pts}
    lines = proc.stdout.split("\n")
    start = lines.index(HEADER)
    rows = [line for line in lines[start + 1 :] if line.split(",", 1)[0] in names]
    assert_rows_match([HEADER, *rows, ""], pts)


def test_ctrl_c_leaves_a_complete_gzip_file(tmp_path, target):
    (tmp_path / "script.py").write_text(LONG_SCRIPT)
    cmd = [
        HORDE,
        "run",
        str(tmp_path / "script.py"),
        "-e",
        f"TARGET={target}",
        "--no-summary",
        "--out",
        "csv=fileName=run.csv.gz,saveInterval=100ms",
        "--out",
        "json=run.json",
    ]
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            json_file = tmp_path / "run.json"
            if json_file.exists() and json_file.stat().st_size > 10_000:
                break
            time.sleep(0.1)
        assert proc.poll() is None, proc.communicate()[1]
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
    assert proc.returncode == 105, err
    assert_rows_match(csv_lines(tmp_path / "run.csv.gz"), points(tmp_path / "run.json"))
