"""Outputs that block, fail or crawl cannot stall a run or another output, and what they lose is reported.

Each case runs the real ``horde`` command as a subprocess with a hard timeout,
with a misbehaving output (a real distribution on PYTHONPATH) beside json.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from distbuild import simple_dist, write_dist_info
from harness import Outcome, run_horde

PEAK_MB = 300
"""Peak resident memory of all horde processes together that no case may pass."""

FAULTY = '''\
import time

from horde.output import hookimpl


class Faulty:
    """Sleeps DELAY s in every add_samples call, or raises when DELAY is 'raise'."""

    def __init__(self, params):
        self.arg = params.config_argument
        self.received = 0

    @hookimpl
    def description(self):
        return f"faulty ({self.arg})"

    @hookimpl
    def start(self):
        pass

    @hookimpl
    def add_samples(self, samples):
        if self.arg == "raise":
            raise RuntimeError("faulty output exploded")
        time.sleep(float(self.arg))
        self.received += sum(len(c) for c in samples)

    @hookimpl
    def stop(self, error):
        pass

    @hookimpl
    def report(self):
        return {"written": self.received}
'''

SCRIPT = """\
from horde import http, env, sleep

async def default(data):
    await http.get(env["TARGET"] + "/")
    await sleep(0.01)
"""


@pytest.fixture
def faulty_site(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    write_dist_info(site, simple_dist("horde-out-faulty", "1.0", {"faulty": "Faulty"}, FAULTY))
    return site


def _json_points(path: Path) -> int:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt") as f:
        return sum(1 for line in f if json.loads(line)["type"] == "Point")


def _run(site: Path, *args: str) -> Outcome:
    """``horde ARGS`` with the faulty output installed; fails past 60 s, or past :data:`PEAK_MB`."""
    res = run_horde(args, timeout=60, env={"PYTHONPATH": str(site)})
    assert res.peak_mb < PEAK_MB, f"peak {res.peak_mb:.0f} MB"
    return res


def test_an_output_blocking_10s_per_call_is_abandoned_at_its_deadline_and_json_gets_everything(
    tmp_path, faulty_site, target
):
    script = tmp_path / "s.py"
    script.write_text(SCRIPT)
    results, export = tmp_path / "r.json.gz", tmp_path / "export.json"
    res = _run(
        faulty_site,
        "run",
        str(script),
        "-e",
        f"TARGET={target.url}",
        "-d",
        "3s",
        "-u",
        "2",
        "--workers",
        "2",
        "-q",
        "-o",
        "faulty=10",
        "-o",
        f"json={results}",
        "--output-stop-timeout",
        "faulty=2s",
        "--summary-export",
        str(export),
    )
    assert res.wall < 3 + 2 + 10, res.stderr  # run + its stop deadline + start-up; not a 10 s call per batch
    assert res.code == 112, res.stderr
    doc = json.loads(export.read_text())
    outputs = {o["output"]: o for o in doc["outputs"]}
    faulty, js = outputs["faulty"], outputs["json"]
    assert faulty["abandoned"] is True and faulty["undelivered"] > 0 and faulty["lost"] == faulty["undelivered"]
    assert js["lost"] == 0 and js["undelivered"] == 0 and not js["abandoned"]
    # json has every sample the run produced: what it was handed, and what the store counted
    points = _json_points(results)
    assert points == js["delivered"] == faulty["delivered"] + faulty["undelivered"]
    reqs = doc["metrics"]["http_reqs"]["count"]
    assert reqs > 10
    warn = [line for line in res.stderr.splitlines() if "lost" in line]
    assert len(warn) == 1 and f"output faulty lost {faulty['lost']} samples" in warn[0]
    assert "ABANDONED" in res.stdout and f"undelivered={faulty['undelivered']}" in res.stdout


def test_an_output_failing_every_call_exits_112_unless_allowed(tmp_path, faulty_site, target):
    script = tmp_path / "s.py"
    script.write_text(SCRIPT)
    args = [
        "run",
        str(script),
        "-e",
        f"TARGET={target.url}",
        "-i",
        "20",
        "-q",
        "--workers",
        "1",
        "-o",
        "faulty=raise",
        "-o",
        f"json={tmp_path / 'r.json'}",
    ]
    res = _run(faulty_site, *args)
    assert res.code == 112, res.stderr
    errors = [line for line in res.stderr.splitlines() if "faulty output exploded" in line]
    assert len(errors) == 1, "a failing hook is logged once, then counted"
    lost = [line for line in res.stderr.splitlines() if "output faulty lost" in line]
    assert len(lost) == 1 and "in failed add_samples calls" in lost[0]
    res = _run(faulty_site, *args, "--allow-output-loss")
    assert res.code == 0, res.stderr
    assert any("output faulty lost" in line for line in res.stderr.splitlines())


def test_a_slow_output_keeps_up_by_merged_calls_and_gets_every_sample(tmp_path, faulty_site, target):
    script = tmp_path / "s.py"
    script.write_text(SCRIPT)
    export = tmp_path / "export.json"
    res = _run(
        faulty_site,
        "run",
        str(script),
        "-e",
        f"TARGET={target.url}",
        "-d",
        "3s",
        "-u",
        "5",
        "-q",
        "-o",
        "faulty=0.01",
        "-o",
        f"json={tmp_path / 'r.json'}",
        "--summary-export",
        str(export),
    )
    assert res.code == 0, res.stderr
    outputs = {o["output"]: o for o in json.loads(export.read_text())["outputs"]}
    assert outputs["faulty"]["delivered"] == outputs["json"]["delivered"] == outputs["faulty"]["counts"]["written"]
    assert outputs["faulty"]["lost"] == 0
