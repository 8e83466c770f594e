"""setup() once and teardown() once across the instances of a distributed run (the engine's side).

The coordinator here is the contract's in-process form (what an output such as
horde-out-cloud returns from ``setup_coordinator``); the whole path through a
real horde-insights is tested in plugins/out-cloud/tests/test_distributed.py.
"""

from __future__ import annotations

import json
import time

import pytest
from horde.engine import shared_lifecycle
from horde.errors import AbortReason, ExitCode, RunError
from horde.output import Provider, SetupCoordinator, SetupFailed, hookimpl
from horde.output.registry import load_registry


class Board:
    """What the instances of one run share: the published setup data (or error) and the calls made."""

    def __init__(self, data=None, error=None, peers_missing=()):
        self.published = data
        self.error = error
        self.peers_missing = list(peers_missing)
        self.calls: list[str] = []


class Coordinator:
    def __init__(self, board: Board, fetch_raises: BaseException | None = None) -> None:
        self.board = board
        self.fetch_raises = fetch_raises

    def publish(self, data, timeout):
        self.board.calls.append("publish")
        self.board.published = data
        return data

    def publish_error(self, message, timeout):
        self.board.calls.append("publish_error")
        self.board.error = message

    def fetch(self, timeout):
        self.board.calls.append("fetch")
        if self.fetch_raises is not None:
            raise self.fetch_raises
        if self.board.error is not None:
            raise SetupFailed(self.board.error)
        return self.board.published

    def wait_for_peers(self, timeout):
        self.board.calls.append("wait_for_peers")
        return self.board.peers_missing


class Sharing:
    """An output that joins a distributed run: offers the coordinator given by its ``--out`` argument."""

    coordinators: dict[str, Coordinator] = {}

    def __init__(self, params):
        self.coordinator = self.coordinators.get(params.config_argument)

    @hookimpl
    def description(self):
        return "sharing"

    @hookimpl
    def start(self):
        pass

    @hookimpl
    def setup_coordinator(self):
        return self.coordinator

    @hookimpl
    def add_samples(self, samples):
        pass

    @hookimpl
    def stop(self, error):
        pass


class Stopping(Sharing):
    """Stops the run with k6's cloud-abort error (exit code 105, reason output) once samples arrive."""

    @hookimpl
    def set_test_run_stop(self, stop):
        self.stop_run = stop

    @hookimpl
    def add_samples(self, samples):
        if samples and not getattr(self, "stopped", False):
            self.stopped = True
            self.stop_run(RunError("the test run was stopped", exit_code=ExitCode.EXTERNAL_ABORT))


def registry():
    reg = load_registry({"HORDE_DISABLE_PLUGIN_AUTOLOAD": "1"})
    reg.register_extension("sharing", Sharing, provider=Provider("test-sharing", "1.0"))
    reg.register_extension("stopping", Stopping, provider=Provider("test-stopping", "1.0"))
    return reg


SCRIPT = """
import json
import time
from pathlib import Path
from horde import env

options = {OPTIONS}

def log(what, data):
    with open(env["LOG"], "a") as f:
        f.write(json.dumps([what, data]) + "\\n")

async def setup():
    log("setup", None)
    if env.get("SETUP_FAILS"):
        raise RuntimeError("no token for the target")
    return {"token": "abc", "ids": (1, 2, 3)}

async def default(data):
    log("iteration", data)

async def teardown(data):
    log("teardown", data)
"""


def events(tmp_path):
    path = tmp_path / "events.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def write(script, options):
    return script(SCRIPT.replace("{OPTIONS}", repr(options)))


@pytest.mark.parametrize(
    "options,first",
    [({}, True), ({"executionSegment": "0:1/4"}, True), ({"executionSegment": "1/4"}, True),
     ({"executionSegment": "0%:50%"}, True), ({"executionSegment": "1/4:2/4"}, False),
     ({"executionSegment": "50%:100%"}, False),
     ({"executionSegment": "1/3:2/3", "executionSegmentSequence": "0,1/3,2/3,1"}, False)],
)  # fmt: skip
def test_the_first_instance_is_the_one_whose_segment_starts_at_zero(script, run_script, tmp_path, options, first):
    board = Board(data={"token": "x"})
    Sharing.coordinators = {"me": Coordinator(board)}
    path = write(script, {"vus": 1, "iterations": 4, **options})
    res = run_script(path, outs=["sharing=me"], registry=registry(), env={"LOG": str(tmp_path / "events.jsonl")})
    assert res.code == 0, res.stdout
    assert board.calls == (["publish", "wait_for_peers"] if first else ["fetch"])


def test_the_first_instance_runs_setup_publishes_json_data_and_waits_for_the_others_before_teardown(
    script, run_script, tmp_path
):
    board = Board()
    Sharing.coordinators = {"first": Coordinator(board)}
    path = write(script, {"iterations": 2, "executionSegment": "0:1/2"})
    res = run_script(path, outs=["sharing=first"], registry=registry(), env={"LOG": str(tmp_path / "events.jsonl")})
    assert res.code == 0, res.stdout
    data = {"token": "abc", "ids": [1, 2, 3]}  # as JSON carries it: every instance sees the same data
    assert board.published == data
    assert board.calls == ["publish", "wait_for_peers"]
    ev = events(tmp_path)
    assert [e[0] for e in ev] == ["setup", "iteration", "iteration", "teardown"]
    assert all(e[1] == data for e in ev[1:])


