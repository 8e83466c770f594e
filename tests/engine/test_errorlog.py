"""Script errors: the first of each kind logged, the rest counted and summarised, totals at the end."""

from __future__ import annotations

import asyncio
import logging
import sys

from horde.engine.errorlog import MAX_KINDS, ErrorCounts, ErrorLog, error_key
from horde.engine.pacing import Pacer
from horde.engine.watchdog import script_running


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_first_error_in_full_then_one_summary_a_second(caplog):
    clock = Clock()
    log = ErrorLog(logging.getLogger("test.errors"), clock)
    key = ("KeyError: 'TARGET'", "script.py:13 (default)")
    with caplog.at_level(logging.ERROR, logger="test.errors"):
        for _ in range(10_000):
            log.add(key)
        clock.now += 0.5
        log.add(key)
        assert [r.getMessage() for r in caplog.records] == ["KeyError: 'TARGET' at script.py:13 (default)"]
        clock.now += 0.6
        log.add(key)
        assert len(caplog.records) == 2
        assert caplog.records[1].getMessage().startswith("10001 more script errors in the last 1.1s: 10001x KeyError")
    assert log.total == 10_002
    assert log.report() == [
        "script errors: 10002 in 1 distinct kind(s)",
        "  10002x KeyError: 'TARGET' at script.py:13 (default)",
    ]


def test_distinct_kinds_are_capped():
    log = ErrorLog(logging.getLogger("test.errors.cap"), Clock())
    for i in range(MAX_KINDS + 50):
        log.add((f"ValueError: {i}", ""))
    assert len(log.totals) == MAX_KINDS + 1  # the rest under one "other errors" kind
    assert log.total == MAX_KINDS + 50


def test_worker_counts_merge_into_one_log(caplog):
    counts = ErrorCounts()
    for _ in range(5):
        counts.add(("RuntimeError: boom", "s.py:3 (default)"))
    log = ErrorLog(logging.getLogger("test.errors.merge"), Clock())
    with caplog.at_level(logging.ERROR, logger="test.errors.merge"):
        log.merge(counts.take())
    assert counts.take() == []
    assert log.totals == {("RuntimeError: boom", "s.py:3 (default)"): 5}
    assert len(caplog.records) == 1


def test_error_key_names_the_innermost_script_frame(tmp_path):
    path = tmp_path / "s.py"
    path.write_text("def inner():\n    raise KeyError('TARGET')\n\ndef outer():\n    inner()\n")
    code = compile(path.read_text(), str(path), "exec")
    ns: dict = {}
    exec(code, ns)
    try:
        ns["outer"]()
    except KeyError as exc:
        assert error_key(exc, str(path)) == ("KeyError: 'TARGET'", "s.py:2 (inner)")


def test_script_running_walks_the_stack(tmp_path):
    assert script_running(sys._getframe(), __file__)
    assert not script_running(sys._getframe(), str(tmp_path / "other.py"))


def test_pacer_holds_vus_while_the_pipeline_is_behind():
    backlog = [10]
    pacer = Pacer(lambda: backlog[0], 5)

    async def main() -> int:
        async def drain() -> None:
            await asyncio.sleep(0.05)
            backlog[0] = 0

        task = asyncio.ensure_future(drain())
        await pacer.pause()  # returns only once the pipeline caught up
        assert task.done()
        return pacer.paused

    assert asyncio.run(main()) == 1


def test_repeated_script_error_counted_in_process(script, run_script):
    path = script("""
        options = {"vus": 2, "iterations": 50}
        async def default(data):
            raise ValueError("always")
    """)
    res = run_script(path)
    assert res.code == 0
    assert res.run.script_errors == 50
    assert list(res.run.errors.totals.values()) == [50]
