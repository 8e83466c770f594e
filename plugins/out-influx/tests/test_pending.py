"""The waiting queue: bounded memory, overflow to a file, nothing lost, FIFO."""

from __future__ import annotations

import os

from horde_out_influx.lineproto import Batch
from horde_out_influx.pending import Pending


def batch(i: int, n: int = 3) -> Batch:
    return Batch(b"".join(b"m value=%d %d\n" % (i, j) for j in range(n)), n)


def test_spills_beyond_memory_limit_and_reads_back_in_order(tmp_path):
    spool = str(tmp_path / "spool.lp")
    p = Pending(memory_limit=100, spool_file=spool)
    sent = [batch(i) for i in range(20)]
    for b in sent:
        p.put(b)
    assert p.memory_bytes <= 100 and p.disk_bytes > 0 and os.path.getsize(spool) == p.disk_bytes
    assert p.points == 60 and p.spilled_total > 0
    got = []
    while (b := p.get(0)) is not None:
        got.append(b.body)
    assert got == [b.body for b in sent]
    assert p.points == 0 and p.disk_bytes == 0 and os.path.getsize(spool) == 0  # truncated when drained
    p.close()
    assert not os.path.exists(spool)


def test_retry_goes_first_and_dump_keeps_everything(tmp_path):
    p = Pending(memory_limit=50, spool_file=str(tmp_path / "s.lp"))
    for i in range(5):
        p.put(batch(i))
    first = p.get(0)
    p.put(first, front=True)
    assert p.get(0).body == first.body
    p.put(first, front=True)
    out = tmp_path / "undelivered.lp"
    points, size = p.dump(str(out), [batch(99, 1)])
    assert points == 16 and size == out.stat().st_size
    assert out.read_bytes() == b"".join(batch(i).body for i in range(5)) + batch(99, 1).body
    assert p.points == 0 and p.get(0) is None


def test_spill_failure_keeps_data_in_memory(tmp_path):
    p = Pending(memory_limit=10, spool_file=str(tmp_path / "missing-dir" / "s.lp"))
    p.put(batch(1))
    p.put(batch(2))
    assert p.spill_error and p.points == 6
    assert p.get(0).body == batch(1).body and p.get(0).body == batch(2).body

