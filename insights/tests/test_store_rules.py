"""The no-data timeout rule, on a real SQLite store with explicit clocks."""

from horde_insights.server import Reaper
from horde_insights.store import open_store


def test_time_while_the_service_was_down_does_not_count(tmp_path):
    store = open_store(str(tmp_path / "i.db"))
    project = store.project_id("p", create=True)
    rid, _ = store.create_run(project, name="r", vus=1, duration=1, thresholds={}, key=None, now=1000.0)
    done, _ = store.create_run(project, name="d", vus=1, duration=1, thresholds={}, key=None, now=1000.0)
    store.finish_run(done, run_status=3, result_status=0, thresholds={}, now=1001.0)
    reaper = Reaper(store, timeout=120, start_timeout=120)
    reaper.started = 5000.0  # the service (re)started long after the run was last heard of
    assert reaper.sweep(now=5100.0) == []  # up for 100 s < 120 s: too early to judge
    assert reaper.sweep(now=5121.0) == [rid]  # finished runs never time out
    run = store.get_run(project, rid)
    assert run["run_status"] == 4 and run["timed_out_at"] == 5121.0
    store.finish_run(rid, run_status=5, result_status=0, thresholds={}, now=5200.0)  # a late finish closes it
    assert store.get_run(project, rid)["run_status"] == 5
    store.close()


def test_a_created_run_waits_the_start_timeout_for_its_first_data(tmp_path):
    store = open_store(str(tmp_path / "i.db"))
    project = store.project_id("p", create=True)
    created, _ = store.create_run(project, name="c", vus=1, duration=1, thresholds={}, key=None, now=1000.0)
    reaper = Reaper(store, timeout=120)  # start timeout by default: 10 minutes
    reaper.started = 0.0
    assert reaper.start_timeout == 600
    assert reaper.sweep(now=1500.0) == []  # pods may take minutes to start
    assert reaper.sweep(now=1601.0) == [created]
    assert store.get_run(project, created)["abort_reason"] == "no data within 600 s of its creation"
    store.close()


def test_long_runs_are_charted_with_at_most_max_points(tmp_path):
    from horde_insights.query import MAX_POINTS, run_detail
    from horde_insights.wire.metricset import MetricSet, Point, Series

    store = open_store(str(tmp_path / "i.db"))
    project = store.project_id("p", create=True)
    rid, _ = store.create_run(project, name="r", vus=1, duration=1, thresholds={}, key=None, now=1000.0)
    n = 2 * MAX_POINTS + 7
    reqs = [Point(1000.0 + i, value=2.0, count=1, sum=2.0) for i in range(n)]
    durs = [
        Point(1000.0 + i, count=2, sum=20.0, min=10.0, max=10.0, hist={10000: 2}, resolution=0.001) for i in range(n)
    ]
    store.ingest(
        rid,
        None,
        MetricSet(
            "", 1, [("http_reqs", "counter", [Series({}, reqs)]), ("http_req_duration", "trend", [Series({}, durs)])]
        ),
        2000.0,
    )
    detail = run_detail(store, store.get_run(project, rid))
    s = detail["series"]
    assert len(s["t"]) <= MAX_POINTS and detail["run"]["chart_bucket"] == 3
    assert all(v == 2.0 for v in s["rps"][:-1])  # req/s stays a per-second rate
    assert detail["run"]["requests"] == 2 * n
    assert {round(v, 6) for v in s["p95"]} == {10.0}
    store.close()
