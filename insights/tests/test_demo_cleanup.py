"""scripts/demo (the real script) stops everything it started: on success, on failure and on Ctrl-C.

Every process the demo starts inherits a unique environment mark; the test counts the processes
carrying it while the demo runs and after it ended (other tests on the machine do not count).
"""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "scripts" / "demo"
_NEEDED = ("horde", "horde_insights", "horde_out_csv", "horde_out_cloud")


@pytest.fixture(scope="module")
def demo_venv(tmp_path_factory) -> Path:
    """This interpreter's environment when it holds horde, Insights and the demo's outputs; else a
    fresh venv with them installed from this checkout (as the demo itself would)."""
    if all(importlib.util.find_spec(m) for m in _NEEDED) and (Path(sys.prefix) / "bin" / "horde").exists():
        return Path(sys.prefix)
    venv = tmp_path_factory.mktemp("demo") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    plugins = [a for p in sorted((REPO / "plugins").glob("*/pyproject.toml")) for a in ("-e", str(p.parent))]
    subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "--quiet",
            "-e",
            f"{REPO}[fast]",
            "-e",
            str(REPO / "insights"),
            *plugins,
        ],
        check=True,
        timeout=900,
    )
    return venv


def marked(mark: str) -> list[int]:
    """Pids of the live processes whose environment carries ``mark``."""
    found = []
    needle = f"HORDE_DEMO_TEST_MARK={mark}".encode()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as f:
                if needle in f.read().split(b"\0"):
                    with open(f"/proc/{entry}/stat") as s:
                        if s.read().rsplit(")", 1)[1].split()[0] != "Z":  # a zombie is already ended
                            found.append(int(entry))
        except OSError:
            continue
    return found


def settled(mark: str, within: float = 3.0) -> list[int]:
    """The marked processes still alive after waiting up to ``within`` seconds for them to go."""
    end = time.monotonic() + within
    while (left := marked(mark)) and time.monotonic() < end:
        time.sleep(0.1)
    return left


def reached(mark: str, n: int, within: float = 20.0) -> list[int]:
    """The marked processes once there are at least ``n`` of them (or after ``within`` seconds)."""
    end = time.monotonic() + within
    while len(found := marked(mark)) < n and time.monotonic() < end:
        time.sleep(0.1)
    return found


class Demo:
    """scripts/demo as a child in its own session (as a terminal runs it), its output collected."""

    def __init__(self, venv: Path, results: Path, *args: str) -> None:
        self.mark = uuid.uuid4().hex
        env = {
            **os.environ,
            "HORDE_DEMO_TEST_MARK": self.mark,
            "HORDE_DEMO_VENV": str(venv),
            "HORDE_DEMO_INSTALL": "0",
            "HORDE_DEMO_RESULTS": str(results),
        }
        self.proc = subprocess.Popen(
            ["bash", str(DEMO), *args],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.lines: list[str] = []
        self.started = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            line = raw.decode("utf-8", "replace")
            self.lines.append(line)
            if line.startswith("demo target:"):
                self.started.set()

    def wait(self, timeout: float) -> int:
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the demo did not end within {timeout} s:\n{self.output}")

    @property
    def output(self) -> str:
        self._reader.join(5)
        return "".join(self.lines)[-4000:]


@pytest.fixture
def start_demo(demo_venv, tmp_path):
    """Start the demo; at teardown, end whatever it left behind (so a failing test leaks nothing)."""
    demos: list[Demo] = []

    def start(*args: str) -> Demo:
        demos.append(Demo(demo_venv, tmp_path / "results", *args))
        return demos[-1]

    yield start
    for demo in demos:
        if demo.proc.poll() is None:
            os.killpg(demo.proc.pid, signal.SIGKILL)
            demo.proc.wait(10)
        for pid in marked(demo.mark):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def test_demo_succeeds_and_leaves_nothing_running(start_demo, tmp_path):
    demo = start_demo()
    assert demo.started.wait(60), demo.output
    running = reached(demo.mark, 4)
    assert len(running) >= 4, running  # the script, the target, Insights and horde run
    code = demo.wait(180)
    assert code == 0, demo.output
    assert "the run in a browser:" in demo.output
    assert settled(demo.mark) == []
    assert (tmp_path / "results" / "summary.json").exists()


def test_demo_that_fails_leaves_nothing_running(start_demo):
    demo = start_demo("--no-such-option")
    code = demo.wait(120)
    assert code != 0, demo.output
    assert "demo target:" in demo.output  # it failed after starting its services
    assert settled(demo.mark) == []


def test_demo_interrupted_by_ctrl_c_leaves_nothing_running(start_demo):
    demo = start_demo()
    assert demo.started.wait(60), demo.output
    assert len(reached(demo.mark, 4)) >= 4  # the script, the target, Insights and horde run
    time.sleep(2)  # horde run is under way
    t0 = time.monotonic()
    os.killpg(demo.proc.pid, signal.SIGINT)  # Ctrl-C in a terminal: the whole foreground group
    code = demo.wait(60)
    assert code != 0, demo.output
    assert settled(demo.mark) == [], demo.output
    assert time.monotonic() - t0 < 30
    # horde stopped first and delivered the run to Insights, which the Ctrl-C did not stop early
    assert "Stopping the test gracefully" in demo.output
    assert "could not be delivered" not in demo.output and "failed to send test finished" not in demo.output
