"""The Manager: order, isolation of failing outputs, stop-all-and-report."""

from __future__ import annotations

import logging

import pytest
from horde.errors import AbortReason, RunError
from horde.metrics import EMPTY_TAGS, Metric, MetricType, Sample
from horde.output import OutputStartError, OutputStopError, RunStatus, hookimpl
from horde.output.binding import bind_output, new_plugin_manager
from horde.output.manager import Manager


class Recorder:
    """An output that records every call in a journal shared by all outputs of a test."""

    def __init__(self, journal, name, fail=()):
        self.journal = journal
        self.name = name
        self.fail = set(fail)
        self.batches = []
        self.stop_cb = None

    def _log(self, hook, *args):
        self.journal.append((self.name, hook) + args)
        if hook in self.fail:
            raise RuntimeError(f"{self.name} {hook} exploded")

    @hookimpl
    def description(self):
        self._log("description")
        return f"recorder {self.name}"

    @hookimpl
    def set_thresholds(self, thresholds):
        self._log("set_thresholds", dict(thresholds))

    @hookimpl
    def set_test_run_stop(self, stop):
        self.stop_cb = stop
        self._log("set_test_run_stop")

    @hookimpl
    def start(self):
        self._log("start")

    @hookimpl
    def add_samples(self, samples):
        self.batches.append(samples)
        self._log("add_samples")

    @hookimpl
    def set_run_status(self, status):
        self._log("set_run_status", status)

    @hookimpl
    def stop(self, error):
        self._log("stop", error)


class Minimal:
    """Only the required hooks."""

    def __init__(self, journal):
        self.journal = journal

    @hookimpl
    def description(self):
        return "minimal"

    @hookimpl
    def start(self):
        self.journal.append(("minimal", "start"))

    @hookimpl
    def add_samples(self, samples):
        self.journal.append(("minimal", "add_samples"))

    @hookimpl
    def stop(self, error):
        self.journal.append(("minimal", "stop", error))


def _manager(*objs):
    pm = new_plugin_manager()
    outs = [bind_output(name, obj, pm) for name, obj in objs]
    return Manager(outs)


def _settle(mgr, timeout=10.0):
    """Wait until every output took what was queued for it (each runs on its own thread)."""
    import time

    deadline = time.monotonic() + timeout
    while any(len(ch._queue) for _, ch in mgr._channels) and time.monotonic() < deadline:
        time.sleep(0.001)


def _sample():
    return Sample(Metric("my_counter", MetricType.COUNTER), 1, 1.0, EMPTY_TAGS)


def _of(journal, name):
    return [entry[1:] for entry in journal if entry[0] == name]


def test_hooks_are_called_in_contract_order_for_every_output():
    journal = []
    a, b = Recorder(journal, "a"), Recorder(journal, "b")
    mgr = _manager(("a", a), ("b", b))
    aborts = []
    mgr.set_thresholds({"http_req_duration": ["p(95)<500"]})
    mgr.start(aborts.append)
    batch = [_sample()]
    mgr.add_samples(batch)
    mgr.add_samples([])  # empty batches are not passed on, as in k6
    mgr.set_run_status(RunStatus.RUNNING)
    mgr.stop(None)
    thresholds = {"http_req_duration": ["p(95)<500"]}
    # before start, on the caller's thread and in output order
    assert journal[:6] == [
        ("a", "set_thresholds", thresholds),
        ("b", "set_thresholds", thresholds),
        ("a", "set_test_run_stop"),
        ("a", "start"),
        ("b", "set_test_run_stop"),
        ("b", "start"),
    ]
    # then each output on its own thread, in order
    for name in ("a", "b"):
        assert _of(journal[6:], name) == [("add_samples",), ("set_run_status", RunStatus.RUNNING), ("stop", None)]
    # every output gets the very same batch object
    assert a.batches[0] is batch and b.batches[0] is batch
    assert mgr.descriptions() == ["recorder a", "recorder b"]
    assert mgr.failures == {}


def test_outputs_without_optional_hooks_are_skipped_for_them():
    journal = []
    mgr = _manager(("min", Minimal(journal)))
    mgr.set_thresholds({})
    mgr.start(lambda e: None)
    mgr.set_run_status(RunStatus.FINISHED)
    mgr.add_samples([_sample()])
    err = RunError("x")
    mgr.stop(err)
    assert journal == [("minimal", "start"), ("minimal", "add_samples"), ("minimal", "stop", err)]


