"""--workers N: scenarios split across processes, merged back into one run."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time

from conftest import HORDE, count, read_points
from horde.engine.scenarios import scenarios_from_options
from horde.engine.segment import split_scenarios
from horde.metrics import BuiltinMetrics, ConnectedSamples, MetricRegistry, MetricType, Sample, TagSet
from horde.metrics.wire import Decoder, Encoder
from horde.segments import Share


def test_split_keeps_the_totals_of_every_executor():
    opts = {
        "scenarios": {
            "si": {"executor": "shared-iterations", "vus": 3, "iterations": 17},
            "pv": {"executor": "per-vu-iterations", "vus": 5, "iterations": 2},
            "cv": {"executor": "constant-vus", "vus": 1, "duration": "1s"},
            "rv": {"executor": "ramping-vus", "startVUs": 1, "stages": [{"duration": "1s", "target": 7}]},
            "car": {
                "executor": "constant-arrival-rate",
                "rate": 30,
                "duration": "1s",
                "preAllocatedVUs": 3,
                "maxVUs": 5,
            },
        }
    }
    scs = scenarios_from_options(opts)
    parts = split_scenarios(scs, Share(), 2)
    by = lambda name: [s for p in parts for s in p if s.name == name]  # noqa: E731
    assert sum(s.iterations for s in by("si")) == 17 and sum(s.vus for s in by("si")) == 3
    assert sum(s.vus for s in by("pv")) == 5
    assert len(by("cv")) == 1  # one VU cannot be split: one worker runs it
    assert sum(s.max_vus_needed for s in by("rv")) == 7
    assert sum(s.max_vus for s in by("car")) == 5
    # the workers start disjoint iterations that together are all of them
    starts = sorted(i for s in by("car") for i in itertools.islice(s.share.indexes(), 30 * s.share.scale(100) // 100))
    assert starts == list(range(30))


def test_wire_round_trip_keeps_metrics_tags_values_and_metadata():
    wreg, creg = MetricRegistry(), MetricRegistry()
    wb = BuiltinMetrics(wreg)
    custom = wreg.get_or_new("my_trend", MetricType.TREND)
    tags = TagSet.of(method="GET", url="http://x/")
    enc, dec = Encoder(), Decoder(creg)
    batch = [
        ConnectedSamples(wb.http_request, tuple(range(9)), 123, tags, {"vu": "1"}),
        Sample(custom, 124, 4.5, TagSet.of(kind="a")),
    ]
    import pickle

    for _ in range(2):  # definitions travel once, references after
        msg = pickle.loads(enc.encode(batch, {"active": 1}))
        out = dec.decode(msg[1], msg[2])
    assert msg[1] == []
    assert [m.name for m in out[0].metrics] == [m.name for m in wb.http_request]
    assert out[0].values == tuple(range(9)) and out[0].time == 123 and out[0].tags is tags
    assert out[0].metadata == {"vu": "1"}
    assert out[1].metrics[0] is creg.get("my_trend") and out[1].values == (4.5,)


def test_worker_batches_feed_the_store_without_containers_when_no_output_is_started():
    # the pump merges a worker's aggregates into the store; containers are built only for outputs
    import pickle

    from horde.engine.pump import Pump
    from horde.metrics import MetricStore
    from horde.output.manager import Manager

    wreg, creg = MetricRegistry(), MetricRegistry()
    wb = BuiltinMetrics(wreg)
    tags = TagSet.of(method="GET", status="200")
    enc, dec = Encoder(), Decoder(creg)
    batch = [ConnectedSamples(wb.http_request, tuple(float(i + j) for j in range(9)), i, tags) for i in range(50)]
    msg = pickle.loads(enc.encode_columns(batch, MetricStore(), None))
    columns = dec.decode_columns(msg[1], msg[2], msg[3], msg[5])
    store = MetricStore()
    pump = Pump(Manager([]), store)
    pump.start()
    pump.deliver(columns)
    assert pump.close(10)
    assert columns._containers is None  # no output: no container was built
    sink = store.sink(creg.get("http_reqs"))
    assert sink is not None and sink.count == sum(range(50))  # http_reqs is the first of the 9: value i


def test_trend_values_stop_travelling_once_the_coordinator_has_folded_its_sink():
    # a worker's batch aggregates keep up to EXACT_LIMIT exact values per trend; once the worker has sent
    # more than that for a metric, the coordinator's sink holds more too and keeps none: they are not sent
    import pickle
    import random

    from horde.metrics import MetricStore
    from horde.metrics.sinks import EXACT_LIMIT

    wreg, creg = MetricRegistry(), MetricRegistry()
    trend = wreg.get_or_new("my_trend", MetricType.TREND)
    sub = trend.add_submetric("kind:a", {"kind": "a"})
    rng = random.Random(3)
    tags = [TagSet.of(kind="a"), TagSet.of(kind="b")]
    batches = [[Sample(trend, i, rng.lognormvariate(0, 1), tags[i % 2]) for i in range(600)] for _ in range(4)]
    enc, dec = Encoder(), Decoder(creg)
    merged, direct = MetricStore(), MetricStore()
    merged_sub = creg.get_or_new("my_trend", MetricType.TREND).add_submetric("kind:a", {"kind": "a"})
    exact_sent = []
    for batch in batches:
        msg = pickle.loads(enc.encode_columns(batch, MetricStore(), None, samples=False))
        columns = dec.decode_columns(msg[1], msg[2], msg[3], msg[5])
        ((_, sink, subs),) = columns.aggregates
        exact_sent.append([sink._exact is not None, subs[0][1]._exact is not None])
        columns.add_to(merged)
        direct.add(batch)
    assert exact_sent == [[True, True], [False, True], [False, True], [False, False]]  # folded past EXACT_LIMIT sent
    assert 600 < EXACT_LIMIT < 1200 and 900 < EXACT_LIMIT  # the sub-metric's 300 a batch pass it at the 4th
    mine, ref = merged.sink(creg.get("my_trend")), direct.sink(trend)
    assert (mine.count, mine.min, mine.max) == (ref.count, ref.min, ref.max)
    for p in (0.5, 0.9, 0.95, 0.99):
        assert mine.percentile(p) == ref.percentile(p)
    assert merged.sub_sinks[merged_sub].count == direct.sub_sinks[sub].count == 1200


def test_a_worker_process_imports_neither_the_cli_nor_the_outputs():
    # what a worker imports is start-up CPU every worker pays (it used to re-import the whole CLI)
    code = "import sys, horde.engine.worker; print(sorted(m for m in sys.modules if m.startswith(('horde.cli', 'horde.commands', 'horde.output', 'click', 'pluggy'))))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


SCRIPT = """
from horde import http, env, check, group, vu, Counter
seen = Counter("seen_vu")
options = {OPTIONS}
async def default(data):
    with group("g"):
        r = await http.get(env["TARGET"] + "/")
        check(r, {"ok": lambda r: r.status == 200})
    seen.add(vu.id)
