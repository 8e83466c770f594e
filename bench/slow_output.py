"""A slow output must not slow the VUs: the same run with and without an output that sleeps per call.

``python bench/slow_output.py [--duration 30] [--vus 10] [--delay 0.01]`` runs
horde (default workers) against a local nginx twice — ``-o json`` alone, then
``-o json -o slow`` where ``slow`` sleeps ``delay`` s in every ``add_samples``
call — and prints requests/s of both, their ratio, the peak resident memory of
all horde processes together (coordinator and workers, sampled every 50 ms)
and what each output got, from ``--summary-export``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import click
import psutil
from services import Nginx, tool_path

SLOW_OUTPUT = """\
import time
from horde.output import hookimpl


class Slow:
    def __init__(self, params):
        self.delay = float(params.config_argument or "0.01")
        self.received = 0

    @hookimpl
    def description(self):
        return f"slow ({self.delay}s per call)"

    @hookimpl
    def start(self):
        pass

    @hookimpl
    def add_samples(self, samples):
        time.sleep(self.delay)
        self.received += sum(map(len, samples))

    @hookimpl
    def stop(self, error):
        pass

    @hookimpl
    def report(self):
        return {"written": self.received}
"""

SCRIPTS = Path(__file__).resolve().parent / "scripts"


def _site(root: Path) -> Path:
    """A directory with the ``slow`` output installed as a distribution (module + dist-info)."""
    site = root / "site"
    (site / "horde_bench_slow-1.0.dist-info").mkdir(parents=True)
    (site / "horde_bench_slow.py").write_text(SLOW_OUTPUT)
    info = site / "horde_bench_slow-1.0.dist-info"
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: horde-bench-slow\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[horde.outputs]\nslow = horde_bench_slow:Slow\n")
    return site


def _peak_rss(proc: subprocess.Popen[bytes], peak: list[float]) -> None:
    """Sample the summed RSS of ``proc`` and its children every 50 ms until it exits."""
    try:
        root = psutil.Process(proc.pid)
        while proc.poll() is None:
            total = 0
            for p in [root, *root.children(recursive=True)]:
                try:
                    total += p.memory_info().rss
                except psutil.Error:
                    pass
            peak[0] = max(peak[0], total / 2**20)
            time.sleep(0.05)
    except psutil.Error:
        pass


def run(outs: list[str], vus: int, duration: int, nginx: Nginx, work: Path, site: Path) -> dict[str, object]:
    """One horde run; its requests/s, peak RSS (MB) and the export's per-output counts."""
    export = work / "export.json"
    cmd = [
        tool_path("horde"),
        "run",
        str(SCRIPTS / "horde_get.py"),
        "--vus",
        str(vus),
        "--duration",
        f"{duration}s",
        "-e",
        f"TARGET={nginx.url}/",
        "--summary-export",
        str(export),
        "--quiet",
    ]
    for out in outs:
        cmd += ["--out", out]
    env = {"PYTHONPATH": str(site), "PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin"}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL)
    peak = [0.0]
    sampler = threading.Thread(target=_peak_rss, args=(proc, peak), daemon=True)
    sampler.start()
    code = proc.wait(timeout=duration + 120)
    sampler.join(5)
    doc = json.loads(export.read_text())
    return {
        "exit": code,
        "rps": doc["metrics"]["http_reqs"]["rate"],
        "rss_mb": peak[0],
        "outputs": {o["output"]: o for o in doc.get("outputs", [])},
    }


@click.command(help=__doc__, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--duration", type=int, default=30, show_default=True, help="seconds per run")
@click.option("--vus", type=int, default=10, show_default=True, help="VUs of each run")
@click.option("--delay", type=float, default=0.01, show_default=True, help="seconds the slow output sleeps per call")
def main(duration: int, vus: int, delay: float) -> None:
    """Both runs, then their requests/s, ratio, peak RSS and per-output counts."""
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        site = _site(work)
        (work / "nginx").mkdir()
        with Nginx(work / "nginx") as nginx:
            base = run([f"json={work / 'a.json'}"], vus, duration, nginx, work, site)
            slow = run([f"json={work / 'b.json'}", f"slow={delay}"], vus, duration, nginx, work, site)
    ratio = slow["rps"] / base["rps"]  # type: ignore[operator]
    outs = slow["outputs"]
    assert isinstance(outs, dict)
    print(f"json only:      {base['rps']:.0f} req/s, peak RSS {base['rss_mb']:.0f} MB, exit {base['exit']}")
    print(f"json + slow:    {slow['rps']:.0f} req/s, peak RSS {slow['rss_mb']:.0f} MB, exit {slow['exit']}")
    print(f"req/s ratio (with slow / without): {ratio:.3f}")
    for name, o in outs.items():
        print(f"  {name}: delivered={o['delivered']} spilled={o['spilled']} lost={o['lost']} counts={o['counts']}")


if __name__ == "__main__":
    main()
