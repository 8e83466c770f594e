"""Real servers for the tests: influxd (Debian ``influxdb``) and VictoriaMetrics (Debian ``victoria-metrics``).

Each listens on 127.0.0.1 on a free port with its data in a temp dir, and can
be stopped and restarted on the same port and data (to simulate an outage).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import ssl
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from horde.testing import free_port

__all__ = ["InfluxD", "VictoriaMetrics", "require_binary"]

START_TIMEOUT = 30.0


def require_binary(name: str, package: str) -> str:
    """Path of ``name``; skip the test if missing, or fail when ``CI=true``."""
    path = shutil.which(name) or (f"/usr/bin/{name}" if os.path.exists(f"/usr/bin/{name}") else None)
    if path is None:
        msg = f"{name} not found: apt-get install {package}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(msg)
        pytest.skip(msg)
    return path


_UNVERIFIED = ssl.create_default_context()
_UNVERIFIED.check_hostname = False
_UNVERIFIED.verify_mode = ssl.CERT_NONE


def _http(
    method: str, url: str, data: bytes | None = None, auth: tuple[str, str] | None = None, timeout: float = 10.0
) -> tuple[int, bytes]:
    req = urllib.request.Request(url, data=data, method=method)
    if auth:
        import base64

        req.add_header("Authorization", "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode())
    try:
        with urllib.request.urlopen(req, timeout=timeout, context=_UNVERIFIED) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


class _Server:
    name = "server"

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self.log_path = workdir / f"{self.name}.log"

    @property
    def addr(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _command(self) -> list[str]:
        raise NotImplementedError

    def _ready(self) -> bool:
        raise NotImplementedError

    def start(self) -> _Server:
        """Start (or restart on the same port and data) and wait until it answers."""
        assert self.proc is None, "already running"
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            self._command(), stdout=log, stderr=subprocess.STDOUT, cwd=self.workdir, start_new_session=True
        )
        log.close()
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}: {self.log_tail()}")
            try:
                if self._ready():
                    return self
            except OSError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.name} did not answer on {self.addr} within {START_TIMEOUT}s: {self.log_tail()}")

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after 10 s)."""
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)

    def log_tail(self, n: int = 2000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-n:]
        except OSError:
            return ""


