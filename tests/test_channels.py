"""Each output on its own queue and thread: slow outputs fall behind alone, spill, and are abandoned at their deadline."""

from __future__ import annotations

import threading
import time

from horde.errors import RunError
from horde.metrics import EMPTY_TAGS, ConnectedSamples, Metric, MetricRegistry, MetricType, TagSet
from horde.output import RunStatus, hookimpl
from horde.output.binding import bind_output, new_plugin_manager
from horde.output.manager import Manager


class Collector:
    """Keeps every sample it is given; optionally sleeps or blocks in add_samples."""

    def __init__(self, delay: float = 0.0, gate: threading.Event | None = None) -> None:
        self.delay = delay
        self.gate = gate
        self.samples: list[tuple[str, int, float, TagSet]] = []
        self.calls = 0
        self.threads: set[str] = set()
        self.events: list[object] = []
        self.stopped_with: list[object] = []

    @hookimpl
    def description(self) -> str:
        return "collector"

    @hookimpl
    def start(self) -> None:
        pass

    @hookimpl
    def add_samples(self, samples) -> None:
        self.calls += 1
        self.threads.add(threading.current_thread().name)
        if self.gate is not None:
            self.gate.wait(30)
        if self.delay:
            time.sleep(self.delay)
        for c in samples:
            for s in c:
                self.samples.append((s.metric.name, s.time, s.value, s.tags))
        self.events.append(("batch", len(samples)))

    @hookimpl
    def set_run_status(self, status) -> None:
        self.events.append(("status", status))

    @hookimpl
    def stop(self, error) -> None:
        self.threads.add(threading.current_thread().name)
        self.stopped_with.append(error)


def _manager(*outputs, registry=None, **kw):
    pm = new_plugin_manager()
    return Manager([bind_output(name, obj, pm) for name, obj in outputs], registry=registry, **kw)


def _batches(registry: MetricRegistry, n: int, per_batch: int = 10):
    reqs = registry.get_or_new("http_reqs", MetricType.COUNTER)
    dur = registry.get_or_new("http_req_duration", MetricType.TREND)
    tags = TagSet.of({"url": 'http://x/ü,=" \n', "status": "200"})
    k = 0
    out = []
    for _ in range(n):
        batch = []
        for _ in range(per_batch):
            batch.append(ConnectedSamples((reqs, dur), (1.0, float(k)), 1_700_000_000_000_000_000 + k, tags, None))
            k += 1
        out.append(batch)
    return out


def test_a_slow_output_falls_behind_alone():
    registry = MetricRegistry()
    gate = threading.Event()
    slow, fast = Collector(gate=gate), Collector()
    mgr = _manager(("slow", slow), ("fast", fast), registry=registry)
    mgr.start()
    batches = _batches(registry, 50)
    t0 = time.monotonic()
    for b in batches:
        mgr.add_samples(b)
    assert time.monotonic() - t0 < 5, "add_samples must never wait for an output"
    deadline = time.monotonic() + 10
    while len(fast.samples) < 1000 and time.monotonic() < deadline:
        time.sleep(0.005)
    assert len(fast.samples) == 1000, "the fast output got everything while the slow one was blocked"
    assert slow.calls <= 1
    gate.set()
    mgr.stop(None)
    assert len(slow.samples) == 1000
    # the waiting batches were merged into few calls, in order
    assert slow.calls < 50
    assert [s[2] for s in slow.samples if s[0] == "http_req_duration"] == [float(k) for k in range(500)]
    assert slow.threads == {"horde-output-slow"} and fast.threads == {"horde-output-fast"}
    rep = {r.label: r for r in mgr.reports()}
    assert rep["slow"].delivery.delivered == 1000 and rep["slow"].lost == 0


def test_past_its_memory_bound_a_queue_spills_and_replays_in_order():
    registry = MetricRegistry()
    gate = threading.Event()
    out = Collector(gate=gate)
    mgr = _manager(("spilly", out), registry=registry, memory_limit=25)
    mgr.start()
    batches = _batches(registry, 40)
    for i, b in enumerate(batches):
        mgr.add_samples(b)
        if i == 20:
            mgr.set_run_status(RunStatus.RUNNING)
    gate.set()
    mgr.stop(RunError("bye"))
    rep = mgr.reports()[0]
    assert rep.delivery.spilled > 0
    assert rep.delivery.delivered == 800 and rep.lost == 0
    times = [s[1] for s in out.samples if s[0] == "http_reqs"]
    assert times == sorted(times) and len(times) == 400
    # the tags came back from disk as the same (interned) tag set
    assert {s[3] for s in out.samples} == {batches[0][0].tags}
    # the status change kept its place between the batches
    before = [e for e in out.events[: out.events.index(("status", RunStatus.RUNNING))] if e[0] == "batch"]
    assert sum(n for _, n in before) == 210
    assert [str(e) for e in out.stopped_with] == ["bye"]


def test_an_output_still_busy_at_its_stop_deadline_is_abandoned_and_counted():
    registry = MetricRegistry()
    stuck = Collector(gate=threading.Event())  # never opened
    ok = Collector()
    mgr = _manager(("stuck", stuck), ("ok", ok), registry=registry, stop_timeouts={"stuck": 0.3})
    mgr.start()
    for b in _batches(registry, 5):
        mgr.add_samples(b)
    t0 = time.monotonic()
    mgr.stop(None)
    assert time.monotonic() - t0 < 5
    rep = {r.label: r for r in mgr.reports()}
    assert rep["stuck"].delivery.abandoned
    assert rep["stuck"].delivery.undelivered == 100 and rep["stuck"].lost == 100
    assert "100 undelivered (abandoned at its stop deadline)" in rep["stuck"].loss_text()
    assert stuck.stopped_with == [], "an abandoned output is not stopped behind its back"
    assert rep["ok"].delivery.delivered == 100 and not rep["ok"].delivery.abandoned
    assert rep["ok"].as_dict()["lost"] == 0 and rep["stuck"].as_dict()["abandoned"] is True


def test_an_absolute_deadline_overrides_the_stop_timeouts():
    registry = MetricRegistry()
    slow = Collector(delay=0.2)
    mgr = _manager(("slow", slow), registry=registry)
    mgr.start()
    for b in _batches(registry, 3):
        mgr.add_samples(b)
        time.sleep(0.3)  # one call each, so the rest must wait
    for b in _batches(registry, 3):
        mgr.add_samples(b)
    t0 = time.monotonic()
    mgr.stop(None, deadline=time.monotonic() + 0.05)
    assert time.monotonic() - t0 < 2
    rep = mgr.reports()[0]
    assert rep.delivery.delivered + rep.delivery.undelivered == 120
    assert rep.delivery.abandoned and rep.delivery.undelivered > 0


def test_samples_are_counted_per_sample_not_per_container():
    registry = MetricRegistry()
    out = Collector()
    mgr = _manager(("c", out), registry=registry)
    mgr.start()
    m = Metric("lonely", MetricType.GAUGE)
    from horde.metrics import Sample

    mgr.add_samples([Sample(m, 1, 2.0, EMPTY_TAGS), *(_batches(registry, 1, per_batch=3)[0])])
    mgr.stop(None)
    assert mgr.reports()[0].delivery.delivered == 7 == len(out.samples)
