"""Real servers for the tests: influxd (Debian ``influxdb``) and VictoriaMetrics (Debian ``victoria-metrics``).

Each listens on 127.0.0.1 on a free port with its data in a temp dir, and can
be stopped and restarted on the same port and data (to simulate an outage).
"""

from __future__ import annotations

import json
import subprocess
import urllib.parse
from pathlib import Path

from horde import testing
from horde.testing import ServiceProcess, free_port, http_call
from horde.testing.fixtures import require_binary

__all__ = ["InfluxD", "VictoriaMetrics", "require_binary"]


class _Server(ServiceProcess):
    @property
    def addr(self) -> str:
        """The server's base URL (as the tests name it)."""
        return self.url


class InfluxD(_Server):
    """influxd 1.x with an HTTP(S) API on 127.0.0.1:<free port>."""

    name = "influxd"

    ready_path = "/ping"
    ready_status = 204

    @property
    def scheme(self) -> str:
        return "https" if self.tls else "http"

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

    def command(self) -> list[str]:
        return [self.binary, "-config", str(self.config_path)]

    def start(self, timeout: float | None = None) -> InfluxD:
        super().start(timeout)
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
        return http_call("POST", self.addr + "/query?" + urllib.parse.urlencode(params), b"", auth=self.auth)

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


class VictoriaMetrics(_Server, testing.VictoriaMetrics):
    """VictoriaMetrics, which accepts InfluxDB line protocol on /write and /api/v2/write."""

    def __init__(self, workdir: Path) -> None:
        super().__init__(workdir, require_binary("victoria-metrics", "victoria-metrics"))

    def rows_inserted(self) -> int:
        """VictoriaMetrics' own count of InfluxDB rows it accepted."""
        return int(self.metric('vm_rows_inserted_total{type="influx"}'))