class InfluxD(_Server):
    """influxd 1.x with an HTTP(S) API on 127.0.0.1:<free port>."""

    name = "influxd"

    @property
    def addr(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def __init__(
        self, workdir: Path, *, max_body_size: int = 25_000_000, auth: tuple[str, str] | None = None, tls: bool = False
    ) -> None:
        self.binary = require_binary("influxd", "influxdb")
        super().__init__(workdir)
        self.rpc_port = free_port()
        self.max_body_size = max_body_size
        self.auth = auth
        self.tls = tls
        if tls:  # a self-signed certificate for 127.0.0.1
            openssl = require_binary("openssl", "openssl")
            subprocess.run(
                [
                    openssl,
                    "req",
                    "-x509",
                    "-newkey",
                    "rsa:2048",
                    "-nodes",
                    "-days",
                    "2",
                    "-subj",
                    "/CN=127.0.0.1",
                    "-keyout",
                    str(workdir / "key.pem"),
                    "-out",
                    str(workdir / "cert.pem"),
                ],
                check=True,
                capture_output=True,
                timeout=60,
            )
        self.config_path = workdir / "influxdb.conf"
        self._write_config()

    def _write_config(self) -> None:
        w = self.workdir
        self.config_path.write_text(f"""\
reporting-disabled = true
bind-address = "127.0.0.1:{self.rpc_port}"
[meta]
  dir = "{w}/meta"
  logging-enabled = false
[data]
  dir = "{w}/data"
  wal-dir = "{w}/wal"
  query-log-enabled = false
  cache-snapshot-write-cold-duration = "10s"
[monitor]
  store-enabled = false
[http]
  bind-address = "127.0.0.1:{self.port}"
  log-enabled = false
  auth-enabled = {"true" if self.auth else "false"}
  max-body-size = {self.max_body_size}
  pprof-enabled = false
  https-enabled = {"true" if self.tls else "false"}
  https-certificate = "{w}/cert.pem"
  https-private-key = "{w}/key.pem"
[logging]
  level = "warn"
  suppress-logo = true
[continuous_queries]
  enabled = false
""")

    def _command(self) -> list[str]:
        return [self.binary, "-config", str(self.config_path)]

    def _ready(self) -> bool:
        return _http("GET", self.addr + "/ping", timeout=1)[0] == 204

    def start(self) -> InfluxD:
        super().start()
        if self.auth:  # the first admin user may be created without credentials
            status, body = self.query(
                f"CREATE USER \"{self.auth[0]}\" WITH PASSWORD '{self.auth[1]}' WITH ALL PRIVILEGES"
            )
            if status != 200 and b"already exists" not in body:
                assert status == 401, body  # restarted: the user exists
        return self

    def query(self, q: str, db: str | None = None) -> tuple[int, bytes]:
        params = {"q": q, "epoch": "ns"}
        if db:
            params["db"] = db
        return _http("POST", self.addr + "/query?" + urllib.parse.urlencode(params), b"", auth=self.auth)

    def rows(self, q: str, db: str) -> list[dict]:
        """The series of an InfluxQL query (raises on error)."""
        status, body = self.query(q, db)
        data = json.loads(body)
        assert status == 200 and "error" not in data, body
        result = data["results"][0]
        assert "error" not in result, result
        return result.get("series", [])

    def count(self, measurement: str, db: str) -> int:
        """How many points ``measurement`` holds."""
        series = self.rows(f'SELECT count("value") FROM "{measurement}"', db)
        return int(series[0]["values"][0][1]) if series else 0

    def measurements(self, db: str) -> set[str]:
        series = self.rows("SHOW MEASUREMENTS", db)
        return {v[0] for v in series[0]["values"]} if series else set()

    def tag_keys(self, db: str) -> dict[str, set[str]]:
        return {s["name"]: {v[0] for v in s["values"]} for s in self.rows("SHOW TAG KEYS", db)}

    def field_keys(self, db: str) -> dict[str, dict[str, str]]:
        return {s["name"]: {v[0]: v[1] for v in s["values"]} for s in self.rows("SHOW FIELD KEYS", db)}


class VictoriaMetrics(_Server):
    """VictoriaMetrics, which accepts InfluxDB line protocol on /write and /api/v2/write."""

    name = "victoria-metrics"

    def __init__(self, workdir: Path) -> None:
        self.binary = require_binary("victoria-metrics", "victoria-metrics")
        super().__init__(workdir)

    def _command(self) -> list[str]:
        return [
            self.binary,
            f"-httpListenAddr=127.0.0.1:{self.port}",
            f"-storageDataPath={self.workdir}/vmdata",
            "-loggerLevel=ERROR",
            "-retentionPeriod=100y",
            "-search.disableCache",
        ]

    def _ready(self) -> bool:
        return _http("GET", self.addr + "/health", timeout=1)[0] == 200

    def export(self, match: str = '{__name__=~".+"}') -> list[dict]:
        """Every stored series matching ``match``, with all its raw samples."""
        _http("GET", self.addr + "/internal/force_flush")
        q = urllib.parse.urlencode({"match[]": match, "start": "0"})
        status, body = _http("GET", self.addr + "/api/v1/export?" + q)
        assert status == 200, body
        return [json.loads(line) for line in body.splitlines() if line.strip()]

    def rows_inserted(self) -> int:
        """VictoriaMetrics' own count of InfluxDB rows it accepted."""
        _, body = _http("GET", self.addr + "/metrics")
        for line in body.decode().splitlines():
            if line.startswith('vm_rows_inserted_total{type="influx"}'):
                return int(float(line.split()[-1]))
        return 0
