"""Execution segments in a horde run: options, environment, flags, ``--instance`` and ``--workers``."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from conftest import HORDE
from horde.commands.segment_flags import parse_instance, segment_flags
from horde.engine.options import env_options
from horde.engine.scenarios import scenarios_from_options
from horde.engine.segment import segment_scenario, share_from_options, split_scenarios
from horde.errors import ExitCode, UserError
from horde.segments import Segment, SegmentSequence, Share, execution_tuple

TIMEOUT = 60

ALL = {
    "scenarios": {
        "si": {"executor": "shared-iterations", "vus": 7, "iterations": 20},
        "pv": {"executor": "per-vu-iterations", "vus": 7, "iterations": 3},
        "cv": {"executor": "constant-vus", "vus": 7, "duration": "1s"},
        "rv": {"executor": "ramping-vus", "startVUs": 0, "stages": [{"duration": "1s", "target": 7}]},
        "car": {"executor": "constant-arrival-rate", "rate": 30, "duration": "1s", "preAllocatedVUs": 4, "maxVUs": 7},
        "rar": {"executor": "ramping-arrival-rate", "preAllocatedVUs": 5, "stages": [{"duration": "1s", "target": 9}]},
    }
}


def _share(segment: str, sequence: str) -> Share:
    return Share((execution_tuple(Segment.parse(segment), SegmentSequence.parse(sequence)),))


def test_every_executor_takes_k6s_share():
    scs = {s.name: s for s in scenarios_from_options(ALL)}
    sequence = "0,1/3,2/3,1"
    cut = [
        {sc.name: sc for sc in (segment_scenario(s, _share(seg, sequence)) for s in scs.values()) if sc}
        for seg in ("0:1/3", "1/3:2/3", "2/3:1")
    ]
    # 7 VUs over thirds: 3, 2, 2; shared iterations striped by the VUs' re-cut sequence: 9, 6, 5 (k6 runs the same)
    assert [c["si"].vus for c in cut] == [3, 2, 2]
    assert [c["si"].iterations for c in cut] == [9, 6, 5]
    assert [(c["pv"].vus, c["pv"].iterations) for c in cut] == [(3, 3), (2, 3), (2, 3)]
    assert [c["cv"].vus for c in cut] == [3, 2, 2]
    assert [c["rv"].max_vus_needed for c in cut] == [3, 2, 2]
    assert [c["rv"].stages == scs["rv"].stages for c in cut] == [True] * 3  # the ramp stays whole
    assert [(c["car"].pre_allocated_vus, c["car"].max_vus) for c in cut] == [(2, 3), (1, 2), (1, 2)]
    assert [c["rar"].max_vus for c in cut] == [2, 2, 1]
    # the arrival rates' iterations, striped by the maxVUs' re-cut sequence, are disjoint and complete
    for name in ("car", "rar"):
        firsts = sorted(c[name].share.unscaled(j) for c in cut for j in range(c[name].share.scale(70)))
        assert firsts == list(range(70))


def test_a_segment_with_nothing_to_do_gets_no_scenario():
    sc = scenarios_from_options({"vus": 1, "iterations": 1})[0]
    assert segment_scenario(sc, _share("1/3:2/3", "0,1/3,2/3,1")) is None
    assert segment_scenario(sc, _share("0:1/3", "0,1/3,2/3,1")) is not None


def test_workers_split_the_instance_share_exactly():
    scs = scenarios_from_options(ALL)
    share = _share("1/5:1/2", "0,1/5,1/2,1")
    whole = {s.name: s for s in (segment_scenario(sc, share) for sc in scs) if s}
    parts = split_scenarios(scs, share, 2)
    by = lambda name: [s for p in parts for s in p if s.name == name]  # noqa: E731
    assert sum(s.vus for s in by("si")) == whole["si"].vus
    assert sum(s.iterations for s in by("si")) == whole["si"].iterations
    assert sum(s.vus for s in by("pv")) == whole["pv"].vus
    assert sum(s.max_vus_needed for s in by("rv")) == whole["rv"].max_vus_needed
    mine = sorted(s.share.unscaled(j) for s in by("car") for j in range(s.share.scale(100)))
    assert mine == [whole["car"].share.unscaled(j) for j in range(whole["car"].share.scale(100))]


def test_options_and_their_errors():
    assert share_from_options({}).is_full
    assert share_from_options({"executionSegment": "0:1"}).is_full
    assert str(share_from_options({"executionSegment": "25%:50%"}).segment) == "1/4:1/2"
    share = share_from_options({"executionSegment": "1/3:2/3", "executionSegmentSequence": "0,1/3,2/3,1"})
    assert share.scale(7) == 2
    for options, message in (
        ({"executionSegment": "55%:50%"}, "invalid executionSegment '55%:50%': segment start(0.55) must be less"),
        ({"executionSegmentSequence": "0,1/2,1"}, "provided segment 0:1 can't be found in sequence 0,1/2,1"),
        ({"executionSegment": 0.5}, "invalid executionSegment 0.5: expected a string"),
    ):
        with pytest.raises(UserError) as info:
            share_from_options(options)
        assert str(info.value).startswith(message) and info.value.exit_code == ExitCode.INVALID_CONFIG


def test_environment_horde_wins_over_k6():
    env = {"K6_EXECUTION_SEGMENT": "0:1/2", "K6_EXECUTION_SEGMENT_SEQUENCE": "0,1/2,1"}
    assert env_options(env) == {"executionSegment": "0:1/2", "executionSegmentSequence": "0,1/2,1"}
    env["HORDE_EXECUTION_SEGMENT"] = "1/2:1"
    assert env_options(env)["executionSegment"] == "1/2:1"


def test_flags_and_the_instance_shorthand():
    assert segment_flags("1/3:2/3", "0,1/3,2/3,1", None, {}) == {
        "executionSegment": "1/3:2/3",
        "executionSegmentSequence": "0,1/3,2/3,1",
    }
    assert segment_flags(None, None, "2/4", {}) == {
        "executionSegment": "1/4:1/2",
        "executionSegmentSequence": "0,1/4,1/2,3/4,1",
        "instance_id": "2",
    }
    assert parse_instance("4", {"JOB_COMPLETION_INDEX": "2"}) == (3, 4)
    for args, env, text in (
        (("abc", None, None), {}, "invalid --execution-segment 'abc'"),
        ((None, "0.5", None), {}, "invalid --execution-segment-sequence '0.5': at least 2 points"),
        (("1/2", None, "1/2"), {}, "--instance sets the execution segment and sequence"),
        ((None, None, "5/4"), {}, "invalid --instance '5/4': instance 5/4: expected 1 <= I <= N"),
        ((None, None, "x/4"), {}, "invalid --instance 'x/4': expected I/N"),
        ((None, None, "4"), {}, "invalid --instance '4': expected I/N, or N with JOB_COMPLETION_INDEX set"),
    ):
        with pytest.raises(UserError) as info:
            segment_flags(*args, env)
        assert str(info.value).startswith(text) and info.value.exit_code == ExitCode.GENERIC


SCRIPT = """
import os
options = {"scenarios": {
    "si": {"executor": "shared-iterations", "vus": 7, "iterations": 20},
    "car": {"executor": "constant-arrival-rate", "rate": 30, "duration": "1050ms", "preAllocatedVUs": 4, "maxVUs": 7},
}}
async def default(data):
    pass
