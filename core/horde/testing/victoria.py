"""VictoriaMetrics as a test receiver: it takes InfluxDB line protocol, Prometheus remote write and more.

One binary (Debian ``victoria-metrics``) stands in for several time-series
databases, so outputs for different protocols can check what they stored
the same way: :meth:`VictoriaMetrics.export` reads back every raw sample.
"""

from __future__ import annotations

import json
import urllib.parse
from pathlib import Path
from typing import Any

from .services import ServiceProcess, http_call

__all__ = ["VictoriaMetrics"]


class VictoriaMetrics(ServiceProcess):
    """VictoriaMetrics (``binary``) on a free port of 127.0.0.1, its data in ``workdir``.

    ``auth`` (user, password) turns on Basic authentication; ``tls``
    (certificate file, key file) serves HTTPS. Stored samples are queryable at
    once (no latency offset, no cache).
    """

    name = "victoria-metrics"

    def __init__(
        self,
        workdir: Path,
        binary: str,
        *,
        auth: tuple[str, str] | None = None,
        tls: tuple[str, str] | None = None,
    ) -> None:
        super().__init__(workdir)
        self.binary = binary
        self.auth = auth
        self.tls = tls

    @property
    def scheme(self) -> str:
        """``https`` with ``tls``, else ``http``."""
        return "https" if self.tls else "http"

    def command(self) -> list[str]:
        """The server's command line."""
        return [
            self.binary,
            f"-httpListenAddr=127.0.0.1:{self.port}",
            f"-storageDataPath={self.workdir}/vmdata",
            "-loggerLevel=ERROR",
            "-retentionPeriod=100y",
            "-search.disableCache",
            "-search.latencyOffset=0s",
            *([f"-httpAuth.username={self.auth[0]}", f"-httpAuth.password={self.auth[1]}"] if self.auth else []),
            *(["-tls", f"-tlsCertFile={self.tls[0]}", f"-tlsKeyFile={self.tls[1]}"] if self.tls else []),
        ]

    def ready(self) -> bool:
        """True when ``/health`` answers 200."""
        return http_call("GET", self.url + "/health", timeout=1, auth=self.auth)[0] == 200

    def export(self, match: str = '{__name__=~".+"}') -> list[dict[str, Any]]:
        """Every stored series matching ``match``, with all its raw samples (``/api/v1/export``)."""
        http_call("GET", self.url + "/internal/force_flush", auth=self.auth)
        q = urllib.parse.urlencode({"match[]": match, "start": "0"})
        status, body = http_call("GET", self.url + "/api/v1/export?" + q, auth=self.auth)
        if status != 200:
            raise AssertionError(f"victoria-metrics export: HTTP {status}: {body[:500]!r}")
        return [json.loads(line) for line in body.splitlines() if line.strip()]

    def metric(self, line_prefix: str) -> float:
        """The value of VictoriaMetrics' own metric whose ``/metrics`` line starts with ``line_prefix`` (0 if absent)."""
        _, body = http_call("GET", self.url + "/metrics", auth=self.auth)
        for line in body.decode().splitlines():
            if line.startswith(line_prefix):
                return float(line.split()[-1])
        return 0.0
