"""How a run drives its outputs: statuses, thresholds, the stop callback, failing outputs."""

from __future__ import annotations

import threading

from horde.errors import AbortReason, ExitCode
from horde.output import Provider, hookimpl
from horde.output.registry import load_registry
from horde.runstatus import RunStatus


class Recorder:
    """An output that records every hook call."""

    instances: list[Recorder] = []

    def __init__(self, params):
        self.params = params
        self.calls: list[str] = []
        self.statuses: list[RunStatus] = []
        self.samples = 0
        self.threads: set[int] = set()
        self.error = "unset"
        self.thresholds = None
        Recorder.instances.append(self)

    @hookimpl
    def description(self):
        return "recorder"

    @hookimpl
    def set_thresholds(self, thresholds):
        self.calls.append("set_thresholds")
        self.thresholds = thresholds

    @hookimpl
    def set_test_run_stop(self, stop):
        self.calls.append("set_test_run_stop")
        self.stop_run = stop

    @hookimpl
    def start(self):
        self.calls.append("start")

    @hookimpl
    def add_samples(self, samples):
        self.threads.add(threading.get_ident())
        self.samples += sum(len(c.values) for c in samples)
        if self.params.config_argument == "stop-after-10" and self.samples >= 10 and "stopped" not in self.calls:
            self.calls.append("stopped")
            self.stop_run(RuntimeError("disk full"))

    @hookimpl
    def set_run_status(self, status):
        self.statuses.append(status)

    @hookimpl
    def stop(self, error):
        self.calls.append("stop")
        self.error = error


class Exploding(Recorder):
    @hookimpl
    def add_samples(self, samples):
        raise ValueError("kaboom")


def registry():
    reg = load_registry({"HORDE_DISABLE_PLUGIN_AUTOLOAD": "1"})
    reg.register_extension("recorder", Recorder, provider=Provider("test-recorder", "1.0"))
    reg.register_extension("exploding", Exploding, provider=Provider("test-exploding", "1.0"))
    return reg


SCRIPT = """
from horde import http, env
options = {OPTIONS}
async def default(data):
    await http.get(env["TARGET"] + "/")
"""


def test_call_order_statuses_and_one_pump_thread(script, run_script):
    Recorder.instances.clear()
    path = script(SCRIPT.replace("{OPTIONS}", repr({"iterations": 5, "thresholds": {"http_reqs": ["count>1"]}})))
    res = run_script(path, outs=["recorder"], registry=registry())
    assert res.code == 0
    rec = Recorder.instances[0]
    assert rec.calls == ["set_thresholds", "set_test_run_stop", "start", "stop"]
    assert [t.source for t in rec.thresholds["http_reqs"]] == ["count>1"]
    assert rec.statuses == [RunStatus.INITIALIZING, RunStatus.RUNNING, RunStatus.FINISHED]
    assert rec.error is None
    assert rec.samples >= 5 * 13
    assert len(rec.threads) == 1
    assert rec.params.execution_plan[0]["executor"] == "shared-iterations"


def test_output_stop_callback_aborts_the_run(script, run_script):
    Recorder.instances.clear()
    path = script(SCRIPT.replace("{OPTIONS}", repr({"vus": 2, "duration": "30s"})))
    res = run_script(path, outs=["recorder=stop-after-10", "recorder"], registry=registry())
    assert res.code == 255
    first, second = Recorder.instances
    for rec in (first, second):
        assert rec.statuses[-1] == RunStatus.ABORTED_SYSTEM
        assert rec.error.reason == AbortReason.OUTPUT and "disk full" in str(rec.error)
        assert rec.calls[-1] == "stop"


def test_a_failing_output_does_not_stop_the_run_or_the_others(script, run_script, caplog):
    Recorder.instances.clear()
    path = script(SCRIPT.replace("{OPTIONS}", repr({"iterations": 20})))
    res = run_script(path, outs=["exploding", "recorder"], registry=registry())
    # the run goes on, but losing samples is not silent: a warning naming the output and horde's own exit code
    assert res.code == ExitCode.OUTPUT_LOSS
    ok = Recorder.instances[1]
    assert ok.samples >= 20 * 13
    assert caplog.text.count("kaboom") == 1
    assert "output exploding: add_samples failed" in caplog.text
    assert f"output exploding lost {ok.samples} samples: {ok.samples} in failed add_samples calls" in caplog.text
    res = run_script(path, outs=["exploding", "recorder"], registry=registry(), allow_output_loss=True)
    assert res.code == 0


class Reporting(Recorder):
    @hookimpl
    def report(self):
        self.calls.append("report")
        return {"written": self.samples, "dropped": 0}


def test_outputs_report_their_counts_in_the_summary(script, run_script, tmp_path):
    Recorder.instances.clear()
    reg = registry()
    reg.register_extension("reporting", Reporting, provider=Provider("test-reporting", "1.0"))
    path = script(SCRIPT.replace("{OPTIONS}", repr({"iterations": 3})))
    res = run_script(path, outs=["reporting", f"json={tmp_path / 'o.json'}"], registry=reg)
    assert res.code == 0
    rec = Recorder.instances[0]
    assert rec.calls[-2:] == ["stop", "report"]
    assert "█ OUTPUTS" in res.stdout
    assert (
        f"recorder: delivered={rec.samples} undelivered=0 failed_calls=0 queue_spilled=0 | written={rec.samples} dropped=0\n"
    ) in res.stdout
    points = sum(1 for l in (tmp_path / "o.json").read_text().splitlines() if '"type":"Point"' in l)
    assert (
        f"json ({tmp_path / 'o.json'}): delivered={points} undelivered=0 failed_calls=0 queue_spilled=0 | written={points}"
        in res.stdout
    )
