"""The pytest plugin of the conformance kit, registered as ``horde`` through the ``pytest11`` entry point.

A test that requests the ``horde_check`` fixture is run once per conformance check (one pytest item
each, ids such as ``test_conformance[tags_unicode]``); the ``horde_output`` fixture the author defines
says how to build the output and read back its data (:class:`horde.testing.OutputUnderTest`)::

    @pytest.fixture
    def horde_output(tmp_path):
        path = tmp_path / "out.jsonl"
        return OutputUnderTest(build=lambda: MyOutput(Params("mine", config_argument=str(path))),
                               read_samples=lambda: parse(path))

    def test_conformance(horde_check):
        horde_check()
"""

from __future__ import annotations

import pytest

from .checks import CHECKS, Check, CheckContext
from .readback import OutputUnderTest

__all__ = ["BoundCheck", "horde_check", "pytest_addoption", "pytest_configure", "pytest_generate_tests"]

FIXTURE = "horde_check"


class BoundCheck:
    """One check bound to the author's output: call it to run the check."""

    def __init__(self, check: Check, context: CheckContext) -> None:
        self.check = check
        self.context = context

    @property
    def name(self) -> str:
        return self.check.name

    def __call__(self) -> None:
        self.check.run(self.context)

    def __repr__(self) -> str:
        return f"BoundCheck({self.check.name!r})"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("horde", "horde output conformance kit")
    group.addoption(
        "--horde-bulk-samples",
        type=int,
        default=None,
        metavar="N",
        help="samples sent by the million_samples_without_loss check (default 1000000)",
    )
    parser.addini("horde_bulk_samples", "samples sent by the million_samples_without_loss check", default="1000000")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "horde_conformance: a test run once per horde output conformance check")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """One item per check for every test that requests ``horde_check``."""
    if FIXTURE in metafunc.fixturenames:
        metafunc.parametrize(FIXTURE, list(CHECKS.values()), indirect=True, ids=list(CHECKS))


def _bulk_samples(config: pytest.Config) -> int:
    value = config.getoption("horde_bulk_samples")
    return int(value if value is not None else config.getini("horde_bulk_samples"))


@pytest.fixture
def horde_check(request: pytest.FixtureRequest, horde_output: OutputUnderTest) -> BoundCheck:
    """The check of this item, bound to the author's ``horde_output`` fixture (which may itself be
    parametrized); skipped or marked xfail as the output declares."""
    check: Check = request.param
    uut = horde_output
    if not isinstance(uut, OutputUnderTest):
        raise TypeError(f"the horde_output fixture must return horde.testing.OutputUnderTest, not {type(uut).__name__}")
    unknown = set(uut.xfail) - set(CHECKS)
    if unknown:
        raise ValueError(f"horde_output.xfail names unknown checks {sorted(unknown)}; checks are: {', '.join(CHECKS)}")
    lacking = sorted(check.needs & frozenset(uut.lacks))
    if lacking:
        pytest.skip(f"the output declares it lacks {', '.join(lacking)}")
    reason = uut.xfail.get(check.name)
    if reason:
        request.applymarker(pytest.mark.xfail(reason=reason, strict=True))
    context = CheckContext(uut, bulk_samples=_bulk_samples(request.config), hook=check.hook)
    return BoundCheck(check, context)
