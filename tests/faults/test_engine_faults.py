"""Engine faults: scripts that never await, raise every iteration, burn CPU, block, or are mis-declared;
signals mid-run. Each runs the real ``horde run`` with a hard timeout and checks the wall time, the peak
memory of all horde processes, the exit code, what the user sees and that the json output holds exactly
the summary export's counts."""

from __future__ import annotations

import signal
import textwrap
from pathlib import Path

import pytest
from harness import assert_json_matches_export, json_counts, json_records, run_horde

WORKERS = [pytest.param(["--workers", "1"], id="w1"), pytest.param([], id="default-workers")]

README_EXAMPLE = """
from horde import http, check, group, sleep, env, Trend

checkout = Trend("checkout_time", True)

options = {
    "vus": 2, "duration": "3s",
    "thresholds": {"http_req_duration": ["p(95)<500"], "checks": ["rate>0.99"]},
}

async def default(data):
    with group("shop"):
        res = await http.get(env["TARGET"] + "/")
        check(res, {"status is 200": lambda r: r.status == 200})
    await sleep(0.5)
"""


def write(tmp_path: Path, body: str, name: str = "script.py") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(body))
    return path


def outputs(tmp_path: Path) -> tuple[list[str], Path, Path]:
    out, export = tmp_path / "out.json", tmp_path / "export.json"
    return ["-o", f"json={out}", "--summary-export", str(export)], out, export


@pytest.mark.parametrize("vus", ["1", "2"])
def test_iteration_that_never_awaits_ends_on_time_in_bounded_memory(tmp_path, vus):
    script = write(tmp_path, "async def default(data):\n    x = 1\n")
    args, out, export = outputs(tmp_path)
    r = run_horde(["run", "-q", "-d", "2s", "-u", vus, "--workers", "1", script, *args], timeout=60)
    assert r.code == 0, r.stderr
    assert r.wall < 5, f"took {r.wall:.1f}s"
    assert r.peak_mb < 200, f"peak {r.peak_mb:.0f} MB"
    assert r.lines == [], r.lines
    counts = assert_json_matches_export(out, export)
    assert counts["iterations"] > 1000


def test_iteration_that_never_awaits_in_worker_processes(tmp_path):
    script = write(tmp_path, "async def default(data):\n    x = 1\n")
    args, out, export = outputs(tmp_path)
    r = run_horde(["run", "-q", "-d", "2s", "-u", "2", script, *args], timeout=60)
    assert r.code == 0, r.stderr
    assert r.wall < 5, f"took {r.wall:.1f}s"
    assert r.peak_mb < 200, f"peak {r.peak_mb:.0f} MB"
    assert r.lines == [], r.lines
    counts = assert_json_matches_export(out, export)
    assert counts["iterations"] > 1000


@pytest.mark.parametrize("workers", WORKERS)
def test_readme_example_without_target_summarises_its_error(tmp_path, workers):
    script = write(tmp_path, README_EXAMPLE)
    args, out, export = outputs(tmp_path)
    r = run_horde(["run", "-q", *workers, script, *args], timeout=60)
    assert r.code == 0, r.stderr  # as k6: errors in iterations do not fail the run
    assert r.wall < 3 + 4, f"took {r.wall:.1f}s"
    assert r.peak_mb < 200, f"peak {r.peak_mb:.0f} MB"
    first = [line for line in r.lines if "KeyError: 'TARGET' at script.py:13 (default)" in line]
    assert first and first[0].startswith("ERRO["), r.lines
    summaries = [line for line in r.lines if "more script errors in the last" in line]
    assert len(summaries) <= 3 + 1, summaries  # at most one a second
    assert len(r.lines) <= 3 + 1 + 3, r.lines  # the first error, the summaries, the end-of-run list
    assert "script errors:" in r.stderr
    total = int(r.stderr.split("script errors: ")[1].split()[0])
    counts = assert_json_matches_export(out, export)
    assert counts["iterations"] == total > 100


STUCK_BODIES = {
    "cpu": "async def default(data):\n    while True:\n        pass\n",
    "blocking": "import time\n\nasync def default(data):\n    time.sleep(100)\n",
}
EXECUTORS = {
    "duration": {"executor": "constant-vus", "vus": 2, "duration": "2s", "gracefulStop": "1s"},
    "stages": {
        "executor": "ramping-vus",
        "startVUs": 1,
        "gracefulStop": "1s",
        "gracefulRampDown": "1s",
        "stages": [{"duration": "1s", "target": 2}, {"duration": "1s", "target": 2}],
    },
}