"""


def _run(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> tuple[dict, dict]:
    script = tmp_path / "s.py"
    script.write_text(SCRIPT)
    export = tmp_path / f"summary-{len(list(tmp_path.iterdir()))}.json"
    out = tmp_path / f"out-{len(list(tmp_path.iterdir()))}.json"
    r = subprocess.run(
        [HORDE, "run", "-q", "--summary-export", str(export), "--out", f"json={out}", *args, str(script)],
        capture_output=True,
        timeout=TIMEOUT,
        env={**os.environ, **(env or {})},
        text=True,
    )
    assert r.returncode == 0, r.stderr
    points = [json.loads(line) for line in out.read_text().splitlines()]
    tags = {
        p["data"]["tags"].get("instance_id") for p in points if p["type"] == "Point" and p["metric"] == "iterations"
    }
    return json.loads(export.read_text())["metrics"], {"instance_id": tags}


def test_instances_with_workers_run_exactly_the_whole_test(tmp_path):
    """Four instances (--instance I/4), each split over 2 workers: together 20 + 32 iterations, tagged."""
    total = 0
    for i in range(1, 5):
        metrics, tags = _run(tmp_path, "--instance", f"{i}/4", "--workers", "2")
        assert tags["instance_id"] == {str(i)}
        total += metrics["iterations"]["count"]
    assert total == 20 + 32


def test_workers_run_what_one_process_runs_in_the_same_segment(tmp_path):
    one, _ = _run(
        tmp_path, "--execution-segment", "1/5:1/2", "--execution-segment-sequence", "0,1/5,1/2,1", "--workers", "1"
    )
    two, _ = _run(
        tmp_path,
        "--workers",
        "3",
        env={"HORDE_EXECUTION_SEGMENT": "1/5:1/2", "K6_EXECUTION_SEGMENT_SEQUENCE": "0,1/5,1/2,1"},
    )
    assert one["iterations"]["count"] == two["iterations"]["count"] == 15  # what k6 v1.1.0 runs with these flags
