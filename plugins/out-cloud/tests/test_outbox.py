from horde_out_cloud.batch import Batch
from horde_out_cloud.outbox import Outbox


def test_outbox_spills_beyond_its_memory_bound_and_keeps_order(tmp_path):
    box = Outbox(max_memory=250, spool_dir=str(tmp_path / "spool"))
    batches = [Batch.new(bytes([i]) * 100, samples=i + 1) for i in range(6)]
    for b in batches:
        box.put(b)
    assert box.stats() == (6, 21, 4)
    assert len(list((tmp_path / "spool").glob("*/*.snappy"))) == 4
    got = []
    while (b := box.peek()) is not None:
        got.append((b.key, b.body, b.samples))
        box.done(b)
    assert got == [(b.key, b.body, b.samples) for b in batches]
    assert box.stats() == (0, 0, 0) and not list((tmp_path / "spool").glob("*/*"))


def test_a_batch_keeps_its_idempotency_key_until_done():
    box = Outbox(max_memory=1 << 20)
    b = Batch.new(b"x", 1)
    box.put(b)
    assert box.peek().key == box.peek().key == b.key and len(box) == 1