@pytest.mark.parametrize("workers", WORKERS)
@pytest.mark.parametrize("executor", sorted(EXECUTORS))
@pytest.mark.parametrize("kind", sorted(STUCK_BODIES))
def test_stuck_iteration_is_interrupted_after_graceful_stop(tmp_path, kind, executor, workers):
    options = {"scenarios": {"stuck": EXECUTORS[executor]}}
    script = write(tmp_path, f"options = {options!r}\n" + STUCK_BODIES[kind])
    args, out, export = outputs(tmp_path)
    r = run_horde(["run", "-q", *workers, script, *args], timeout=60)
    assert r.code == 0, r.stderr
    assert r.wall < 2 + 1 + 4, f"took {r.wall:.1f}s"  # duration + gracefulStop + start and end
    assert r.peak_mb < 200, f"peak {r.peak_mb:.0f} MB"
    assert len(r.lines) == 1 and "iteration(s) were interrupted" in r.lines[0], r.lines
    assert_json_matches_export(out, export)


@pytest.mark.parametrize("workers", WORKERS)
def test_stuck_iteration_ramped_down_is_interrupted_after_graceful_ramp_down(tmp_path, workers):
    stages = [{"duration": "1s", "target": 1}, {"duration": "0s", "target": 0}, {"duration": "3s", "target": 0}]
    options = {
        "scenarios": {
            "down": {
                "executor": "ramping-vus",
                "startVUs": 1,
                "stages": stages,
                "gracefulRampDown": "1s",
                "gracefulStop": "30s",
            }
        }
    }
    script = write(tmp_path, f"options = {options!r}\n" + STUCK_BODIES["blocking"])
    args, out, export = outputs(tmp_path)
    r = run_horde(["run", "-q", *workers, script, *args], timeout=60)
    assert r.code == 0, r.stderr
    assert r.wall < 4 + 4, f"took {r.wall:.1f}s"  # the stages, not gracefulStop's 30 s
    assert len(r.lines) == 1 and "iteration(s) were interrupted" in r.lines[0], r.lines
    assert_json_matches_export(out, export)


HTTP_SCRIPT = """
from horde import http, env, sleep
options = {"vus": 4, "duration": "60s"}
async def default(data):
    await http.get(env["TARGET"] + "/")
    await sleep(0.01)
"""


@pytest.mark.parametrize("workers", WORKERS)
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_first_signal_stops_gracefully(tmp_path, target, sig, workers):
    script = write(tmp_path, HTTP_SCRIPT)
    args, out, export = outputs(tmp_path)
    r = run_horde(
        ["run", "-q", *workers, script, "-e", f"TARGET={target.url}", *args], timeout=60, signals=[(3.0, sig)]
    )
    assert r.code == 105, r.stderr
    assert r.since_last_signal() < 5, f"took {r.since_last_signal():.1f}s after the signal"
    assert r.peak_mb < 200, f"peak {r.peak_mb:.0f} MB"
    assert "Stopping the test gracefully" in r.stderr
    assert "test run aborted by signal" in r.lines[-1]
    counts = assert_json_matches_export(out, export)
    assert counts["http_reqs"] > 10


@pytest.mark.parametrize("workers", WORKERS)
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_second_signal_exits_within_a_second_with_valid_json(tmp_path, target, sig, workers):
    script = write(tmp_path, HTTP_SCRIPT)
    args, out, _ = outputs(tmp_path)
    r = run_horde(
        ["run", "-q", *workers, script, "-e", f"TARGET={target.url}", *args],
        timeout=60,
        signals=[(3.0, sig), (3.05, sig)],
    )
    assert r.code == 105, r.stderr
    assert r.since_last_signal() < 1.0 + 0.3, f"took {r.since_last_signal():.2f}s after the second signal"
    assert "Stopping now (second interrupt)." in r.stderr
    records = json_records(out)  # every line is valid JSON
    assert any(rec["type"] == "Point" for rec in records)


@pytest.mark.parametrize("workers", WORKERS)
def test_second_signal_exits_even_when_script_code_blocks_and_swallows_interrupts(tmp_path, workers):
    script = write(
        tmp_path,
        """
        import time
        options = {"vus": 1, "duration": "60s"}
        async def default(data):
            while True:
                try:
                    time.sleep(100)
                except BaseException:
                    pass
    """,
    )
    args, out, _ = outputs(tmp_path)
    r = run_horde(
        ["run", "-q", *workers, script, *args], timeout=60, signals=[(2.0, signal.SIGINT), (2.5, signal.SIGINT)]
    )
    assert r.code == 105, r.stderr
    assert r.since_last_signal() < 1.0 + 0.3, f"took {r.since_last_signal():.2f}s after the second signal"
    json_records(out)


