"""The conformance kit can fail: run it (pytester, a subprocess) on outputs that each break the contract once
and check it reports red for exactly the checks about that breach, and green on an output that keeps it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from horde.testing import CHECKS

pytest_plugins = ["pytester"]

FIXTURES = Path(__file__).parent / "conformance_fixtures"

MODULE = """
import pytest
from horde.output import Params
from horde.testing import OutputUnderTest
from outputs import {cls}, read_lines


@pytest.fixture
def horde_output(tmp_path):
    path = tmp_path / "lines.jsonl"
    return OutputUnderTest(name="lines", build=lambda: {cls}(Params("lines", config_argument=str(path))),
                           read_samples=lambda: read_lines(path), {declare})


def test_conformance(horde_check):
    horde_check()
"""


def run_kit(pytester: pytest.Pytester, cls: str, bulk: int, declare: str = "") -> tuple[set[str], set[str], str]:
    """Run every check on ``cls``; return the names of the failed and of the passed checks, and the output."""
    pytester.makepyfile(test_kit_on_output=MODULE.format(cls=cls, declare=declare))
    env = {"PYTHONPATH": str(FIXTURES)}
    with pytest.MonkeyPatch.context() as mp:
        for k, v in env.items():
            mp.setenv(k, v)
        result = pytester.runpytest_subprocess(
            "-p", "no:cacheprovider", "-rA", f"--horde-bulk-samples={bulk}", timeout=600
        )
    text = result.stdout.str()
    failed = set(re.findall(r"^FAILED \S+\[(\w+)\]", text, re.M))
    passed = set(re.findall(r"^PASSED \S+\[(\w+)\]", text, re.M))
    return failed, passed, text


def test_the_kit_has_one_item_per_check(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_kit_on_output=MODULE.format(cls="LinesOutput", declare=""))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PYTHONPATH", str(FIXTURES))
        result = pytester.runpytest_subprocess("--collect-only", "-q", "-p", "no:cacheprovider", timeout=120)
    ids = re.findall(r"test_conformance\[(\w+)\]", result.stdout.str())
    assert ids == list(CHECKS)


def test_an_output_that_keeps_the_contract_passes_every_check(pytester: pytest.Pytester) -> None:
    failed, passed, text = run_kit(pytester, "LinesOutput", bulk=20_000)
    assert not failed, text
    hooks_absent = {
        c.name for c in CHECKS.values() if c.hook in ("set_thresholds", "set_run_status", "set_test_run_stop", "report")
    }
    assert passed == set(CHECKS) - hooks_absent, text


def test_one_sample_lost_in_a_million_is_red(pytester: pytest.Pytester) -> None:
    failed, passed, text = run_kit(pytester, "DropsOneInAMillion", bulk=1_000_000)
    assert failed == {"million_samples_without_loss"}, text
    assert "read back 999999" in text, text


def test_a_thread_left_running_is_red(pytester: pytest.Pytester) -> None:
    failed, _, text = run_kit(pytester, "KeepsAThread", bulk=20_000)
    assert failed == {"no_thread_left_after_stop"}, text
    assert "lines-lingering-helper" in text


def test_samples_accepted_after_stop_are_red(pytester: pytest.Pytester) -> None:
    failed, _, text = run_kit(pytester, "AcceptsAfterStop", bulk=20_000)
    assert failed == {"nothing_accepted_after_stop", "add_samples_while_another_thread_stops"}, text
    assert "handed after stop" in text


def test_declared_gaps_skip_and_a_fixed_gap_turns_red(pytester: pytest.Pytester) -> None:
    """``lacks`` skips the checks that need it, with the reason; an ``xfail`` entry is strict: a check that
    passes although declared a gap fails (XPASS strict), so stale declarations cannot hide."""
    failed, passed, text = run_kit(
        pytester,
        "KeepsAThread",
        bulk=20_000,
        declare=('lacks={"metadata"}, xfail={"no_thread_left_after_stop": "keeps a helper", "tags_unicode": "stale"}'),
    )
    assert failed == {"tags_unicode"}, text
    assert "[XPASS(strict)] stale" in text, text
    assert "XFAIL" in text and "keeps a helper" in text, text
    assert "the output declares it lacks metadata" in text, text
    assert "metadata" not in passed and "no_thread_left_after_stop" not in passed


def test_an_unknown_capability_or_check_name_is_one_clear_error(pytester: pytest.Pytester) -> None:
    _, _, text = run_kit(pytester, "LinesOutput", bulk=1000, declare='xfail={"tags_unicod": "typo"}')
    assert "horde_output.xfail names unknown checks ['tags_unicod']" in text, text
    _, _, text = run_kit(pytester, "LinesOutput", bulk=1000, declare='lacks={"threads"}')
    assert "unknown capabilities in lacks: ['threads']" in text, text
