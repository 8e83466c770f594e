"""Running real k6 v1.1.0 and horde with the Prometheus remote write output on equivalent scripts."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

HORDE = [sys.executable, "-c", "import sys; from horde.cli import main; sys.exit(main())"]

HORDE_SCRIPT = """
from horde import Counter, Gauge, Rate, Trend, check, env, group, http, sleep

options = {"vus": %(vus)d, "duration": "%(duration)s"}

items = Counter("items")
level = Gauge("level")
fine = Rate("fine")
wait_time = Trend("wait_time", True)


async def default(data):
    res = await http.get(env["TARGET"] + "/")
    check(res, {"status is 200": lambda r: r.status == 200})
    with group("shop"):
        res = await http.get(env["TARGET"] + "/", tags={"page": "shop"})
    items.add(2, {"kind": "book"})
    level.add(3)
    fine.add(True)
    wait_time.add(12.5)
    await sleep(%(pause)s)
"""

K6_SCRIPT = """
import http from "k6/http";
import { check, group, sleep } from "k6";
import { Counter, Gauge, Rate, Trend } from "k6/metrics";

export const options = { vus: %(vus)d, duration: "%(duration)s" };

const items = new Counter("items");
const level = new Gauge("level");
const fine = new Rate("fine");
const waitTime = new Trend("wait_time", true);

export default function () {
  const res = http.get(__ENV.TARGET + "/");
  check(res, { "status is 200": (r) => r.status === 200 });
  group("shop", function () {
    http.get(__ENV.TARGET + "/", { tags: { page: "shop" } });
  });
  items.add(2, { kind: "book" });
  level.add(3);
  fine.add(true);
  waitTime.add(12.5);
  sleep(%(pause)s);
}
"""


def _env(url: str, extra: Mapping[str, str] | None, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("K6_", "HORDE_"))}
    env.update(
        K6_PROMETHEUS_RW_SERVER_URL=url,
        K6_PROMETHEUS_RW_PUSH_INTERVAL="500ms",
        HORDE_PROMETHEUS_RW_SPOOL_DIR=str(tmp_path / "spool"),
        HORDE_PROMETHEUS_RW_RETRY_INTERVAL="200ms",
        HORDE_PROMETHEUS_RW_MAX_RETRY_INTERVAL="2s",
        K6_NO_USAGE_REPORT="true",
    )
    env.update(extra or {})
    return env


def run_horde(
    tmp_path: Path,
    url: str,
    target: str,
    testid: str,
    *,
    vus: int = 2,
    duration: str = "3s",
    pause: float = 0.05,
    env: Mapping[str, str] | None = None,
    during: Callable[[], None] | None = None,
    timeout: float = 180,
    out: str = "experimental-prometheus-rw",
) -> subprocess.CompletedProcess[str]:
    """``horde run`` with ``--out <out>``; ``during()`` runs while it does."""
    script = tmp_path / f"horde-{testid}.py"
    script.write_text(HORDE_SCRIPT % {"vus": vus, "duration": duration, "pause": pause})
    args = HORDE + ["run", str(script), "-e", f"TARGET={target}", "--tag", f"testid={testid}", "--no-summary"]
    args += ["--out", out]
    return _run(args, _env(url, env, tmp_path), tmp_path, during, timeout)


def run_k6(
    k6_bin: str,
    tmp_path: Path,
    url: str,
    target: str,
    testid: str,
    *,
    vus: int = 2,
    duration: str = "3s",
    pause: float = 0.05,
    env: Mapping[str, str] | None = None,
    timeout: float = 180,
) -> subprocess.CompletedProcess[str]:
    """Real k6 v1.1.0 with ``-o experimental-prometheus-rw`` on the equivalent script."""
    script = tmp_path / f"k6-{testid}.js"
    script.write_text(K6_SCRIPT % {"vus": vus, "duration": duration, "pause": pause})
    args = [k6_bin, "run", str(script), "-e", f"TARGET={target}", "--tag", f"testid={testid}", "--no-summary"]
    args += ["-o", "experimental-prometheus-rw", "--quiet"]
    return _run(args, _env(url, env, tmp_path), tmp_path, None, timeout)


def _run(
    args: list[str], env: dict[str, str], cwd: Path, during: Callable[[], None] | None, timeout: float
) -> subprocess.CompletedProcess[str]:
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=cwd)
    try:
        if during is not None:
            during()
        stdout, stderr = proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    result = subprocess.CompletedProcess(args, proc.returncode, stdout, stderr)
    assert result.returncode == 0, f"{args[0]} exited {result.returncode}:\n{stdout[-2000:]}\n{stderr[-4000:]}"
    return result