@pytest.mark.parametrize(
    "entry,body",
    [
        ("default", "def default(data):\n    pass\n"),
        ("setup", "def setup():\n    return 1\nasync def default(data):\n    pass\n"),
        ("teardown", "async def default(data):\n    pass\ndef teardown(data):\n    pass\n"),
        (
            "hit",
            "options = {'scenarios': {'s': {'executor': 'shared-iterations', 'exec': 'hit'}}}\n"
            "def hit(data):\n    pass\n",
        ),
    ],
)
def test_plain_def_entry_function_is_exit_107_in_one_line(tmp_path, entry, body):
    script = write(tmp_path, body)
    r = run_horde(["run", "-q", script], timeout=30)
    assert r.code == 107
    assert len(r.lines) == 1, r.lines
    assert f"{entry} must be declared `async def {entry}(" in r.lines[0]
    assert "Traceback" not in r.stderr


def _assert_unawaited_reported(r, call: str) -> None:
    """The run went on and reported its 6 iterations' ``call`` without await, at script.py:5, as one kind."""
    assert r.code == 0, r.stderr
    assert f"UnawaitedCoroutine: `{call}` calls a coroutine without await" in r.lines[0], r.lines
    assert "at script.py:5" in r.lines[0]
    assert "script errors: 6 in 1 distinct kind(s)" in r.stderr
    assert "never awaited" not in r.stderr


@pytest.mark.parametrize("workers", WORKERS)
def test_unawaited_http_get_is_a_counted_error(tmp_path, target, workers):
    script = write(
        tmp_path,
        """
        from horde import http, env
        options = {"vus": 2, "iterations": 6}
        async def default(data):
            http.get(env["TARGET"] + "/")
    """,
    )
    args, out, export = outputs(tmp_path)
    r = run_horde(["run", "-q", *workers, script, "-e", f"TARGET={target.url}", *args], timeout=30)
    _assert_unawaited_reported(r, 'http.get(env["TARGET"] + "/")')
    counts = assert_json_matches_export(out, export)
    assert counts["iterations"] == 6 and "http_reqs" not in json_counts(out)


@pytest.mark.parametrize("workers", WORKERS)
def test_unawaited_sleep_is_a_counted_error(tmp_path, workers):
    """k6's sleep() blocks; horde's must be awaited: a forgotten await is reported, not a silent hot loop."""
    script = write(
        tmp_path,
        """
        from horde import sleep
        options = {"vus": 2, "iterations": 6}
        async def default(data):
            sleep(0.01)
    """,
    )
    r = run_horde(["run", "-q", *workers, script], timeout=30)
    _assert_unawaited_reported(r, "sleep(0.01)")


@pytest.mark.parametrize("phase,code", [("setup", 100), ("teardown", 101)])
@pytest.mark.parametrize("how", ["blocking", "awaiting"])
def test_setup_and_teardown_timeouts(tmp_path, phase, code, how):
    wait = "time.sleep(60)" if how == "blocking" else "await sleep(60)"
    args = "" if phase == "setup" else "data"
    script = write(
        tmp_path,
        f'''
import time
from horde import sleep
options = {{"iterations": 1, "{phase}Timeout": "1s"}}
async def default(data):
    pass
async def {phase}({args}):
    {wait}
''',
    )
    r = run_horde(["run", "-q", "--workers", "1", script], timeout=30)
    assert r.code == code, r.stderr
    assert r.wall < 6, f"took {r.wall:.1f}s"
    assert f"{phase}() execution timed out after 1 seconds" in r.stderr


def test_coordinator_ends_a_worker_whose_script_swallows_interrupts(tmp_path):
    script = write(
        tmp_path,
        """
        import time
        from horde import sleep
        options = {"scenarios": {"s": {"executor": "constant-vus", "vus": 2, "duration": "1s", "gracefulStop": "0s"}}}
        started = [0]
        async def default(data):
            started[0] += 1
            if started[0] < 10:
                await sleep(0.02)
                return
            while True:
                try:
                    time.sleep(100)
                except BaseException:
                    pass
    """,
    )
    args, out, export = outputs(tmp_path)
    r = run_horde(["run", "-q", "--workers", "2", script, *args], timeout=60)
    assert r.code == 0, r.stderr
    assert r.wall < 1 + 3 + 3 + 1 + 4, f"took {r.wall:.1f}s"  # end, worker grace, stop grace, terminate, start
    assert "did not stop in time and was ended" in r.stderr
    assert "iteration(s) were interrupted" in r.stderr
    assert_json_matches_export(out, export)
