"""Execution segments against real k6 v1.1.0: each instance runs the VUs and iterations k6 runs in its place.

Every case runs the same test once per segment of a sequence, with horde
(``--workers 1``, some also ``--workers 2``: the workers split the instance's
share) and with k6, all processes at once. Both scripts log one
line per iteration (the VU, the scenario and the time), so the comparison
needs no target: per instance, the number of iterations, the VUs that ran
them, and (ramping-vus) when each VU started and stopped, on the stage grid.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from horde.segments import SegmentSequence

HORDE = str(Path(sys.executable).with_name("horde"))
TIMEOUT = 60

K6_SCRIPT = """
import { sleep } from 'k6';
import exec from 'k6/execution';
export const options = JSON.parse(__ENV.SEG_OPTIONS);
export function setup() { return Date.now(); }
export default function (t0) {
  console.log(JSON.stringify({ vu: exec.vu.idInInstance, sc: exec.scenario.name, t: (Date.now() - t0) / 1000 }));
  if (Number(__ENV.SEG_SLEEP) > 0) { sleep(Number(__ENV.SEG_SLEEP)); }
}
"""

HORDE_SCRIPT = """
import asyncio, json, os, time
from horde import vu
options = json.loads(os.environ["SEG_OPTIONS"])
_log = open(os.environ["SEG_LOG"], "a", buffering=1)
async def setup():
    return time.time()
async def default(t0):
    _log.write(json.dumps({"vu": vu.id, "sc": vu.scenario, "t": time.time() - t0, "pid": os.getpid()}) + "\\n")
    if float(os.environ["SEG_SLEEP"]) > 0:
        await asyncio.sleep(float(os.environ["SEG_SLEEP"]))
"""


def _segments(sequence: str) -> list[str]:
    return [str(s) for s in SegmentSequence.parse(sequence)]


def _run_all(
    tmp_path: Path, k6_bin: str, options: dict[str, Any], sequence: str, sleep: float, workers: int = 1
) -> dict:
    """Run every segment of ``sequence`` with k6 and horde at once: {(tool, segment): [log records]}.

    A "clock" scenario (one iteration on each of many VUs, so every instance and worker has one) marks
    when the scenarios started in each process; the records of the others have ``t`` from then.
    """
    options = {"scenarios": {**options["scenarios"], "clock": {**CLOCK}}}
    (tmp_path / "t.js").write_text(K6_SCRIPT)
    (tmp_path / "t.py").write_text(HORDE_SCRIPT)
    procs = {}
    for i, segment in enumerate(_segments(sequence)):
        flags = ["--execution-segment", segment, "--execution-segment-sequence", sequence]
        for tool in ("k6", "horde"):
            log = tmp_path / f"{tool}-{i}.log"
            env = {**os.environ, "SEG_OPTIONS": json.dumps(options), "SEG_SLEEP": str(sleep), "SEG_LOG": str(log)}
            if tool == "k6":
                cmd = [k6_bin, "run", "-q", "--no-summary", "--log-format", "raw", "--console-output", str(log)]
                cmd += [*flags, str(tmp_path / "t.js")]
            else:
                cmd = [HORDE, "run", "-q", "--no-summary", "--workers", str(workers), *flags, str(tmp_path / "t.py")]
            procs[(tool, segment)] = (
                subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE),
                log,
            )
    out = {}
    for key, (proc, log) in procs.items():
        try:
            stdout, stderr = proc.communicate(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            for p, _ in procs.values():
                p.kill()
            pytest.fail(f"{key} did not end within {TIMEOUT}s")
        assert proc.returncode == 0, f"{key} exited {proc.returncode}: {stderr.decode()[-2000:]}"
        lines = log.read_text().splitlines() if log.exists() else []
        records = [json.loads(line) for line in lines if line.startswith("{")]
        t0: dict[int, float] = {}  # per process: horde's workers may start a little apart
        for r in records:
            if r["sc"] == "clock":
                t0[r.get("pid", 0)] = min(r["t"], t0.get(r.get("pid", 0), r["t"]))
        out[key] = [{**r, "t": r["t"] - t0[r.get("pid", 0)]} for r in records if r["sc"] != "clock"]
    return out


def _counts(records: list[dict]) -> tuple[int, int]:
    """(iterations, distinct VUs that ran one)."""
    return len(records), len({r["vu"] for r in records})


def _compare_counts(runs: dict, sequence: str) -> list[tuple[int, int]]:
    found = []
    for segment in _segments(sequence):
        k6, horde = _counts(runs[("k6", segment)]), _counts(runs[("horde", segment)])
        assert horde == k6, f"segment {segment} of {sequence}: horde (iterations, VUs) {horde}, k6 {k6}"
        found.append(horde)
    return found


SEQUENCES = ["0,1/3,2/3,1", "0,1/5,1/2,1"]
CLOCK = {"executor": "per-vu-iterations", "vus": 60, "iterations": 1}


@pytest.mark.parametrize("sequence,workers", [(SEQUENCES[0], 1), (SEQUENCES[1], 1), (SEQUENCES[1], 2)])
def test_per_vu_and_shared_iterations_7_vus(tmp_path, k6_bin, sequence, workers):
    options = {
        "scenarios": {
            "pv": {"executor": "per-vu-iterations", "vus": 7, "iterations": 3},
            "si": {"executor": "shared-iterations", "vus": 7, "iterations": 20},
        }
    }
    runs = _run_all(tmp_path, k6_bin, options, sequence, sleep=0.02, workers=workers)
    split = {
        (*key, name): [r for r in records if r["sc"] == name] for key, records in runs.items() for name in ("pv", "si")
    }
    for name, total in (("pv", 21), ("si", 20)):
        found = []
        for segment in _segments(sequence):
            k6 = len(split[("k6", segment, name)])
            horde = len(split[("horde", segment, name)])
            assert horde == k6, f"{name} segment {segment} of {sequence}: horde {horde} iterations, k6 {k6}"
            found.append(horde)
        assert sum(found) == total
    pv_vus = [len({r["vu"] for r in split[("horde", s, "pv")]}) for s in _segments(sequence)]
    k6_vus = [len({r["vu"] for r in split[("k6", s, "pv")]}) for s in _segments(sequence)]
    assert pv_vus == k6_vus and sum(pv_vus) == 7


def test_constant_vus_7_over_uneven_instances(tmp_path, k6_bin):
    sequence = "0,1/5,1/2,1"
    options = {"scenarios": {"cv": {"executor": "constant-vus", "vus": 7, "duration": "1s"}}}
    runs = _run_all(tmp_path, k6_bin, options, sequence, sleep=0.05)
    for segment in _segments(sequence):
        assert _counts(runs[("horde", segment)])[1] == _counts(runs[("k6", segment)])[1]
    assert sum(_counts(runs[("horde", s)])[1] for s in _segments(sequence)) == 7


GRID = 1.0  # seconds between two VU steps of the ramp below (7 VUs over 7 s: wide enough for a loaded machine)


def _ramp_steps(records: list[dict]) -> tuple[list[float], list[float]]:
    """When the VUs started and stopped iterating (sorted, VU identities aside)."""
    by_vu: dict[int, list[float]] = {}
    for r in records:
        by_vu.setdefault(r["vu"], []).append(r["t"])
    return sorted(min(ts) for ts in by_vu.values()), sorted(max(ts) for ts in by_vu.values())


def _same_steps(a: list[float], b: list[float]) -> bool:
    """Equal counts, and each time within less than half a step of the other's (segments differ by steps)."""
    return len(a) == len(b) and all(abs(x - y) < 0.6 * GRID for x, y in zip(a, b))


