"""PerThread: one connection per sender thread, all aborted and closed together."""

from __future__ import annotations

import threading

from horde.output import PerThread


class FakeConnection:
    """Records what was done to it (PerThread only calls abort and close)."""

    def __init__(self) -> None:
        self.aborted = False
        self.closed = False

    def abort(self) -> None:
        self.aborted = True

    def close(self) -> None:
        self.closed = True


def test_each_thread_gets_its_own_connection_made_once():
    pool: PerThread[FakeConnection] = PerThread(FakeConnection)
    mine = pool.get()
    assert pool.get() is mine
    others: list[FakeConnection] = []
    threads = [threading.Thread(target=lambda: others.append(pool.get())) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert len(pool) == 4 and len({id(c) for c in [mine, *others]}) == 4


def test_abort_reaches_every_connection_and_later_ones_at_birth_close_reaches_all():
    pool: PerThread[FakeConnection] = PerThread(FakeConnection)
    first = pool.get()
    pool.abort()
    assert first.aborted
    late: list[FakeConnection] = []
    t = threading.Thread(target=lambda: late.append(pool.get()))
    t.start()
    t.join(10)
    assert late[0].aborted and not late[0].closed
    pool.close()
    assert first.closed and late[0].closed
