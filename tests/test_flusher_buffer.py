"""SampleBuffer and PeriodicFlusher semantics (no timing assertions: events with generous timeouts)."""

from __future__ import annotations

import threading

import pytest
from horde.metrics import EMPTY_TAGS, Metric, MetricType, Sample
from horde.output import PeriodicFlusher, SampleBuffer

WAIT = 10.0  # upper bound for anything that should happen "soon"


def _s(v):
    return Sample(Metric("m_x", MetricType.COUNTER), 0, v, EMPTY_TAGS)


def test_buffer_swaps_and_returns_in_order():
    buf = SampleBuffer()
    assert buf.take() == [] and len(buf) == 0
    a, b, c = _s(1), _s(2), _s(3)
    buf.add([a, b])
    buf.add([])
    buf.add([c])
    assert len(buf) == 3
    taken = buf.take()
    assert taken == [a, b, c] and taken[0] is a
    assert buf.take() == []
    buf.add([a])
    assert buf.take() == [a] and taken == [a, b, c], "a taken list is not reused"


def test_buffer_loses_nothing_under_concurrent_add_and_take():
    buf = SampleBuffer()
    n_threads, per_thread = 4, 2000
    got = []
    done = threading.Event()

    def produce(k):
        for i in range(per_thread):
            buf.add([(k, i)])

    def consume():
        while not done.is_set():
            got.extend(buf.take())
        got.extend(buf.take())

    consumer = threading.Thread(target=consume)
    consumer.start()
    producers = [threading.Thread(target=produce, args=(k,)) for k in range(n_threads)]
    for t in producers:
        t.start()
    for t in producers:
        t.join(WAIT)
    done.set()
    consumer.join(WAIT)
    assert sorted(got) == sorted((k, i) for k in range(n_threads) for i in range(per_thread))
    for k in range(n_threads):
        assert [i for kk, i in got if kk == k] == list(range(per_thread)), "per-producer order kept"


@pytest.mark.parametrize("period, shown", [(0, "0s"), (-1, "-1s"), (-0.5, "-0.5s")])
def test_flusher_rejects_non_positive_period(period, shown):
    with pytest.raises(ValueError) as info:
        PeriodicFlusher(period, lambda: None)
    assert str(info.value) == f"metric flush period should be positive but was {shown}"


def test_flusher_rejects_nan_period():
    with pytest.raises(ValueError, match="metric flush period should be positive but was"):
        PeriodicFlusher(float("nan"), lambda: None)


def test_flusher_ticks_on_one_thread_and_never_overlaps():
    threads = set()
    active = [0]
    overlaps = []
    ticked = threading.Event()
    calls = [0]

    def cb():
        active[0] += 1
        if active[0] > 1:
            overlaps.append(True)
        threads.add(threading.get_ident())
        calls[0] += 1
        if calls[0] >= 3:
            ticked.set()
        active[0] -= 1

    f = PeriodicFlusher(0.005, cb)
    assert ticked.wait(WAIT)
    f.stop()
    assert len(threads) == 1 and threading.get_ident() not in threads
    assert not overlaps
    assert not f.running


def test_stop_makes_one_final_flush_and_waits_for_it():
    buf = SampleBuffer()
    flushed = []

    def flush():
        flushed.extend(buf.take())

    # a period far longer than the test: only the final flush can move the samples
    f = PeriodicFlusher(3600, flush)
    assert f.running
    buf.add([_s(1), _s(2)])
    f.stop()
    assert [s.value for s in flushed] == [1, 2]
    assert not f.running


def test_stop_is_idempotent_with_a_single_final_flush():
    calls = []
    f = PeriodicFlusher(3600, lambda: calls.append(threading.get_ident()))
    f.stop()
    f.stop()
    f.stop()
    assert len(calls) == 1


def test_stop_from_several_threads_at_once_flushes_once():
    calls = []
    release = threading.Event()

    def cb():
        release.wait(WAIT)
        calls.append(1)

    f = PeriodicFlusher(3600, cb)
    stoppers = [threading.Thread(target=f.stop) for _ in range(4)]
    for t in stoppers:
        t.start()
    release.set()
    for t in stoppers:
        t.join(WAIT)
    assert not any(t.is_alive() for t in stoppers)
    assert calls == [1]


def test_stop_from_inside_the_callback_raises_instead_of_deadlocking():
    seen = []
    holder = {}
    tried = threading.Event()

    def cb():
        if "f" in holder and not tried.is_set():
            try:
                holder["f"].stop()
            except RuntimeError as exc:
                seen.append(str(exc))
            tried.set()

    holder["f"] = f = PeriodicFlusher(0.005, cb)
    assert tried.wait(WAIT)
    assert seen and "inside its own flush callback" in seen[0]
    stopper = threading.Thread(target=f.stop)
    stopper.start()
    stopper.join(WAIT)
    assert not stopper.is_alive() and not f.running


def test_periodic_errors_are_counted_and_flushing_goes_on(caplog):
    n = [0]
    enough = threading.Event()

    def cb():
        n[0] += 1
        if n[0] >= 4:
            enough.set()
        raise OSError("disk full")

    f = PeriodicFlusher(0.005, cb, name="test-flusher")
    assert enough.wait(WAIT)
    with pytest.raises(OSError, match="disk full"):
        f.stop()  # the final flush's error reaches the caller
    f.stop()  # ... once
    assert f.errors >= 3
    logged = [r for r in caplog.records if "test-flusher" in r.getMessage()]
    assert len(logged) == 1


def test_final_flush_error_is_raised_by_stop():
    def cb():
        raise ValueError("cannot write")

    f = PeriodicFlusher(3600, cb)
    with pytest.raises(ValueError, match="cannot write"):
        f.stop()
    assert f.errors == 0
