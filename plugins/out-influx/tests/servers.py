"""Real servers for the tests: influxd (Debian ``influxdb``) and VictoriaMetrics (Debian ``victoria-metrics``).

Each listens on 127.0.0.1 on a free port with its data in a temp dir, and can
be stopped and restarted on the same port and data (to simulate an outage).
"""

from __future__ import annotations

import json
from pathlib import Path

from horde import testing
from horde.testing import ServiceProcess, make_self_signed_cert
from horde.testing.certs import CertToolMissing
from horde.testing.fixtures import require, require_binary

__all__ = ["InfluxD", "VictoriaMetrics", "require_binary"]


class _Server(ServiceProcess):
    @property
    def addr(self) -> str:
        """The server's base URL (as the tests name it)."""
        return self.url


def _self_signed(workdir: Path) -> tuple[str, str]:
    """A self-signed certificate for 127.0.0.1 in ``workdir``; no tool to make one skips (fails with CI=true)."""
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        return make_self_signed_cert(str(workdir), "influxd", hosts=("127.0.0.1",))
    except CertToolMissing as exc:
        require(str(exc))


class InfluxD(_Server, testing.InfluxD):
    """influxd 1.x with an HTTP(S) API on 127.0.0.1:<free port>; ``tls=True`` makes a self-signed certificate."""

    def __init__(
        self, workdir: Path, *, max_body_size: int = 25_000_000, auth: tuple[str, str] | None = None, tls: bool = False
    ) -> None:
        pem = _self_signed(workdir) if tls else None
        super().__init__(
            workdir, require_binary("influxd", "influxdb"), max_body_size=max_body_size, auth=auth, tls=pem
        )

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
