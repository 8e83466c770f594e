"""handle_summary's calling and writing rules (k6's), the CI progress block text, and a run with workers."""

from __future__ import annotations

import io
import json
import logging
import time
from pathlib import Path

import pytest
from horde.engine.display import fixed_length_duration, render_ci_progress
from horde.engine.scenarios import scenarios_from_options
from horde.engine.summary_handler import SummaryHandlerError, call_handle_summary, write_summary_result

SCRIPT = Path("script.py")


def test_exception_logs_one_line_and_means_default_summary(caplog):
    def handler(data):
        raise RuntimeError("boom\nsecond line")

    with caplog.at_level(logging.ERROR, logger="horde"):
        assert call_handle_summary(handler, {}, SCRIPT) is None
    assert [r.getMessage() for r in caplog.records] == ["handle_summary() failed: RuntimeError: boom second line"]


def test_async_handler_and_bytes():
    async def handler(data):
        return {"stdout": b"B", "stderr": bytearray(b"E"), "f.txt": "F"}

    assert call_handle_summary(handler, {}, SCRIPT) == {"stdout": b"B", "stderr": b"E", "f.txt": "F"}


@pytest.mark.parametrize(
    ("result", "message"),
    [
        ("text", "should return a dict with string keys, not str"),
        ({1: "x"}, "should return a dict with string keys, not 1"),
        ({"stdout": "ok", "x": 5}, "error handling summary object x: invalid type int"),
    ],
)
def test_unusable_results_are_rejected_whole(result, message):
    with pytest.raises(SummaryHandlerError, match=message):
        call_handle_summary(lambda data: result, {}, SCRIPT)


def test_timeout_is_an_error_and_does_not_wait_for_the_handler():
    t0 = time.monotonic()
    with pytest.raises(SummaryHandlerError, match="timed out after 0.2 seconds"):
        call_handle_summary(lambda data: time.sleep(3), {}, SCRIPT, timeout=0.2)
    assert time.monotonic() - t0 < 2.5


def test_write_targets_and_file_errors(tmp_path):
    out, err = io.StringIO(), io.StringIO()
    good = tmp_path / "good.json"
    bad = tmp_path / "missing-dir" / "x.txt"
    errors = write_summary_result(
        {"stdout": "O", "stderr": b"E", str(good): json.dumps({"a": 1}), str(bad): "x"}, out, err
    )
    assert out.getvalue() == "O" and err.getvalue() == "E"
    assert json.loads(good.read_text()) == {"a": 1}
    assert len(errors) == 1 and str(bad) in errors[0] and "\n" not in errors[0]


@pytest.mark.parametrize(
    ("seconds", "max_seconds", "text"),
    [
        (1.0, 3.0, "1.0s"),
        (1.04, 33.0, "01.0s"),
        (0.0, 630.0, "00m00.0s"),
        (65.0, 300.0, "1m05.0s"),
        (3725.3, 4 * 3600, "1h02m05.3s"),
        (3725.3, 12 * 3600, "01h02m05.3s"),
    ],
)
def test_fixed_length_duration_is_k6s(seconds, max_seconds, text):
    assert fixed_length_duration(seconds, max_seconds) == text


def test_ci_progress_block_text():
    scenarios = scenarios_from_options({"vus": 2, "duration": "3s"})
    running = render_ci_progress(scenarios, 1.0, 33.0, (2, 2), 2, 18, 0)
    assert running == (
        "\nrunning (01.0s), 2/2 VUs, 18 complete and 0 interrupted iterations\ndefault   [  33% ] 2 VUs  1.0s/3s\n"
    )
    done = render_ci_progress(scenarios, 3.0, 33.0, (0, 2), 2, 60, 0, finished=True)
    assert (
        done == "\nrunning (03.0s), 0/2 VUs, 60 complete and 0 interrupted iterations\ndefault ✓ [ 100% ] 2 VUs  3s\n"
    )
    shared = scenarios_from_options({"vus": 1, "iterations": 2})
    assert render_ci_progress(shared, 0.0, 630.0, (0, 1), 1, 2, 0, finished=True).endswith(
        "default ✓ [ 100% ] 1 VUs  00m00.0s/10m0s  2/2 shared iters\n"
    )
    paused = render_ci_progress(scenarios, 0.0, 33.0, (0, 2), 2, 0, 0, paused=True, started=False)
    assert paused.startswith("\npaused, 0/2 VUs, 0 complete and 0 interrupted iterations\n")


