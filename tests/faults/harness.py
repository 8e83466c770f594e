"""The fault suite's harness: run ``horde run`` as a subprocess, bounded in time, and measure it.

:func:`run_horde` starts the real console script in its own session, sends
signals at given times, kills it at a hard timeout (the test then fails,
never hangs) and returns a :class:`Outcome`: exit code, wall time, peak RSS
of the whole process tree (psutil, sampled every 20 ms), stdout and stderr
lines. :func:`json_counts` and :func:`export_counts` give what the json
output and the summary export hold, to check they agree.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import psutil

HORDE = str(Path(sys.executable).with_name("horde"))

SAMPLE_PERIOD = 0.02


@dataclasses.dataclass
class Outcome:
    """What one ``horde run`` did."""

    code: int
    wall: float
    """Seconds from start to exit."""
    peak_mb: float
    """Highest sum of RSS over the process and its descendants, in MB."""
    stdout: str
    stderr: str
    signalled_at: list[float]
    """When each signal was sent (seconds since the start)."""

    @property
    def lines(self) -> list[str]:
        """Non-empty stderr lines."""
        return [line for line in self.stderr.splitlines() if line.strip()]

    def since_last_signal(self) -> float:
        """Seconds from the last signal to the exit."""
        return self.wall - self.signalled_at[-1]


def _tree_rss(proc: psutil.Process) -> int:
    total = 0
    try:
        procs = [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return 0
    for p in procs:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return total


def run_horde(
    args: Sequence[str | Path],
    *,
    timeout: float,
    signals: Sequence[tuple[float, int]] = (),
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> Outcome:
    """Run ``horde ARGS``; send each ``(at_seconds, signal)``; kill the tree and fail past ``timeout``."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("HORDE_")}
    environ.update(env or {})
    start = time.monotonic()
    proc = subprocess.Popen(
        [HORDE, *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environ,
        cwd=cwd,
        start_new_session=True,
    )
    ps = psutil.Process(proc.pid)
    peak = [0]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(SAMPLE_PERIOD):
            peak[0] = max(peak[0], _tree_rss(ps))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out: list[str] = []
    err: list[str] = []
    readers = [
        threading.Thread(target=lambda s=s, b=b: b.append(s.read()), daemon=True)
        for s, b in ((proc.stdout, out), (proc.stderr, err))
    ]
    for r in readers:
        r.start()
    sent: list[float] = []
    try:
        for at, sig in signals:
            delay = start + at - time.monotonic()
            if delay > 0:
                try:
                    proc.wait(delay)
                    break  # it ended before the signal was due
                except subprocess.TimeoutExpired:
                    pass
            sent.append(time.monotonic() - start)
            os.killpg(proc.pid, sig)
        proc.wait(max(0.1, start + timeout - time.monotonic()))
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
        done.set()
        for r in readers:
            r.join(5)
        raise AssertionError(f"horde run did not end within {timeout}s; stderr: {''.join(err)[-2000:]}") from None
    finally:
        done.set()
    wall = time.monotonic() - start
    for r in readers:
        r.join(10)
    sampler.join(1)
    try:  # nothing may outlive the run
        for child in psutil.Process(proc.pid).children(recursive=True):
            child.kill()
    except psutil.Error:
        pass
    return Outcome(proc.returncode, wall, peak[0] / 2**20, "".join(out), "".join(err), sent)


def json_records(path: Path) -> list[dict]:
    """Every record of a json output file; fails if a line is not valid JSON."""
    records = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            try:
                records.append(json.loads(line))
            except ValueError as exc:
                raise AssertionError(f"{path}:{n} is not valid JSON: {exc}: {line[:200]!r}") from None
    return records


def json_counts(path: Path) -> dict[str, float]:
    """The sum of each metric's Point values in a json output file."""
    sums: dict[str, float] = {}
    for r in json_records(path):
        if r["type"] == "Point":
            sums[r["metric"]] = sums.get(r["metric"], 0.0) + r["data"]["value"]
    return sums


def export_counts(path: Path) -> dict[str, float]:
    """Each counter's ``count`` in a ``--summary-export`` file."""
    metrics = json.loads(path.read_text())["metrics"]
    return {name: m["count"] for name, m in metrics.items() if "count" in m}


def assert_json_matches_export(json_path: Path, export_path: Path) -> dict[str, float]:
    """Every counter of the summary export has exactly the json output's sum; returns the counts."""
    in_json = json_counts(json_path)
    exported = export_counts(export_path)
    assert exported, "the summary export has no counters"
    for name, count in exported.items():
        assert in_json.get(name, 0.0) == count, f"{name}: json holds {in_json.get(name)}, the export says {count}"
    return exported