"""


def _write(tmp_path, options):
    p = tmp_path / "w.py"
    p.write_text(SCRIPT.replace("{OPTIONS}", repr(options)))
    return p


def test_two_workers_run_one_test(tmp_path, run_script):
    p = _write(tmp_path, {"vus": 4, "iterations": 41})
    out = tmp_path / "o.json"
    res = run_script(p, outs=[f"json={out}"], workers=2, summary_export=str(tmp_path / "s.json"))
    assert res.code == 0
    pts = read_points(out)
    assert count(pts, "iterations") == 41 and count(pts, "http_reqs") == 41
    ids = {p["data"]["value"] for p in pts if p["metric"] == "seen_vu"}
    assert ids == {1, 2, 3, 4}  # unique VU ids across workers
    import json

    export = json.loads((tmp_path / "s.json").read_text())
    assert export["root_group"]["groups"]["g"]["checks"]["ok"]["passes"] == 41
    assert max(p["data"]["value"] for p in pts if p["metric"] == "vus_max") == 4
    from horde.engine.pacing import IDLE_BEAT_PERIOD

    assert res.run._pacer.period == IDLE_BEAT_PERIOD  # no VU runs in the coordinator: a slow heartbeat


def test_abort_in_a_worker_stops_all_with_108(tmp_path, run_script):
    p = tmp_path / "a.py"
    p.write_text(
        "from horde import abort, vu, sleep\noptions = {'vus': 4, 'duration': '30s'}\n"
        "async def default(data):\n    await sleep(0.05)\n    if vu.id == 3 and vu.iteration == 2:\n"
        "        abort('stop it')\n"
    )
    t0 = time.monotonic()
    res = run_script(p, workers=2)
    assert res.code == 108
    assert time.monotonic() - t0 < 20


def test_sigint_with_workers_is_105_and_outputs_complete(tmp_path, target):
    p = _write(tmp_path, {"vus": 4, "duration": "30s"})
    out = tmp_path / "o.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("HORDE_")}
    proc = subprocess.Popen(
        [HORDE, "run", str(p), "-e", f"TARGET={target.url}", "-o", f"json={out}", "--workers", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and (not out.exists() or out.stat().st_size < 5000):
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGINT)  # as a terminal's Ctrl-C: the whole process group
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 105, stderr
    pts = read_points(out)
    assert count(pts, "http_reqs") > 0
    assert "Traceback" not in stderr
    assert "http_reqs" in stdout


def test_a_worker_that_dies_ends_the_run_with_a_clear_error(tmp_path, run_script, caplog):
    p = tmp_path / "d.py"
    p.write_text(
        "import os\nfrom horde import vu, sleep\noptions = {'vus': 2, 'duration': '30s'}\n"
        "async def default(data):\n    await sleep(0.05)\n    if vu.id == 2:\n        os._exit(3)\n"
    )
    t0 = time.monotonic()
    res = run_script(p, workers=2)
    assert res.code == 255
    assert time.monotonic() - t0 < 20
    assert "worker 1 exited unexpectedly" in caplog.text


def test_workers_wait_for_a_busy_coordinator_instead_of_failing(tmp_path, run_script, monkeypatch):
    """Back-pressure: a worker whose batch does not fit in the pipe while the coordinator is busy must
    block until it is read (a non-blocking pipe made workers die with EAGAIN under load)."""
    import horde.engine.run as run_mod
    from horde.engine.workers import WorkerPool

    class SlowPool(WorkerPool):
        def _read(self, w, loop):
            time.sleep(1.5)  # the coordinator is busy: nothing is read for a while
            super()._read(w, loop)

    monkeypatch.setattr(run_mod, "WorkerPool", SlowPool)
    p = tmp_path / "burst.py"
    p.write_text(
        "from horde import Counter\nc = Counter('burst')\noptions = {'vus': 2, 'iterations': 4}\n"
        "async def default(data):\n    for _ in range(20000):\n        c.add(1)\n"
    )
    out = tmp_path / "o.json"
    res = run_script(p, outs=[f"json={out}"], workers=2)
    assert res.code == 0
    assert count(read_points(out), "burst") == 80000


def test_default_workers_follow_the_vus():
    from horde.engine.workers import VUS_PER_WORKER, auto_workers

    assert VUS_PER_WORKER == 50
    assert [auto_workers(v, 4) for v in (1, 10, 50, 99, 100, 149, 150, 1000)] == [1, 1, 1, 1, 2, 2, 3, 4]
    assert auto_workers(10_000, 1) == 1


def test_by_default_few_vus_run_in_this_process_and_many_in_workers(tmp_path, run_script, monkeypatch):
    monkeypatch.setattr("os.cpu_count", lambda: 4)
    few = run_script(_write(tmp_path, {"vus": 10, "iterations": 10}), workers=None)
    assert few.code == 0 and few.run.workers == 1
    many = run_script(_write(tmp_path, {"vus": 100, "iterations": 100}), workers=None)
    assert many.code == 0 and many.run.workers == 2
    assert run_script(_write(tmp_path, {"vus": 100, "iterations": 100}), workers=1).run.workers == 1


AGGREGATES = """
from horde import Counter, Gauge, Rate, Trend, http, env, vu
late = Trend("my_late")
trend, count, rate, gauge = Trend("my_trend"), Counter("my_count"), Rate("my_rate"), Gauge("my_gauge")
options = {
    "scenarios": {"s": {"executor": "per-vu-iterations", "vus": 8, "iterations": 150}},
    "thresholds": {"my_trend{kind:odd}": ["p(95)<2000"], "my_late": ["max<0"]},
    "summaryTrendStats": ["avg", "min", "med", "max", "p(10)", "p(90)", "p(99.9)", "count"],
}
async def default(data):
    await http.get(env["TARGET"] + "/")
    v = (vu.id * 7919 + vu.iteration * 104729) % 1000 + vu.id / 8
    trend.add(v, {"kind": "odd" if int(v) % 2 else "even"})
    count.add(v)
    rate.add(int(v) % 3 == 0)
    gauge.add(v)
    if vu.iteration < 50:
        late.add(-v)
