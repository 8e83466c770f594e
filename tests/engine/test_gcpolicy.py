"""While VUs run, what existed before is frozen and the young generation is scanned less often."""

from __future__ import annotations

import gc
import json
import weakref

import pytest
from horde.engine.gcpolicy import YOUNG_THRESHOLD, run_gc_policy
from hordecli import run_horde


class _Node:
    def __init__(self) -> None:
        self.other: _Node | None = None


def test_the_policy_freezes_raises_the_threshold_and_restores_both() -> None:
    before = gc.get_threshold()
    with run_gc_policy():
        assert gc.get_threshold() == (YOUNG_THRESHOLD, before[1], before[2])
        assert gc.get_freeze_count() > 1000  # the modules' objects are out of every scan
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_cycles_made_while_it_holds_are_still_collected_without_an_explicit_collect() -> None:
    with run_gc_policy():
        a, b = _Node(), _Node()
        a.other, b.other = b, a
        gone = weakref.ref(a)
        del a, b
        kept = [[i] for i in range(3 * YOUNG_THRESHOLD)]  # live tracked objects: young scans happen
        assert gone() is None
        assert len(kept) == 3 * YOUNG_THRESHOLD


@pytest.mark.parametrize("workers", ["1", "2"])
def test_vus_run_under_the_policy_in_one_process_and_in_workers(tmp_path, workers: str) -> None:
    out = tmp_path / "gc.jsonl"
    script = tmp_path / "script.py"
    script.write_text(
        "import gc, json, os\n"
        "async def default(data):\n"
        f"    with open({str(out)!r}, 'a') as f:\n"
        "        f.write(json.dumps([gc.get_threshold()[0], gc.get_freeze_count() > 0]) + '\\n')\n"
    )
    res = run_horde(
        "run",
        str(script),
        "--vus",
        "2",
        "--iterations",
        "4",
        "--workers",
        workers,
        "--quiet",
        "--no-summary",
        timeout=60,
    )
    assert res.returncode == 0, res.stderr
    seen = [json.loads(line) for line in out.read_text().splitlines()]
    assert seen == [[YOUNG_THRESHOLD, True]] * 4
