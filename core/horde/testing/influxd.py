"""influxd 1.x (Debian ``influxdb``) as a test server: HTTP(S) API on a free port, data in a temp dir."""

from __future__ import annotations

import urllib.parse
from pathlib import Path
from typing import TypeVar

from .ports import free_port
from .services import ServiceProcess, http_call

__all__ = ["InfluxD"]

I = TypeVar("I", bound="InfluxD")


class InfluxD(ServiceProcess):
    """influxd 1.x (``binary``) with its HTTP API on 127.0.0.1 and everything in ``workdir``.

    ``max_body_size`` caps a write request's body (0: no cap); ``auth``
    (user, password) turns authentication on and creates that admin user at
    start; ``tls`` (certificate file, key file; both must exist at start)
    serves HTTPS.
    """

    name = "influxd"
    ready_path = "/ping"
    ready_status = 204

    def __init__(
        self,
        workdir: Path,
        binary: str,
        *,
        max_body_size: int = 25_000_000,
        auth: tuple[str, str] | None = None,
        tls: tuple[str, str] | None = None,
    ) -> None:
        super().__init__(workdir)
        self.binary = binary
        self.rpc_port = free_port()
        self.max_body_size = max_body_size
        self.auth = auth
        self.tls = tls
        self.config_path = self.workdir / "influxdb.conf"
        self.config_path.write_text(self._config())

    @property
    def scheme(self) -> str:
        """``https`` with ``tls``, else ``http``."""
        return "https" if self.tls else "http"

    def _config(self) -> str:
        w = self.workdir
        cert, key = self.tls or ("", "")
        return f"""\
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
  https-certificate = "{cert}"
  https-private-key = "{key}"
[logging]
  level = "warn"
  suppress-logo = true
[continuous_queries]
  enabled = false
"""

    def command(self) -> list[str]:
        """The server's command line."""
        return [self.binary, "-config", str(self.config_path)]

    def start(self: I, timeout: float | None = None) -> I:
        """Start and wait until it answers; with ``auth``, create the admin user (kept across restarts)."""
        super().start(timeout)
        if self.auth:  # the first admin user may be created without credentials
            user, password = self.auth
            status, body = self.query(f"CREATE USER \"{user}\" WITH PASSWORD '{password}' WITH ALL PRIVILEGES")
            if status not in (200, 401) and b"already exists" not in body:  # 401: restarted, the user exists
                self.stop()
                raise RuntimeError(f"influxd: creating user {user!r} failed: HTTP {status}: {body[:300]!r}")
        return self

    def query(self, q: str, db: str | None = None) -> tuple[int, bytes]:
        """Run InfluxQL ``q`` (times in ns): the HTTP status and the JSON body."""
        params = {"q": q, "epoch": "ns"}
        if db:
            params["db"] = db
        return http_call("POST", self.url + "/query?" + urllib.parse.urlencode(params), b"", auth=self.auth)