"""


def _aggregates(export: dict) -> dict:
    """The export's metrics whose values do not depend on timing or on the order samples arrived in."""
    out = {}
    for name, m in export["metrics"].items():
        if name.startswith(("my_", "checks", "http_reqs", "iterations")):
            m = {k: v for k, v in m.items() if k not in ("rate", "value") or name.startswith("my_rate")}
            if "avg" in m:
                m["avg"] = round(m["avg"], 9)  # sums in another order: the last bits may differ
            out[name] = m
    return out


def test_workers_aggregate_what_one_process_aggregates(tmp_path, run_script):
    """The differential test of the worker merge: the same samples in one process and in two workers
    (which aggregate locally and send sinks; with an output or the full summary, samples too) give the
    same counts, percentiles and thresholds."""
    import json

    p = tmp_path / "agg.py"
    p.write_text(AGGREGATES)

    def export(name: str, **kw) -> dict:
        path = tmp_path / f"{name}.json"
        res = run_script(p, summary_export=str(path), **kw)
        assert res.code == 0, name
        return _aggregates(json.loads(path.read_text()))

    one = export("one", workers=1)
    assert one["my_trend"]["count"] == 1200 and one["my_late"]["count"] == 400  # past and within the exact limit
    assert one["my_trend{kind:odd}"]["count"] > 0 and one["iterations"]["count"] == 1200
    assert export("two", workers=2) == one
    assert export("two_json", workers=2, outs=[f"json={tmp_path / 'o.json'}"]) == one
    assert count(read_points(tmp_path / "o.json"), "my_count") == one["my_count"]["count"]
    assert export("two_full", workers=2, summary_mode="full") == one