def test_another_instance_receives_the_data_and_runs_neither_setup_nor_teardown(script, run_script, tmp_path):
    board = Board(data={"token": "from-the-first"})
    Sharing.coordinators = {"other": Coordinator(board)}
    path = write(script, {"vus": 2, "iterations": 2, "executionSegment": "1/2:1"})
    res = run_script(path, outs=["sharing=other"], registry=registry(), env={"LOG": str(tmp_path / "events.jsonl")})
    assert res.code == 0, res.stdout
    assert board.calls == ["fetch"]
    assert events(tmp_path) == [["iteration", {"token": "from-the-first"}]]  # its segment: 1 of the 2 iterations
    assert res.run.setup_data == {"token": "from-the-first"}


def test_without_a_coordinator_every_instance_runs_setup_and_teardown(script, run_script, tmp_path):
    Sharing.coordinators = {}
    path = write(script, {"vus": 2, "iterations": 2, "executionSegment": "1/2:1"})
    res = run_script(path, outs=["sharing"], registry=registry(), env={"LOG": str(tmp_path / "events.jsonl")})
    assert res.code == 0
    assert [e[0] for e in events(tmp_path)] == ["setup", "iteration", "teardown"]


def test_a_setup_error_on_the_first_instance_is_published_and_fails_the_others(script, run_script, tmp_path, caplog):
    board = Board()
    Sharing.coordinators = {"first": Coordinator(board), "other": Coordinator(board)}
    env = {"LOG": str(tmp_path / "events.jsonl"), "SETUP_FAILS": "1"}
    first = run_script(write(script, {"iterations": 1}), outs=["sharing=first"], registry=registry(), env=env)
    assert first.code == ExitCode.SCRIPT_EXCEPTION
    assert board.error.startswith("RuntimeError: no token for the target at script.py:")
    caplog.clear()
    other = run_script(
        write(script, {"iterations": 1, "executionSegment": "1/2:1"}),
        outs=["sharing=other"],
        registry=registry(),
        env=env,
    )
    assert other.code == ExitCode.SCRIPT_EXCEPTION
    assert other.run.error.reason == AbortReason.SCRIPT_ERROR
    assert "setup() failed on the first instance: RuntimeError: no token for the target" in caplog.text
    assert [e[0] for e in events(tmp_path)] == ["setup"]  # only the first instance ran setup(), no iteration


def test_setup_data_that_never_arrives_ends_with_the_setup_timeout_code(script, run_script, tmp_path, caplog):
    Sharing.coordinators = {"other": Coordinator(Board(), fetch_raises=TimeoutError())}
    path = write(script, {"iterations": 1, "executionSegment": "1/2:1", "setupTimeout": "2s"})
    res = run_script(path, outs=["sharing=other"], registry=registry(), env={"LOG": str(tmp_path / "events.jsonl")})
    assert res.code == ExitCode.SETUP_TIMEOUT == 100
    assert "setup() data from the first instance did not arrive within 2 seconds (setupTimeout)" in caplog.text
    assert events(tmp_path) == []


class Hung(Coordinator):
    def fetch(self, timeout):
        time.sleep(timeout + 30)  # ignores its timeout


def test_a_hung_coordinator_call_is_abandoned_past_its_timeout(script, run_script, tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(shared_lifecycle, "GRACE", 0.2)
    Sharing.coordinators = {"other": Hung(Board())}
    path = write(script, {"iterations": 1, "executionSegment": "1/2:1", "setupTimeout": "1s"})
    started = time.monotonic()
    res = run_script(path, outs=["sharing=other"], registry=registry(), env={"LOG": str(tmp_path / "events.jsonl")})
    assert res.code == ExitCode.SETUP_TIMEOUT
    assert time.monotonic() - started < 20
    assert "did not arrive within 1 seconds (setupTimeout)" in caplog.text


def test_instances_still_running_at_teardown_timeout_are_named(script, run_script, tmp_path, caplog):
    Sharing.coordinators = {"first": Coordinator(Board(peers_missing=["3"]))}
    path = write(script, {"iterations": 1, "teardownTimeout": "3s"})
    res = run_script(path, outs=["sharing=first"], registry=registry(), env={"LOG": str(tmp_path / "events.jsonl")})
    assert res.code == 0
    assert "instance(s) 3 did not finish within 3 seconds (teardownTimeout); running teardown() now" in caplog.text
    assert [e[0] for e in events(tmp_path)][-1] == "teardown"


def test_setup_data_that_is_not_json_fails_clearly(script, run_script, tmp_path, caplog):
    board = Board()
    Sharing.coordinators = {"first": Coordinator(board)}
    body = SCRIPT.replace('return {"token": "abc", "ids": (1, 2, 3)}', "return {1, 2}")
    path = script(body.replace("{OPTIONS}", repr({"iterations": 1})))
    res = run_script(path, outs=["sharing=first"], registry=registry(), env={"LOG": str(tmp_path / "events.jsonl")})
    assert res.code == ExitCode.SCRIPT_EXCEPTION
    assert "cannot be shared with the other instances as JSON" in board.error
    assert "cannot be shared with the other instances as JSON" in caplog.text


def test_an_output_stopping_the_run_with_a_run_error_keeps_its_exit_code(script, run_script, tmp_path):
    Sharing.coordinators = {}
    path = write(script, {"vus": 1, "duration": "30s"})
    res = run_script(path, outs=["stopping"], registry=registry(), env={"LOG": str(tmp_path / "events.jsonl")})
    assert res.code == ExitCode.EXTERNAL_ABORT == 105
    assert res.run.error.reason == AbortReason.OUTPUT
    assert "output stopping stopped the run: the test run was stopped" in str(res.run.error)


def test_the_coordinator_protocol_is_runtime_checkable():
    assert isinstance(Coordinator(Board()), SetupCoordinator)
