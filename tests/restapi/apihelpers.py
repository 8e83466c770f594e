"""Helpers of the REST API tests: API calls, runs of horde (and k6) as subprocesses with an API port, a counting target."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from horde.groups import GroupTree
from horde.restapi import ApiError, MetricView, StatusView

HORDE = str(Path(sys.executable).with_name("horde"))
DEADLINE = 60.0
"""Seconds any subprocess of these tests may live."""


def api(port: int, method: str = "GET", path: str = "/v1/status", body: Any = None, timeout: float = 10.0):
    """(HTTP status, content type, decoded JSON or raw bytes) of one API call."""
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            status, ctype, raw = r.status, r.headers.get("Content-Type"), r.read()
    except urllib.error.HTTPError as e:
        status, ctype, raw = e.code, e.headers.get("Content-Type"), e.read()
    try:
        return status, ctype, json.loads(raw)
    except ValueError:
        return status, ctype, raw


def patch_status(port: int, **attrs: Any):
    """k6-operator's starter/stopper call: PATCH /v1/status with ``attrs``."""
    return api(port, "PATCH", "/v1/status", {"data": {"attributes": attrs, "id": "default", "type": "status"}})


def status_attrs(port: int) -> dict:
    return api(port)[2]["data"]["attributes"]


class Proc:
    """A horde or k6 run in the background, with its API port; killed (process group) at the end of the test."""

    def __init__(self, argv: list[str], port: int, cwd: Path, env: dict | None = None) -> None:
        self.port = port
        self.out = cwd / f"stdout-{port}.txt"
        self.err = cwd / f"stderr-{port}.txt"
        environ = {k: v for k, v in os.environ.items() if not k.startswith(("HORDE_", "K6_"))}
        environ.update(env or {})
        self.started = time.monotonic()
        with open(self.out, "w") as o, open(self.err, "w") as e:
            self.p = subprocess.Popen(argv, stdout=o, stderr=e, cwd=cwd, env=environ, start_new_session=True)

    def wait_api(self, timeout: float = 30.0) -> None:
        """Until the API answers (or the process ended: fail)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.p.poll() is not None:
                pytest.fail(f"ended with {self.p.returncode} before its API answered: {self.stderr()}")
            try:
                api(self.port, timeout=1.0)
                return
            except OSError:
                time.sleep(0.05)
        pytest.fail(f"no API on port {self.port} within {timeout}s")

    def wait_status(self, pred, timeout: float = 30.0) -> dict:
        """Until the status attributes satisfy ``pred``; those attributes."""
        deadline = time.monotonic() + timeout
        attrs: dict = {}
        while time.monotonic() < deadline:
            attrs = status_attrs(self.port)
            if pred(attrs):
                return attrs
            time.sleep(0.05)
        pytest.fail(f"status never matched: last {attrs}")

    def signal(self, sig: int = signal.SIGINT) -> None:
        self.p.send_signal(sig)

    def wait(self, timeout: float = 30.0) -> int:
        try:
            return self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail(f"did not end within {timeout}s: {self.stderr()}")

    def kill(self) -> None:
        if self.p.poll() is None:
            try:
                os.killpg(self.p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.p.wait(5)

    def stdout(self) -> str:
        return self.out.read_text()

    def stderr(self) -> str:
        return self.err.read_text()


class CountingTarget:
    """A plain HTTP server counting the requests it gets (and when the first came)."""

    def __init__(self) -> None:
        self.count = 0
        self.first_at: float | None = None
        lock = threading.Lock()
        outer = self

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                with lock:
                    outer.count += 1
                    if outer.first_at is None:
                        outer.first_at = time.monotonic()
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *a: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class FakeRun:
    """A ControlSurface with plain state, recording what the API asked of it."""

    def __init__(self) -> None:
        self.paused = True
        self.started = False
        self.stopped = 0
        self.data: Any = None
        self.tree = GroupTree()
        self.setup_runs = 0
        self.teardown_runs = 0
        self.fail_setup = False

    def status(self) -> StatusView:
        return StatusView(4 if self.paused else 7, self.paused, 0, 2, self.stopped > 0, self.started, False)

    def set_paused(self, paused: bool) -> None:
        if self.started:
            raise ApiError(
                "Pause error",
                "constant-vus executor 'default' doesn't support pause and resume operations after its start",
            )
        if paused:
            raise ApiError("Pause error", "execution is already paused")
        self.paused = False

    def scale(self, vus: int | None, vus_max: int | None) -> None:
        raise ApiError(
            "Execution config error",
            "an externally-controlled executor needs to be configured for live configuration updates",
        )

    def stop(self) -> None:
        self.stopped += 1

    def metrics(self) -> list[MetricView]:
        return [
            MetricView("iterations", "counter", "default", None, {"count": 19.0, "rate": 4.5}),
            MetricView("checks", "rate", "default", True, {"rate": 0.5}),
        ]

    def group_tree(self) -> GroupTree:
        return self.tree

    def setup_data(self) -> Any:
        return self.data

    def set_setup_data(self, data: Any) -> None:
        self.data = data

    def run_setup(self) -> None:
        self.setup_runs += 1
        if self.fail_setup:
            raise ApiError("", "setup() failed: boom")
        self.data = {"a": 1}

    def run_teardown(self) -> None:
        self.teardown_runs += 1