def test_failed_start_stops_the_started_ones_and_names_the_culprit():
    journal = []
    a, b, c = Recorder(journal, "a"), Recorder(journal, "b", fail={"start"}), Recorder(journal, "c")
    mgr = _manager(("first", a), ("second", b), ("third", c))
    with pytest.raises(OutputStartError) as info:
        mgr.start()
    assert str(info.value) == "output second failed to start: RuntimeError: b start exploded"
    assert info.value.name == "second"
    stops = [entry for entry in journal if entry[1] == "stop"]
    assert [s[0] for s in stops] == ["a"]
    error = stops[0][2]
    assert isinstance(error, RunError) and error.reason is AbortReason.OUTPUT
    assert "second" in str(error)
    assert ("c", "start") not in journal
    # nothing is left to stop, and samples go nowhere
    mgr.add_samples([_sample()])
    mgr.stop(None)
    assert [e for e in journal if e[1] in ("stop", "add_samples")] == stops


def test_one_failing_add_samples_does_not_stop_the_others(caplog):
    journal = []
    a, b, c = Recorder(journal, "a"), Recorder(journal, "b", fail={"add_samples"}), Recorder(journal, "c")
    mgr = _manager(("first", a), ("flaky", b), ("third", c))
    mgr.start()
    with caplog.at_level(logging.ERROR, logger="horde.output"):
        for _ in range(5):
            mgr.add_samples([_sample()])
            _settle(mgr)
        mgr.stop(None)
    assert len(a.batches) == len(b.batches) == len(c.batches) == 5
    assert mgr.failures == {("flaky", "add_samples"): 5}
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1, "a failing hook is logged once, then counted"
    assert errors[0].name == "horde.output.flaky"
    assert "flaky" in errors[0].getMessage() and "b add_samples exploded" in errors[0].getMessage()
    assert mgr.failure_report() == ["output flaky: add_samples failed 5 times"]
    assert sorted(e[0] for e in journal if e[1] == "stop") == ["a", "b", "c"]
    flaky = {r.label: r for r in mgr.reports()}["flaky"]
    assert flaky.delivery.failed == 5 and flaky.delivery.delivered == 0 and flaky.lost == 5


def test_failing_optional_hooks_are_isolated_and_counted():
    journal = []
    a = Recorder(journal, "a", fail={"set_thresholds", "set_run_status", "set_test_run_stop"})
    b = Recorder(journal, "b")
    mgr = _manager(("a", a), ("b", b))
    mgr.set_thresholds({})
    mgr.start(lambda e: None)
    mgr.set_run_status(RunStatus.RUNNING)
    mgr.set_run_status(RunStatus.FINISHED)
    mgr.stop(None)
    assert ("a", "start") in journal and ("b", "start") in journal
    assert ("b", "set_run_status", RunStatus.FINISHED) in journal
    assert mgr.failures == {("a", "set_thresholds"): 1, ("a", "set_test_run_stop"): 1, ("a", "set_run_status"): 2}


def test_stop_reaches_every_output_and_reports_all_errors_together():
    journal = []
    outs = [Recorder(journal, "a", fail={"stop"}), Recorder(journal, "b"), Recorder(journal, "c", fail={"stop"})]
    mgr = _manager(("alpha", outs[0]), ("beta", outs[1]), ("gamma", outs[2]))
    mgr.start()
    err = RunError("thresholds crossed", reason=AbortReason.THRESHOLD, exit_code=99)
    with pytest.raises(OutputStopError) as info:
        mgr.stop(err)
    assert sorted((e[0], e[2]) for e in journal if e[1] == "stop") == [("a", err), ("b", err), ("c", err)]
    assert (
        str(info.value)
        == "stopping outputs failed: alpha: RuntimeError: a stop exploded; gamma: RuntimeError: c stop exploded"
    )
    assert [name for name, _ in info.value.failures] == ["alpha", "gamma"]
    # stopping twice does not call the outputs again
    mgr.stop(None)
    assert len([e for e in journal if e[1] == "stop"]) == 3


def test_test_run_stop_callback_aborts_with_output_reason(caplog):
    journal = []
    a = Recorder(journal, "a")
    mgr = _manager(("cloud", a))
    aborts = []
    mgr.start(aborts.append)
    with caplog.at_level(logging.ERROR):
        a.stop_cb(ValueError("quota exceeded"))
    assert len(aborts) == 1
    err = aborts[0]
    assert isinstance(err, RunError) and err.reason is AbortReason.OUTPUT
    assert err.run_status is RunStatus.ABORTED_SYSTEM
    assert "cloud" in str(err) and "quota exceeded" in str(err)
    assert any(r.name == "horde.output.cloud" for r in caplog.records)


def test_same_output_twice_gets_distinct_labels():
    journal = []
    a, b = Recorder(journal, "a"), Recorder(journal, "b", fail={"add_samples"})
    mgr = _manager(("csv", a), ("csv", b))
    assert [mgr.label(o) for o in mgr.outputs] == ["csv", "csv#2"]
    mgr.start()
    mgr.add_samples([_sample()])
    mgr.stop()
    assert mgr.failures == {("csv#2", "add_samples"): 1}