@pytest.mark.parametrize("sequence,workers", [(SEQUENCES[0], 1), (SEQUENCES[1], 1), (SEQUENCES[1], 2)])
def test_ramping_vus_7_vus_start_and_stop_as_in_k6(tmp_path, k6_bin, sequence, workers):
    options = {
        "scenarios": {
            "rv": {
                "executor": "ramping-vus",
                "startVUs": 0,
                "stages": [
                    {"duration": "7s", "target": 7},
                    {"duration": "7s", "target": 0},
                ],
                "gracefulRampDown": "0s",
            }
        }
    }
    runs = _run_all(tmp_path, k6_bin, options, sequence, sleep=0.05, workers=workers)
    total = 0
    for segment in _segments(sequence):
        k6 = _ramp_steps(runs[("k6", segment)])
        horde = _ramp_steps(runs[("horde", segment)])
        same = _same_steps(horde[0], k6[0]) and _same_steps(horde[1], k6[1])
        assert same, f"segment {segment} of {sequence}: horde (starts, stops) {horde}, k6 {k6}"
        total += len(horde[0])
    assert total == 7


def test_arrival_rates_start_the_striped_iterations(tmp_path, k6_bin):
    sequence = "0,1/5,1/2,1"
    options = {
        "scenarios": {
            "car": {
                "executor": "constant-arrival-rate",
                "rate": 30,
                "timeUnit": "3s",  # 10/s: the last iteration (3.1 s) is 50 ms from the end, even on a loaded machine
                "duration": "3150ms",
                "preAllocatedVUs": 4,
                "maxVUs": 7,
            },
            "rar": {
                "executor": "ramping-arrival-rate",
                "startRate": 0,
                "timeUnit": "3s",
                "preAllocatedVUs": 5,
                "stages": [{"duration": "3s", "target": 35}, {"duration": "1650ms", "target": 35}],
            },
        }
    }
    runs = _run_all(tmp_path, k6_bin, options, sequence, sleep=0)
    for name, total in (("car", 32), ("rar", 36)):
        found = []
        for segment in _segments(sequence):
            k6 = sum(1 for r in runs[("k6", segment)] if r["sc"] == name)
            horde = sum(1 for r in runs[("horde", segment)] if r["sc"] == name)
            assert horde == k6, f"{name} segment {segment}: horde {horde} iterations, k6 {k6}"
            found.append(horde)
        assert sum(found) == total, name


def test_invalid_segments_exit_as_k6(tmp_path, k6_bin):
    (tmp_path / "t.js").write_text("export default function () {}\n")
    (tmp_path / "t.py").write_text("async def default(data):\n    pass\n")
    for flags in (["--execution-segment", "55%:50%"], ["--execution-segment-sequence", "0,1/2,1"]):
        k6 = subprocess.run([k6_bin, "run", "-q", *flags, str(tmp_path / "t.js")], capture_output=True, timeout=TIMEOUT)
        horde = subprocess.run(
            [HORDE, "run", "-q", "--workers", "1", *flags, str(tmp_path / "t.py")], capture_output=True, timeout=TIMEOUT
        )
        assert horde.returncode == k6.returncode, flags
        err = horde.stderr.decode().strip().splitlines()
        assert len(err) == 1 and "Traceback" not in horde.stderr.decode()
        k6_message = k6.stderr.decode().split("msg=")[-1].strip().strip('"').split("- ")[-1]
        assert k6_message in err[0]
