"""Concurrent pushes are written in groups (one transaction each), on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time

import pytest
from horde_insights.store import open_store
from horde_insights.wire.metricset import MetricSet, Point, Series


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path):
    if request.param == "sqlite":
        return str(tmp_path / "i.db")
    return request.getfixturevalue("postgres").new_database()


@pytest.fixture
def store(url):
    s = open_store(url)
    yield s
    s.close()


def _push(instance: int, t: float) -> MetricSet:
    labels = {"instance_id": str(instance), "name": "http://app.test/"}
    return MetricSet(
        "",
        3,
        [
            ("http_reqs", "counter", [Series(labels, [Point(t, value=5.0, count=1, sum=5.0)])]),
            (
                "http_req_duration",
                "trend",
                [Series(labels, [Point(t, count=5, sum=0.5, min=0.1, max=0.1, hist={100: 5}, resolution=0.001)])],
            ),
        ],
    )


def _queued_then_written(store, calls: list[tuple], while_queued=None) -> tuple[list[object], int]:
    """Start one thread per call of ``store.ingest`` while the store is held, release it once all are
    queued (after calling ``while_queued()``); return each call's result (or exception) and how many
    transactions wrote them."""
    groups = 0
    write = store._write

    def counting_write(group):
        nonlocal groups
        groups += 1
        return write(group)

    store._write = counting_write
    results: list[object] = [None] * len(calls)

    def call(i: int) -> None:
        try:
            results[i] = store.ingest(*calls[i])
        except Exception as exc:
            results[i] = exc

    threads = [threading.Thread(target=call, args=(i,)) for i in range(len(calls))]
    with store.exclusive():
        for th in threads:
            th.start()
        deadline = time.monotonic() + 10
        while len(store._queue) < len(calls):
            assert time.monotonic() < deadline, "pushes did not queue"
            time.sleep(0.01)
        if while_queued is not None:
            while_queued()
    for th in threads:
        th.join(10)
        assert not th.is_alive()
    return results, groups


def _new_run(store) -> tuple[int, int]:
    project = store.project_id("p", create=True)
    run, _ = store.create_run(project, name="r", vus=1, duration=1, thresholds={}, key=None, now=1000.0)
    return project, run


def test_concurrent_pushes_are_one_transaction_and_every_one_counts(store):
    project, run = _new_run(store)
    seen: list[int] = []
    calls = [(run, f"k{i}", _push(i, 1000.0 + i), 1001.0 + i, lambda rid, ms: seen.append(rid)) for i in range(20)]
    results, groups = _queued_then_written(store, calls)
    assert results == [True] * 20 and groups == 1
    assert seen == [run] * 20  # the live tally sees each stored push once
    row = store.get_run(project, run)
    assert row["pushes"] == 20 and row["run_status"] == 2
    assert (row["first_data_at"], row["last_data_at"]) == (1000.0, 1019.0)
    assert len(store.points(run)) == 40
    assert sorted(i["instance_id"] for i in store.instances(run)) == sorted(str(i) for i in range(20))


def test_the_same_push_twice_in_one_group_is_stored_once(store):
    project, run = _new_run(store)
    results, groups = _queued_then_written(
        store, [(run, "same", _push(1, 1000.0), 1001.0), (run, "same", _push(1, 1000.0), 1001.0)]
    )
    assert sorted(results) == [False, True] and groups == 1
    row = store.get_run(project, run)
    assert (row["pushes"], row["duplicates"]) == (1, 1)
    assert len(store.points(run)) == 2
    assert store.ingest(run, "same", _push(1, 1000.0), 1002.0) is False  # and seen later too


def test_a_push_the_database_refuses_fails_alone(store):
    project, run = _new_run(store)
    calls = [(run, f"k{i}", _push(i, 1000.0), 1001.0) for i in range(3)]
    calls.insert(1, (987654, "x", _push(9, 1000.0), 1001.0))  # no such run: a foreign key refuses it
    results, groups = _queued_then_written(store, calls)
    assert isinstance(results[1], Exception)
    assert [results[0], *results[2:]] == [True, True, True]
    assert groups == 1 + len(calls)  # the group, then each push alone
    assert store.get_run(project, run)["pushes"] == 3
    assert len(store.points(run)) == 6


def test_series_written_before_a_restart_are_found_not_created_again(store, url):
    project, run = _new_run(store)
    assert store.ingest(run, "a", _push(1, 1000.0), 1001.0) is True
    restarted = open_store(url)  # a new service process: it remembers no series ids
    try:
        assert restarted.ingest(run, "b", _push(1, 1003.0), 1004.0) is True
        assert restarted.ingest(run, "c", _push(2, 1003.0), 1004.0) is True  # a new instance's series
        rows = restarted.points(run)
    finally:
        restarted.close()
    by_series: dict[tuple[str, str], list[float]] = {}
    for metric, _type, labels, t, *_ in rows:
        by_series.setdefault((metric, labels["instance_id"]), []).append(t)
    assert {k: sorted(v) for k, v in by_series.items()} == {
        ("http_reqs", "1"): [1000.0, 1003.0],
        ("http_req_duration", "1"): [1000.0, 1003.0],
        ("http_reqs", "2"): [1003.0],
        ("http_req_duration", "2"): [1003.0],
    }


def test_rows_made_before_queueing_are_made_again_when_their_series_ids_were_forgotten(store):
    project, run = _new_run(store)
    assert store.ingest(run, "first", _push(1, 1000.0), 1001.0) is True  # the series exist and are known
    known = store._series_cache[run]
    real = dict(known)
    known.update({k: 10_000_000 + i for i, k in enumerate(known)})  # ids a rolled-back write would leave

    def made_then_forgotten() -> None:
        assert all(p.rows is not None for p in store._queue)  # made in the pushes' own threads
        store._forget_series(run)  # what the writer does after a rollback

    results, _ = _queued_then_written(
        store, [(run, f"k{i}", _push(1, 1003.0 + i), 1004.0) for i in range(5)], made_then_forgotten
    )
    assert results == [True] * 5
    assert len(store.points(run)) == 12  # every point joins its real series
    assert store._series_cache[run] == real
