"""SpillQueue: FIFO across memory and disk, thread safety, limits, close."""

from __future__ import annotations

import os
import pickle
import struct
import threading
from pathlib import Path

import pytest
from horde.output.spill import SpillQueue

_INT = struct.Struct("<q")


def int_queue(memory_limit: int, tmp_path: Path | None = None, **kw: object) -> SpillQueue[int]:
    return SpillQueue(
        encode=_INT.pack,
        decode=lambda b: _INT.unpack(b)[0],
        memory_limit=memory_limit,
        directory=tmp_path,
        **kw,  # type: ignore[arg-type]
    )


def spill_files(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def test_memory_only_never_encodes(tmp_path: Path) -> None:
    def boom(item: object) -> bytes:
        raise AssertionError("encode called without spilling")

    q: SpillQueue[object] = SpillQueue(encode=boom, decode=pickle.loads, memory_limit=10, directory=tmp_path)
    for i in range(10):
        assert q.put(i)
    assert len(q) == 10 and q.size == 10 and q.spilled == 0
    assert [q.get_nowait() for _ in range(10)] == list(range(10))
    assert q.get_nowait() is None
    assert spill_files(tmp_path) == []


def test_order_across_memory_and_disk_with_interleaved_put_get(tmp_path: Path) -> None:
    q = int_queue(3, tmp_path)
    expected = []
    got = []
    n = 0
    # put bursts larger than memory, take a few, put more: once disk holds items,
    # new ones go to disk too, so FIFO order must hold throughout
    for burst, take in [(5, 2), (1, 1), (4, 6), (2, 0), (7, 3), (0, 20)]:
        for _ in range(burst):
            assert q.put(n)
            expected.append(n)
            n += 1
        for _ in range(take):
            item = q.get_nowait()
            if item is not None:
                got.append(item)
    assert got == expected
    assert q.spilled > 0
    assert len(q) == 0 and q.size == 0


def test_size_units_decide_when_to_spill(tmp_path: Path) -> None:
    q = int_queue(100, tmp_path)
    assert q.put(1, size=60)
    assert q.put(2, size=30)
    assert q.spilled == 0
    assert q.put(3, size=20)  # 110 > 100: to disk
    assert q.spilled == 1
    assert q.put(4, size=1)  # disk not empty: to disk to keep order
    assert q.spilled == 2
    assert q.size == 111 and len(q) == 4
    assert [q.get_nowait() for _ in range(4)] == [1, 2, 3, 4]
    assert q.size == 0
    # disk drained: memory is used again
    assert q.put(5, size=1)
    assert q.spilled == 2


def test_one_producer_one_consumer_thread(tmp_path: Path) -> None:
    q = int_queue(50, tmp_path)
    total = 200_000
    got: list[int] = []

    def consume() -> None:
        while True:
            item = q.get(timeout=10)
            if item is None:
                return
            got.append(item)

    consumer = threading.Thread(target=consume)
    consumer.start()
    for i in range(total):
        assert q.put(i)
    q.close()
    consumer.join(timeout=60)
    assert not consumer.is_alive()
    assert got == list(range(total))
    assert q.dropped == 0


def test_disk_limit_drops_are_counted(tmp_path: Path) -> None:
    record = 12 + 8  # header + one int
    q = int_queue(2, tmp_path, disk_limit=record * 3)
    results = [q.put(i) for i in range(10)]
    assert results == [True] * 5 + [False] * 5
    assert q.dropped == 5 and q.spilled == 3 and len(q) == 5
    assert [q.get_nowait() for _ in range(5)] == [0, 1, 2, 3, 4]
    # drained: room on disk again
    assert all(q.put(i) for i in range(5))
    assert q.dropped == 5


def test_disk_error_drops_and_says_why(tmp_path: Path) -> None:
    missing = tmp_path / "not-there"
    q = int_queue(1, missing)
    assert q.put(1)
    assert not q.put(2)
    assert q.dropped == 1
    assert q.disk_error and "No such file" in q.disk_error
    assert q.get_nowait() == 1 and q.get_nowait() is None


def test_close_wakes_a_blocked_get(tmp_path: Path) -> None:
    q = int_queue(10, tmp_path)
    results: list[object] = []
    waiters = [threading.Thread(target=lambda: results.append(q.get())) for _ in range(3)]
    for w in waiters:
        w.start()
    q.close()
    for w in waiters:
        w.join(timeout=10)
        assert not w.is_alive()
    assert results == [None, None, None]


def test_get_timeout_returns_none(tmp_path: Path) -> None:
    q = int_queue(10, tmp_path)
    assert q.get(timeout=0.01) is None
    assert q.get(timeout=0) is None


def test_put_after_close_is_refused_and_counted(tmp_path: Path) -> None:
    q = int_queue(10, tmp_path)
    q.close()
    assert not q.put(1)
    assert q.dropped == 1 and len(q) == 0


def test_close_removes_files_and_queued_items_stay_readable(tmp_path: Path) -> None:
    q = int_queue(2, tmp_path)
    for i in range(10):
        q.put(i)
    assert spill_files(tmp_path)  # visible while open
    q.close()
    assert spill_files(tmp_path) == []
    assert [q.get(timeout=1) for _ in range(10)] == list(range(10))
    assert q.get(timeout=1) is None


def test_private_directory_made_on_first_spill_and_removed_on_close() -> None:
    q = int_queue(1)
    q.put(1)
    assert not q._files.private_dir  # nothing spilled yet
    q.put(2)
    private = q._files.private_dir
    assert private and os.listdir(private)
    q.close()
    assert not os.path.exists(private)


def test_drained_segments_are_deleted(tmp_path: Path) -> None:
    # a small disk_limit makes small segments (disk_limit / 8): read-through ones go away
    q: SpillQueue[bytes] = SpillQueue(
        encode=bytes, decode=bytes, memory_limit=0, directory=tmp_path, disk_limit=1 << 20
    )
    blob = b"x" * 1000
    for _ in range(1000):
        assert q.put(blob)
    assert len(spill_files(tmp_path)) >= 7
    for _ in range(900):
        assert q.get_nowait() == blob
    assert len(spill_files(tmp_path)) <= 2
    assert q.disk_bytes <= 2 * (128 << 10)
    while q.get_nowait() is not None:
        pass
    assert len(spill_files(tmp_path)) == 1 and q.disk_bytes == 0  # the last one is kept, emptied
    assert os.path.getsize(tmp_path / spill_files(tmp_path)[0]) == 0
    q.close()
    assert spill_files(tmp_path) == []


def test_a_million_items_spill_round_trip(tmp_path: Path) -> None:
    q = int_queue(1000, tmp_path)
    n = 1_000_000
    put = q.put
    for i in range(n):
        put(i)
    assert len(q) == n and q.size == n and q.spilled == n - 1000
    take = q.get_nowait
    for i in range(n):
        if take() != i:
            pytest.fail(f"item {i} out of order")
    assert take() is None and q.dropped == 0
    q.close()
    assert spill_files(tmp_path) == []


def test_invalid_limits_are_refused() -> None:
    with pytest.raises(ValueError):
        int_queue(-1)
    with pytest.raises(ValueError):
        int_queue(1, disk_limit=-5)
