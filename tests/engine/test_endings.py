"""Thresholds, exit codes, signals and what the user sees, through the real `horde` command."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

from conftest import HORDE, count, read_points

SCRIPT = """
from horde import http, env, check
options = {OPTIONS}
async def default(data):
    res = await http.get(env["TARGET"] + "{PATH}")
    check(res, {"ok": lambda r: r.status == 200})
"""


def write(tmp_path: Path, options: dict, path: str = "/") -> Path:
    p = tmp_path / "t.py"
    p.write_text(SCRIPT.replace("{OPTIONS}", repr(options)).replace("{PATH}", path))
    return p


def test_passing_thresholds_exit_0_with_summary(tmp_path, horde_cmd, target):
    p = write(tmp_path, {"iterations": 5, "thresholds": {"http_req_duration": ["p(95)<5000"], "checks": ["rate>0.9"]}})
    r = horde_cmd("run", p, "-e", f"TARGET={target.url}")
    assert r.returncode == 0, r.stderr
    assert "✓" in r.stdout and "http_req_duration" in r.stdout and "checks" in r.stdout
    assert "Traceback" not in r.stderr


def test_failing_threshold_exit_99(tmp_path, horde_cmd, target):
    p = write(tmp_path, {"iterations": 5, "thresholds": {"http_req_failed": ["rate<0.01"]}}, "/status/500")
    r = horde_cmd("run", p, "-e", f"TARGET={target.url}", "--summary-export", tmp_path / "s.json")
    assert r.returncode == 99
    assert "thresholds on metrics 'http_req_failed' have been crossed" in r.stderr
    export = json.loads((tmp_path / "s.json").read_text())
    assert export["metrics"]["http_req_failed"]["thresholds"] == {"rate<0.01": True}


def test_abort_on_fail_stops_early_with_99(tmp_path, horde_cmd, target):
    p = write(
        tmp_path,
        {
            "vus": 2,
            "duration": "20s",
            "thresholds": {"http_req_failed": [{"threshold": "rate<0.01", "abortOnFail": True}]},
        },
        "/status/503",
    )
    out = tmp_path / "o.json"
    t0 = time.monotonic()
    r = horde_cmd("run", p, "-e", f"TARGET={target.url}", "-o", f"json={out}")
    assert r.returncode == 99
    assert time.monotonic() - t0 < 15
    assert count(read_points(out), "http_reqs") > 0


def test_invalid_threshold_exit_104_one_line(tmp_path, horde_cmd, target):
    p = write(tmp_path, {"iterations": 1, "thresholds": {"http_req_duration": ["p(95)<<500"]}})
    r = horde_cmd("run", p, "-e", f"TARGET={target.url}")
    assert r.returncode == 104
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr


def test_unknown_output_exit_255_lists_installed(tmp_path, horde_cmd, target):
    p = write(tmp_path, {"iterations": 1})
    r = horde_cmd("run", p, "-o", "nosuch=x")
    assert r.returncode == 255
    assert "invalid output type 'nosuch', available types are:" in r.stderr and "json" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_script_error_exit_107_without_traceback(tmp_path, horde_cmd):
    p = tmp_path / "bad.py"
    p.write_text("import nosuchmodule_x\n")
    r = horde_cmd("run", p)
    assert r.returncode == 107
    assert "nosuchmodule_x" in r.stderr and "Traceback" not in r.stderr
    r = horde_cmd("run", p, "--verbose")
    assert "Traceback" in r.stderr


def test_sigint_stops_gracefully_with_105_and_complete_outputs(tmp_path, target):
    p = write(tmp_path, {"vus": 3, "duration": "30s"})
    out, gz = tmp_path / "o.json", tmp_path / "o.json.gz"
    env = {k: v for k, v in os.environ.items() if not k.startswith("HORDE_")}
    proc = subprocess.Popen(
        [HORDE, "run", str(p), "-e", f"TARGET={target.url}", "-o", f"json={out}", "-o", f"json={gz}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and (not out.exists() or out.stat().st_size < 2000):
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 105, stderr
    pts = read_points(out)  # every line parses: the file is complete
    import gzip

    gz_lines = gzip.open(gz, "rt").read().splitlines()
    assert len([l for l in gz_lines if '"type":"Point"' in l]) == len(pts)
    assert count(pts, "http_reqs") > 0
    assert "http_reqs" in stdout  # the summary still printed


def test_banner_names_script_outputs_and_scenarios(tmp_path, horde_cmd, target):
    p = write(tmp_path, {"vus": 2, "iterations": 4})
    r = horde_cmd("run", p, "-e", f"TARGET={target.url}", "-o", f"json={tmp_path / 'a.json'}", "-o", "json=-")
    assert r.returncode == 0, r.stderr
    assert f"output: json ({tmp_path / 'a.json'}), json(stdout)" in r.stdout
    assert "* default: 4 iterations shared among 2 VUs" in r.stdout
    assert '"type":"Point"' in r.stdout


def test_config_file_env_and_flag_precedence(tmp_path, horde_cmd, target):
    p = tmp_path / "t.py"
    p.write_text(
        "from horde import Counter\nc = Counter('ran')\noptions = {'iterations': 2}\n"
        "async def default(data):\n    c.add(1)\n"
    )
    cfg = tmp_path / "cfg.json"
    out = tmp_path / "o.json"
    cfg.write_text(json.dumps({"iterations": 7, "out": [f"json={out}"]}))
    # script (2) beats the config file (7)
    assert horde_cmd("run", p, "--config", cfg, "-q").returncode == 0
    assert count(read_points(out), "ran") == 2
    # env beats the script
    assert horde_cmd("run", p, "--config", cfg, "-q", env={"HORDE_ITERATIONS": "3"}).returncode == 0
    assert count(read_points(out), "ran") == 3
    # flags beat env
    assert horde_cmd("run", p, "--config", cfg, "-q", "-i", "4", env={"HORDE_ITERATIONS": "3"}).returncode == 0
    assert count(read_points(out), "ran") == 4
    # HORDE_OUT replaces the config file's out list
    out2 = tmp_path / "o2.json"
    assert horde_cmd("run", p, "--config", cfg, "-q", env={"HORDE_OUT": f"json={out2}"}).returncode == 0
    assert count(read_points(out2), "ran") == 2


def test_first_sigint_interrupts_a_blocking_script(tmp_path, target):
    p = tmp_path / "block.py"
    p.write_text(
        "import time\nfrom horde import Counter\nc = Counter('started')\n"
        "options = {'vus': 2, 'duration': '60s'}\n"
        "async def default(data):\n    c.add(1)\n    time.sleep(60)  # blocks the event loop\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("HORDE_")}
    for workers in ("1", "2"):
        out = tmp_path / f"o{workers}.json"
        proc = subprocess.Popen(
            [HORDE, "run", str(p), "--workers", workers, "-q", "-o", f"json={out}"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            start_new_session=True,
        )
        time.sleep(2.0)
        t0 = time.monotonic()
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=20)
        assert proc.returncode == 105, err
        assert time.monotonic() - t0 < 5
        assert "interrupted" in err
        assert count(read_points(out), "started") >= 1


def test_second_sigint_exits_at_once_even_when_the_script_refuses_to_stop(tmp_path, target):
    p = tmp_path / "stubborn.py"
    p.write_text(
        "import time\n"
        "options = {'vus': 2, 'duration': '60s'}\n"
        "async def default(data):\n"
        "    while True:\n"
        "        try:\n"
        "            time.sleep(60)  # blocks the event loop\n"
        "        except BaseException:\n"
        "            pass  # and swallows the interruption\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("HORDE_")}
    for workers in ("1", "2"):
        proc = subprocess.Popen(
            [HORDE, "run", str(p), "--workers", workers, "-q"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            start_new_session=True,
        )
        time.sleep(2.0)
        os.killpg(proc.pid, signal.SIGINT)
        time.sleep(0.5)
        assert proc.poll() is None  # the first interrupt cannot end a script that swallows it
        t0 = time.monotonic()
        os.killpg(proc.pid, signal.SIGINT)
        proc.communicate(timeout=10)
        assert proc.returncode == 105
        assert time.monotonic() - t0 < 1.5


def test_progress_line_on_a_terminal_only(tmp_path, target):
    import pty
    import select

    p = tmp_path / "slow.py"
    p.write_text(
        "from horde import sleep\noptions = {'vus': 2, 'duration': '2500ms'}\n"
        "async def default(data):\n    await sleep(0.05)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("HORDE_")}
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [HORDE, "run", str(p), "--workers", "1", "--no-summary"], stdout=subprocess.DEVNULL, stderr=slave, env=env
    )
    os.close(slave)
    seen = b""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # the terminal closed: the run is over
                break
            if not chunk:
                break
            seen += chunk
        elif proc.poll() is not None:
            break
    proc.wait(timeout=30)
    os.close(master)
    assert proc.returncode == 0
    assert re.search(rb"running \(0\d\.\ds\), 2/2 VUs, \d+ complete and 0 interrupted iterations", seen), seen
    # not a terminal: no progress line
    r = subprocess.run(
        [HORDE, "run", str(p), "--workers", "1", "--no-summary"], capture_output=True, text=True, env=env, timeout=30
    )
    assert r.returncode == 0 and "running (" not in r.stderr
