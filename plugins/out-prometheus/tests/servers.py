"""Real receivers for the tests: Prometheus (Debian ``prometheus``) and VictoriaMetrics (Debian ``victoria-metrics``).

Each listens on 127.0.0.1 on a free port with its data in a temp dir, and can
be stopped and restarted on the same port and data (an outage).
"""

from __future__ import annotations

import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from horde import testing
from horde.testing import ServiceProcess
from horde.testing import http_call as http
from horde.testing.fixtures import require_binary

__all__ = ["CountingTarget", "HeaderLoggingProxy", "Prometheus", "VictoriaMetrics", "http", "require_binary"]


class _Server(ServiceProcess):
    start_timeout = 60.0
    stop_timeout = 20.0

    @property
    def addr(self) -> str:
        """The server's base URL (as the tests name it)."""
        return self.url


class Prometheus(_Server):
    """Prometheus with its remote write receiver and native histograms on."""

    name = "prometheus"

    def __init__(self, workdir: Path) -> None:
        self.binary = require_binary("prometheus", "prometheus")
        super().__init__(workdir)
        (workdir / "prometheus.yml").write_text("global:\n  scrape_interval: 1h\n")

    @property
    def write_url(self) -> str:
        return self.addr + "/api/v1/write"

    ready_path = "/-/ready"

    def command(self) -> list[str]:
        return [
            self.binary,
            f"--config.file={self.workdir}/prometheus.yml",
            f"--web.listen-address=127.0.0.1:{self.port}",
            f"--storage.tsdb.path={self.workdir}/data",
            "--web.enable-remote-write-receiver",
            "--enable-feature=native-histograms",
            "--log.level=warn",
        ]

    def api(self, path: str, **params: str) -> Any:
        """``data`` of a Prometheus HTTP API answer (GET ``/api/v1/<path>``)."""
        status, body = http("GET", f"{self.addr}/api/v1/{path}?" + urllib.parse.urlencode(params), timeout=30)
        doc = json.loads(body)
        assert status == 200 and doc.get("status") == "success", (status, body[:500])
        return doc["data"]

    def query(self, promql: str, at: float | None = None) -> list[dict[str, Any]]:
        """The result vector of an instant query."""
        params = {"query": promql}
        if at is not None:
            params["time"] = f"{at:.3f}"
        data = self.api("query", **params)
        result: list[dict[str, Any]] = data["result"] if data["resultType"] in ("vector", "matrix") else []
        return result

    def last_values(self, selector: str) -> list[float]:
        """The newest raw value of every series matching ``selector`` (a native histogram's count)."""
        out: list[float] = []
        for r in self.api("query", query=f"{selector}[1h]")["result"]:
            if r.get("histograms"):
                out.append(float(r["histograms"][-1][1]["count"]))
            elif r.get("values"):
                out.append(float(r["values"][-1][1]))
        return out

    def series(self, match: str = '{__name__=~"k6_.+"}') -> list[dict[str, str]]:
        """Label sets of every stored series matching ``match``."""
        out: list[dict[str, str]] = self.api("series", **{"match[]": match, "start": "0"})
        return out


class VictoriaMetrics(_Server, testing.VictoriaMetrics):
    """VictoriaMetrics, which accepts Prometheus remote write on /api/v1/write."""

    def __init__(
        self, workdir: Path, *, auth: tuple[str, str] | None = None, tls: tuple[str, str] | None = None
    ) -> None:
        super().__init__(workdir, require_binary("victoria-metrics", "victoria-metrics"), auth=auth, tls=tls)

    @property
    def write_url(self) -> str:
        return self.addr + "/api/v1/write"


class HeaderLoggingProxy(_Server, testing.Nginx):
    """nginx (Debian ``nginx``) in front of a receiver, logging the headers each write request carried."""

    ready_path = "/ping"

    def __init__(self, workdir: Path, upstream: str) -> None:
        self.access_log = workdir / "headers.log"
        log_format = (
            "'$request_method $uri|$http_authorization|$http_x_scope_orgid|$http_x_extra|"
            "$http_content_encoding|$http_content_type|$http_x_prometheus_remote_write_version|$status'"
        )
        super().__init__(
            workdir,
            require_binary("nginx", "nginx"),
            http=f"log_format headers {log_format};\n  access_log {self.access_log} headers;",
            server=f'location = /ping {{ return 200 "ok"; }}\n    location / {{ proxy_pass {upstream}; }}',
        )

    def logged(self) -> list[list[str]]:
        """One entry per proxied request: method and path, then the logged header values and the status."""
        lines = self.access_log.read_text().splitlines() if self.access_log.exists() else []
        return [line.split("|") for line in lines if not line.startswith("GET /ping")]


class CountingTarget:
    """An HTTP target on 127.0.0.1 that answers 200 ``ok`` and counts the requests it answered."""

    def __init__(self) -> None:
        counter = self
        self.count = 0
        self._lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")
                with counter._lock:
                    counter.count += 1

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
