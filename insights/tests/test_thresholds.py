"""k6 threshold expressions and k6's exit codes of an ended run (no service needed), and the
schema migration of a database created before runs had instances."""

from __future__ import annotations

import sqlite3

import pytest
from horde_insights.client import exit_code_of
from horde_insights.store import open_store
from horde_insights.thresholds import ThresholdError, parse_duration, parse_selector, parse_thresholds


def one(metric, item):
    return parse_thresholds({metric: [item]})[0]


@pytest.mark.parametrize(
    "source, value, ok",
    [
        ("p(95)<500", 499.9, True),
        ("p(95)<500", 500.0, False),
        ("p(99.9) <= 10", 10.0, True),
        ("rate<0.01", 0.02, False),
        ("count>100", 101, True),
        ("avg>=2", 1.5, False),
        ("med==3", 3, True),
        ("max===3", 3, True),
        ("min!=0", 0, False),
        ("value<1e3", 999, True),
        ("rate<0.01", None, True),  # no samples yet: passes, as in k6
    ],
)
def test_expressions_are_judged_as_k6_judges_them(source, value, ok):
    assert one("m", source).passes(value) is ok


def test_object_form_carries_abort_on_fail_and_its_delay():
    th = one("http_req_failed", {"threshold": "rate<0.1", "abortOnFail": True, "delayAbortEval": "1m30s"})
    assert (th.aggregation, th.op, th.bound, th.abort_on_fail, th.delay_abort_eval) == ("rate", "<", 0.1, True, 90.0)
    assert one("m", "p(90)<3").percentile == 90.0
    assert parse_duration(1500) == 1.5 and parse_duration("500ms") == 0.5


def test_submetric_selectors():
    assert parse_selector("http_req_duration{status:200, method:GET}") == (
        "http_req_duration",
        {"status": "200", "method": "GET"},
    )
    assert parse_selector("checks{group:::setup}") == ("checks", {"group": "::setup"})
    assert parse_selector("vus") == ("vus", {})


@pytest.mark.parametrize("bad", ["p95<1", "p(101)<1", "avg 1", "avg<", "avg<abc", "sum<1"])
def test_bad_expressions_name_themselves(bad):
    with pytest.raises(ThresholdError, match="threshold"):
        one("m", bad)


@pytest.mark.parametrize(
    "run_status, result_status, code",
    [(3, 0, 0), (3, 1, 99), (8, 1, 99), (5, 0, 0), (5, 1, 97), (4, None, 97), (6, 1, 97), (7, 0, 97), (9, 0, 97)],
)
def test_exit_codes_are_k6s(run_status, result_status, code):
    assert exit_code_of(run_status, result_status) == code


def test_a_database_from_before_instances_gains_the_new_columns(tmp_path):
    path = tmp_path / "old.db"
    store = open_store(str(path))
    store.close()
    conn = sqlite3.connect(path)
    for col in ("instances", "process_thresholds", "stopped_at", "abort_reason", "verdict", "setup"):
        conn.execute(f"ALTER TABLE runs DROP COLUMN {col}")
    conn.execute("DROP TABLE instances")
    conn.execute("INSERT INTO projects (name, created_at) VALUES ('p', 0)")
    conn.execute("INSERT INTO runs (project_id, name, created_at, last_seen_at, run_status) VALUES (1, 'old', 0, 0, 3)")
    conn.commit()
    conn.close()
    store = open_store(str(path))
    try:
        run = store.get_run(1, 1)
        assert run is not None and (run["instances"], run["process_thresholds"], run["stopped_at"]) == (1, False, None)
        assert store.instances(1) == []
    finally:
        store.close()


def test_a_postgresql_database_from_before_instances_gains_the_new_columns(postgres):
    import psycopg

    url = postgres.new_database()
    open_store(url).close()
    with psycopg.connect(url, autocommit=True) as conn:
        for col in ("instances", "process_thresholds", "stopped_at", "abort_reason", "verdict", "setup"):
            conn.execute(f"ALTER TABLE runs DROP COLUMN {col}")
        conn.execute("DROP TABLE instances")
        conn.execute("INSERT INTO projects (name, created_at) VALUES ('p', 0)")
        conn.execute(
            "INSERT INTO runs (project_id, name, created_at, last_seen_at, run_status) VALUES (1, 'o', 0, 0, 3)"
        )
    store = open_store(url)
    try:
        run = store.get_run(1, 1)
        assert run is not None and (run["instances"], run["process_thresholds"], run["verdict"]) == (1, False, None)
    finally:
        store.close()


def test_the_live_tally_counts_each_push_once_without_rereading_the_store(tmp_path):
    import cramjam
    from horde_insights.verdict import VerdictJudge
    from horde_insights.wire.metricset import decode_metric_set
    from pushbuild import instance_push

    def ms(instance, n):
        raw = bytes(cramjam.snappy.decompress_raw(instance_push(instance, 1000.0, [10.0] * n)))
        return decode_metric_set(memoryview(raw))

    store = open_store(str(tmp_path / "t.db"))
    try:
        project = store.project_id("p", create=True)
        rid, _ = store.create_run(
            project,
            name="r",
            vus=1,
            duration=1,
            thresholds={"http_reqs": ["count<100"]},
            key=None,
            now=0,
            instances=2,
            process_thresholds=True,
        )
        judge = VerdictJudge(store)
        store.ingest(rid, None, ms("1", 10), 1.0, judge.observe)
        judge.tick(2.0)  # builds the tally from the store
        assert store.get_run_by_id(rid)["verdict"]["thresholds"][0]["value"] == 10
        store.ingest(rid, None, ms("2", 15), 3.0, judge.observe)
        judge.tick(4.0)
        assert store.get_run_by_id(rid)["verdict"]["thresholds"][0]["value"] == 25
        store.ingest(rid, None, ms("2", 5), 5.0)  # not observed: the live tally does not see it
        judge.tick(6.0)
        assert store.get_run_by_id(rid)["verdict"]["thresholds"][0]["value"] == 25
    finally:
        store.close()