def test_handle_summary_with_worker_processes(tmp_path, horde_cmd):
    p = tmp_path / "t.py"
    p.write_text(
        "import json\nfrom horde import Counter\nc = Counter('ran')\noptions = {'vus': 2, 'iterations': 8}\n"
        "async def default():\n    c.add(1)\n"
        "def handle_summary(data):\n"
        "    return {'stdout': json.dumps(data['metrics']['ran']['values'])}\n"
    )
    r = horde_cmd("run", p, "--workers", "2", "-q", "--address", "")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == {"count": 8, "rate": json.loads(r.stdout)["rate"]}


def _run_on_a_terminal(args: list[str], env: dict[str, str]) -> bytes:
    """horde's stdout as a terminal shows it (a pty); stderr piped."""
    import os
    import pty
    import select
    import subprocess
    import sys

    horde = str(Path(sys.executable).with_name("horde"))
    master, slave = pty.openpty()
    proc = subprocess.Popen([horde, *args], stdout=slave, stderr=subprocess.PIPE, env=env)
    os.close(slave)
    seen = b""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the terminal closed: the run is over
                break
            if not chunk:
                break
            seen += chunk
        elif proc.poll() is not None:
            break
    proc.communicate(timeout=30)
    os.close(master)
    assert proc.returncode == 0
    return seen


def test_summary_colors_on_a_terminal_unless_no_color(tmp_path):
    import os

    p = tmp_path / "t.py"
    p.write_text("from horde import check\nasync def default():\n    check(1, {'ok': lambda x: True})\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HORDE_", "K6_")) and k != "NO_COLOR"}
    args = ["run", str(p), "--workers", "1", "-q", "--address", ""]
    colored = _run_on_a_terminal(args, env)
    assert b"TOTAL RESULTS" in colored and b"\x1b[32m\xe2\x9c\x93 ok\x1b[0m" in colored  # green ✓ ok
    plain = _run_on_a_terminal(args, {**env, "NO_COLOR": "1"})
    assert b"TOTAL RESULTS" in plain and b"\x1b[" not in plain
    flag = _run_on_a_terminal([*args, "--no-color"], env)
    assert b"TOTAL RESULTS" in flag and b"\x1b[" not in flag


def test_k6_name_handleSummary_is_accepted_and_handle_summary_wins(tmp_path):
    from horde.engine.script import load_script

    one = tmp_path / "one.py"
    one.write_text("async def default():\n    pass\ndef handleSummary(data):\n    return {}\n")
    assert load_script(one).handle_summary.__name__ == "handleSummary"
    both = tmp_path / "both.py"
    both.write_text(
        "async def default():\n    pass\nasync def handle_summary(data):\n    return {}\n"
        "def handleSummary(data):\n    return {}\n"
    )
    assert load_script(both).handle_summary.__name__ == "handle_summary"
    none = tmp_path / "none.py"
    none.write_text("async def default():\n    pass\n")
    assert load_script(none).handle_summary is None


def test_summary_mode_from_config_file_and_environment(tmp_path, horde_cmd):
    p = tmp_path / "t.py"
    p.write_text(
        "from horde import check, group\nasync def default():\n"
        "    with group('g'):\n        check(1, {'ok': lambda x: True})\n"
    )
    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps({"summaryMode": "legacy"}))
    base = ["run", p, "--workers", "1", "-q", "--address", ""]
    legacy = horde_cmd(*base, "--config", cfg)
    assert legacy.returncode == 0, legacy.stderr
    assert "     █ g\n" in legacy.stdout and "TOTAL RESULTS" not in legacy.stdout
    full = horde_cmd(*base, "--config", cfg, env={"K6_SUMMARY_MODE": "full"})  # the environment beats the file
    assert "  █ GROUP: g " in full.stdout
    compact = horde_cmd(*base, "--config", cfg, "--summary-mode", "compact", env={"K6_SUMMARY_MODE": "full"})
    assert "TOTAL RESULTS" in compact.stdout and "GROUP: g" not in compact.stdout  # the flag beats both
    bad = horde_cmd(*base, "--config", cfg, env={"K6_SUMMARY_MODE": "fancy"})
    assert bad.returncode == 255 and "invalid summary mode 'fancy'" in bad.stderr and "Traceback" not in bad.stderr
