"""horde.testing's ServiceProcess and require_binary: real processes on free ports, deadlines, the CI rule."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest
from horde.testing import InfluxD, Nginx, ServiceProcess, VictoriaMetrics, find_binary, http_call
from horde.testing import fixtures as testing_fixtures
from horde.testing.fixtures import require_binary


class PythonHttpServer(ServiceProcess):
    """Python's http.server, started by a shell that also leaves a child behind (to see the group stopped)."""

    name = "pyhttp"
    start_timeout = 30.0

    def command(self) -> list[str]:
        server = f"{sys.executable} -m http.server {self.port} --bind 127.0.0.1"
        return ["/bin/sh", "-c", f"echo $$ > shell.pid; sleep 300 & echo $! > child.pid; exec {server}"]


class Exits(ServiceProcess):
    name = "exits"

    def command(self) -> list[str]:
        return ["/bin/sh", "-c", "echo broken config >&2; exit 3"]


class NeverReady(PythonHttpServer):
    name = "never-ready"
    ready_path = "/missing"  # 404: never the ready status


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (not yet reaped by its parent) counts as gone
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except OSError:
        return False


def wait_gone(pid: int, within: float = 10.0) -> bool:
    end = time.monotonic() + within
    while alive(pid) and time.monotonic() < end:
        time.sleep(0.05)
    return not alive(pid)


def test_starts_on_a_free_port_answers_stops_its_whole_group_and_restarts_on_the_same_port(tmp_path):
    workdir = tmp_path / "made-if-missing"
    server = PythonHttpServer(workdir)
    port = server.port
    with server:
        assert server.running and server.url == f"http://127.0.0.1:{port}"
        assert http_call("GET", server.url + "/")[0] == 200
        child = int((workdir / "child.pid").read_text())
        assert alive(child)
        with pytest.raises(RuntimeError, match="already running"):
            server.start()
    assert not server.running and server.proc is None
    assert wait_gone(child), "the server's child outlived stop(): the process group was not signalled"
    assert server.start() is server and server.port == port
    assert http_call("GET", server.url + "/")[0] == 200
    server.stop()
    server.stop()  # idempotent
    assert (workdir / "pyhttp.log").exists()


def test_a_server_that_exits_fails_start_with_its_log(tmp_path):
    server = Exits(tmp_path)
    with pytest.raises(RuntimeError, match=r"exits exited with 3: broken config"):
        server.start()
    assert server.proc is None


def test_a_server_never_ready_fails_start_at_the_deadline_and_is_stopped(tmp_path):
    server = NeverReady(tmp_path)
    started = time.monotonic()
    with pytest.raises(RuntimeError, match=r"never-ready did not answer on http://127.0.0.1:\d+ within 1.5s"):
        server.start(timeout=1.5)
    assert time.monotonic() - started < 20
    assert server.proc is None
    assert wait_gone(int((tmp_path / "shell.pid").read_text()))


def test_http_call_returns_error_statuses_and_raises_oserror_when_nothing_listens(tmp_path):
    with PythonHttpServer(tmp_path) as server:
        assert http_call("GET", server.url + "/missing")[0] == 404
        port = server.port
    with pytest.raises(OSError):
        http_call("GET", f"http://127.0.0.1:{port}/", timeout=2)


def test_require_binary_finds_a_binary_and_obeys_the_ci_rule_for_a_missing_one(monkeypatch):
    assert require_binary("sh", "dash") == find_binary("sh")
    monkeypatch.setattr(testing_fixtures, "find_binary", lambda name: None)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="apt-get install influxdb"):
        require_binary("influxd", "influxdb")
    monkeypatch.setenv("CI", "")
    with pytest.raises(pytest.skip.Exception, match="apt-get install influxdb"):
        require_binary("influxd", "influxdb")


def test_victoria_metrics_takes_line_protocol_and_exports_it_behind_basic_auth(tmp_path):
    binary = require_binary("victoria-metrics", "victoria-metrics")
    with VictoriaMetrics(tmp_path / "vm", binary, auth=("k6", "s3cret")) as vm:
        assert http_call("GET", vm.url + "/api/v1/export?match[]=up")[0] == 401
        status, _ = http_call("POST", vm.url + "/write", b"reqs,page=home value=3 1700000000000000000", auth=vm.auth)
        assert status == 204
        series = vm.export('{__name__="reqs_value"}')
        assert [(s["metric"]["page"], s["values"]) for s in series] == [("home", [3])]
        assert vm.metric('vm_rows_inserted_total{type="influx"}') == 1


def test_influxd_with_auth_creates_its_admin_stores_points_and_restarts_on_its_data(tmp_path):
    binary = require_binary("influxd", "influxdb")
    server = InfluxD(tmp_path / "influxd", binary, auth=("admin", "pw"))
    with server:
        assert server.url.startswith("http://127.0.0.1:")
        assert http_call("POST", server.url + "/query?q=SHOW+DATABASES", b"")[0] == 401
        assert server.query('CREATE DATABASE "k6"')[0] == 200
        write = server.url + "/write?db=k6&precision=s"
        assert http_call("POST", write, b"reqs value=2 1700000000", auth=server.auth)[0] == 204
    with server:  # the same port and data; the user exists already
        status, body = server.query('SELECT "value" FROM "reqs"', "k6")
        assert status == 200 and b"1700000000000000000,2" in body


def test_nginx_serves_its_server_block_and_stops_with_its_worker(tmp_path):
    binary = require_binary("nginx", "nginx")
    nginx = Nginx(tmp_path / "nginx", binary, server='location / { return 200 "hi"; }', http="access_log off;")
    with nginx:
        assert http_call("GET", nginx.url + "/any") == (200, b"hi")
        master = nginx.proc.pid if nginx.proc else 0
        workers = [int(p) for p in os.listdir("/proc") if p.isdigit() and _parent(int(p)) == master]
        assert workers
    assert all(wait_gone(pid) for pid in [master, *workers])


def _parent(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().split(") ")[1].split()[1])
    except (OSError, IndexError, ValueError):
        return -1
