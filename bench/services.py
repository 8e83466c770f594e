"""What the benchmark needs: the tools installed and run, and nginx, influxd, Prometheus and an OTLP sink on 127.0.0.1.

Both servers listen on a free port of 127.0.0.1 only, keep everything in a temp
dir, and are stopped by :meth:`Server.stop` (or leaving the ``with`` block).
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import urllib.parse
from pathlib import Path

from horde import testing
from horde.testing import ServiceProcess, find_binary, free_port, http_call
from install import BIN

__all__ = ["tool_path", "run_counted", "Nginx", "InfluxD", "Prometheus", "OtlpSink"]


def tool_path(name: str) -> str:
    """A console script of this venv (``horde``, ``k6``, ``locust``), else one on PATH."""
    path = BIN / name
    return str(path) if path.exists() else (shutil.which(name) or name)


def run_counted(cmd: list[str], export: Path, *, cwd: Path, timeout: float) -> tuple[int, float, float]:
    """Run a tool to its end (no HORDE_/K6_ variables of ours); return the iterations of its summary export
    ``export`` and the user and system CPU seconds of it and every descendant it reaped."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HORDE_", "K6_"))}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, timeout=timeout, env=env, cwd=cwd)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    iterations = json.loads(export.read_text())["metrics"]["iterations"]["count"]
    return iterations, after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime


def _get(url: str, timeout: float = 2.0, data: bytes | None = None) -> tuple[int, bytes]:
    return http_call("POST" if data is not None else "GET", url, data, timeout=timeout)


class Server(ServiceProcess):
    """A server process in its own session, with its config and data in ``workdir`` (see ServiceProcess)."""

    def pids(self) -> list[int]:
        """The server's processes (nginx: master and worker)."""
        import psutil

        if self.proc is None:
            return []
        p = psutil.Process(self.proc.pid)
        return [p.pid] + [c.pid for c in p.children(recursive=True)]


class Nginx(Server, testing.Nginx):
    """nginx, one worker, serving a small static index.html, access log off."""

    def __init__(self, workdir: Path) -> None:
        w = workdir
        super().__init__(
            w,
            find_binary("nginx") or "nginx",
            http="access_log off;\n  keepalive_requests 10000000;",
            server=f"root {w}/www;\n    index index.html;\n    location = /nginx_status {{ stub_status; }}",
            connections=4096,
        )
        (w / "www").mkdir(exist_ok=True)
        (w / "www" / "index.html").write_text("<!doctype html><title>bench</title><p>hello from nginx</p>\n")

    def requests(self) -> int:
        """Requests nginx has served so far (stub_status), counting this one."""
        return int(_get(self.url + "/nginx_status")[1].split()[9])


class InfluxD(Server, testing.InfluxD):
    """influxd 1.x (Debian ``influxdb``), HTTP API on 127.0.0.1, write bodies uncapped."""

    def __init__(self, workdir: Path) -> None:
        super().__init__(workdir, find_binary("influxd") or "influxd", max_body_size=0)

    def query_json(self, q: str, db: str | None = None) -> dict:
        """Run an InfluxQL statement; the decoded JSON answer (raises unless HTTP 200)."""
        import json

        status, body = self.query(q, db)
        if status != 200:
            raise RuntimeError(f"influxd {q!r}: {status} {body[:200]!r}")
        return json.loads(body)

    def counts(self, db: str) -> dict[str, int]:
        """Points stored per measurement in ``db``."""
        out: dict[str, int] = {}
        for series in self.query_json('SELECT count("value") FROM /.*/', db)["results"][0].get("series", []):
            out[series["name"]] = int(series["values"][0][1])
        return out


class Prometheus(Server):
    """Prometheus (Debian ``prometheus``) with its remote write receiver and native histograms on."""

    name = "prometheus"
    ready_path = "/-/ready"

    def __init__(self, workdir: Path) -> None:
        super().__init__(workdir)
        (workdir / "prometheus.yml").write_text("global:\n  scrape_interval: 1h\n")

    def command(self) -> list[str]:
        w = self.workdir
        return [
            find_binary("prometheus") or "prometheus",
            f"--config.file={w}/prometheus.yml",
            f"--web.listen-address=127.0.0.1:{self.port}",
            f"--storage.tsdb.path={w}/data",
            "--web.enable-remote-write-receiver",
            "--enable-feature=native-histograms",
            "--log.level=warn",
        ]

    def requests_counted(self, testid: str) -> int:
        """The run's ``k6_http_reqs_total``, summed over its series (0 when none)."""
        import json

        q = urllib.parse.urlencode({"query": f'sum(max_over_time(k6_http_reqs_total{{testid="{testid}"}}[1h]))'})
        status, body = _get(self.url + "/api/v1/query?" + q, timeout=30)
        if status != 200:
            raise RuntimeError(f"prometheus: {status} {body[:200]!r}")
        result = json.loads(body)["data"]["result"]
        return int(float(result[0]["value"][1])) if result else 0


class OtlpSink(Server):
    """An OTLP/gRPC metrics sink (``otlp_sink.py``, its own process): accepts and counts every export, stores
    nothing; ``port`` takes the exports, :meth:`counts` reads what one ``service.name`` sent."""

    name = "otlp-sink"

    def __init__(self, workdir: Path) -> None:
        super().__init__(workdir)
        self.status_port = free_port()

    @property
    def endpoint(self) -> str:
        """``host:port`` of the gRPC endpoint, as ``K6_OTEL_GRPC_EXPORTER_ENDPOINT`` takes it."""
        return f"127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        return [
            sys.executable,
            str(Path(__file__).resolve().parent / "otlp_sink.py"),
            str(self.port),
            str(self.status_port),
        ]

    def ready(self) -> bool:
        return _get(f"http://127.0.0.1:{self.status_port}/counts")[0] == 200

    def counts(self, service: str) -> dict:
        """``exports``, ``points`` and ``http_reqs`` (requests counted) received from ``service``."""
        import json

        q = urllib.parse.urlencode({"service": service})
        status, body = _get(f"http://127.0.0.1:{self.status_port}/counts?{q}", timeout=10)
        if status != 200:
            raise RuntimeError(f"otlp sink: {status} {body[:200]!r}")
        return json.loads(body)
