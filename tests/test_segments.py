"""Execution segments: k6's parsing, striping and scaling (vectors from k6's lib/execution_segment_test.go)."""

from __future__ import annotations

import pickle
import random
from fractions import Fraction as F

import pytest
from horde.segments import (
    ExecutionTuple,
    Segment,
    SegmentError,
    SegmentSequence,
    Share,
    execution_tuple,
    instance_segment,
    worker_share,
)


def seg(text: str) -> Segment:
    return Segment.parse(text)


def seq(text: str) -> SegmentSequence:
    return SegmentSequence.parse(text)


@pytest.mark.parametrize(
    "text,start,end",
    [
        ("0:1", F(0), F(1)),
        ("0.5:0.75", F(1, 2), F(3, 4)),
        ("1/2:3/4", F(1, 2), F(3, 4)),
        ("50%:75%", F(1, 2), F(3, 4)),
        ("2/4:75%", F(1, 2), F(3, 4)),
        ("75%", F(0), F(3, 4)),
        ("2/3", F(0), F(2, 3)),
        ("", F(0), F(1)),
    ],
)
def test_segment_parse(text, start, end):
    s = seg(text)
    assert (s.start, s.end) == (start, end)
    assert seg(str(s)) == s  # the string form parses back


@pytest.mark.parametrize(
    "text,message",
    [
        ("125%", "segment end value can't be more than 1 but was 1.25"),
        ("1a5%", "'1a5%' is not a valid percentage"),
        ("1a5", "'1a5' is not a valid percentage, decimal, fraction or interval value"),
        ("1a5%:2/3", "'1a5%' is not a valid percentage"),
        ("125%:250%", "segment end value can't be more than 1 but was 2.50"),
        ("55%:50%", "segment start(0.55) must be less than its end(0.50)"),
        ("-1/2:1", "segment start value must be at least 0 but was -0.50"),
        ("1/2:1/2", "segment start(0.50) must be less than its end(0.50)"),
        ("1/0", "'1/0' is not a valid percentage, decimal, fraction or interval value"),
    ],
)
def test_segment_parse_errors_are_k6s(text, message):
    with pytest.raises(SegmentError) as info:
        seg(text)
    assert str(info.value) == message


def test_segment_string_and_split():
    assert str(Segment.full()) == "0:1"
    assert [str(s) for s in Segment.full().split(3)] == ["0:1/3", "1/3:2/3", "2/3:1"]
    quarter = seg("1/4:1/2")
    assert [str(s) for s in quarter.split(3)] == ["1/4:1/3", "1/3:5/12", "5/12:1/2"]
    assert [str(s) for s in quarter.split(4)] == ["1/4:5/16", "5/16:3/8", "3/8:7/16", "7/16:1/2"]
    with pytest.raises(SegmentError):
        quarter.split(0)
    assert seg("1/2:1").sub_segment(seg("0:1/2")) == seg("1/2:3/4")


@pytest.mark.parametrize(
    "text,value,expected",
    [("0:0.25", 2, 1), ("0:0.25", 3, 1), ("0.25:0.5", 2, 0), ("0.25:0.5", 3, 1), ("0.5:0.75", 2, 1)]
    + [("0.5:0.75", 3, 0), ("0.75:1", 2, 0), ("0.75:1", 3, 1)],
)
def test_segment_scale(text, value, expected):
    assert seg(text).scale(value) == expected


@pytest.mark.parametrize(
    "text,segments",
    [
        ("", []),
        ("0.5,1", ["1/2:1"]),
        ("1/3,2/3", ["1/3:2/3"]),
        ("0,1/3,2/3,1", ["0:1/3", "1/3:2/3", "2/3:1"]),
        ("0.5,0.7,1", ["1/2:7/10", "7/10:1"]),
        ("0,1/13,2/13,1/3,1/2,3/4,1", ["0:1/13", "1/13:2/13", "2/13:1/3", "1/3:1/2", "1/2:3/4", "3/4:1"]),
    ],
)
def test_sequence_parse(text, segments):
    s = seq(text)
    assert [str(x) for x in s] == segments
    if "." not in text:
        assert str(s) == text


@pytest.mark.parametrize(
    "text,message",
    [
        ("0.5", "at least 2 points are needed for an execution segment sequence, 1 given"),
        ("1,1", "segment start(1.00) must be less than its end(1.00)"),
        ("-0.5,1", "segment start value must be at least 0 but was -0.50"),
        ("1/2,1/3", "segment start(0.50) must be less than its end(0.33)"),
        ("0,1,1/2", "segment start(1.00) must be less than its end(0.50)"),
    ],
)
def test_sequence_parse_errors(text, message):
    with pytest.raises(SegmentError) as info:
        seq(text)
    assert str(info.value) == message


@pytest.mark.parametrize(
    "text,lcd",
    [("0,0.3,0.5,0.6,0.7,0.8,0.9,1", 10), ("0,0.1,0.5,0.6,0.7,0.8,0.9,1", 10), ("0,1/3,5/6", 6)] + [("0,1/3,4/7", 21)],
)
def test_sequence_lcd(text, lcd):
    assert seq(text).lcd() == lcd


@pytest.mark.parametrize(
    "sequence,segment,start,offsets,lcd",
    [
        ("0,0.3,0.5,0.6,0.7,0.8,0.9,1", "0:0.3", 0, [4, 3, 3], 10),
        ("0,0.3,0.5,0.6,0.7,0.8,0.9,1", "0.3:0.5", 1, [4, 6], 10),
        ("0,0.3,0.5,0.6,0.7,0.8,0.9,1", "0.5:0.6", 2, [10], 10),
        ("0,0.3,0.5,0.6,0.7,0.8,0.9,1", "0.6:0.7", 3, [10], 10),
        ("0,0.3,0.5,0.6,0.7,0.8,0.9,1", "0.8:0.9", 8, [10], 10),
        ("0,0.3,0.5,0.6,0.7,0.8,0.9,1", "0.9:1", 9, [10], 10),
        ("0,0.2,0.5,0.6,0.7,0.8,0.9,1", "0.9:1", 9, [10], 10),
        ("0,0.2,0.5,0.6,0.7,0.8,0.9,1", "0:0.2", 1, [4, 6], 10),
        ("0,0.2,0.5,0.6,0.7,0.8,0.9,1", "0.6:0.7", 3, [10], 10),
        ("0,0.2,0.5", "0:0.2", 3, [6, 4], 10),
        ("0,0.2,0.5", "0.2:0.5", 1, [4, 2, 4], 10),
        ("0,2/5,4/5", "0:2/5", 0, [3, 2], 5),
        ("0,2/5,4/5", "2/5:4/5", 1, [3, 2], 5),
        ("", "0:0.2", 1, [5], 5),
        ("", "0:1/5", 1, [5], 5),
        ("", "0:2/10", 1, [5], 5),
        ("", "0:0.4", 1, [2, 3], 5),
        ("", "0:2/5", 1, [2, 3], 5),
        ("", "2/5:4/5", 1, [3, 2], 5),
        ("", "0:4/10", 1, [2, 3], 5),
        ("", "1/10:5/10", 1, [2, 2, 4, 2], 10),
    ],
)
def test_striped_offsets(sequence, segment, start, offsets, lcd):
    assert execution_tuple(seg(segment), seq(sequence)).striped_offsets() == (start, offsets, lcd)


def test_tuple_scale():
    assert [execution_tuple(seg("0.5")).scale(v) for v in (2, 3)] == [1, 2]
    assert [execution_tuple(seg("0.5:1.0")).scale(v) for v in (2, 3)] == [1, 1]
    halves = seq("0,0.5,1")
    assert [execution_tuple(seg("0.5"), halves).scale(v) for v in (2, 3)] == [1, 2]
    assert [execution_tuple(seg("0.5:1"), halves).scale(v) for v in (2, 3)] == [1, 1]
    assert execution_tuple(seg("0:7/20"), seq("0,7/20,7/10,1")).scale(50) == 18


THIRDS = "0,1/3,2/3,1"


@pytest.mark.parametrize(
    "segment,sequence,scales,new_scales",
    [
        (None, None, {50: 50, 1: 1, 0: 0}, {50: {50: 50, 1: 1, 0: 0}, 1: {50: 50, 1: 1, 0: 0}, 0: None}),
        ("0:1", "0,1", {50: 50, 1: 1, 0: 0}, {50: {50: 50, 1: 1, 0: 0}, 1: {50: 50, 1: 1, 0: 0}, 0: None}),
        (
            "0:1/3",
            THIRDS,
            {50: 17, 3: 1, 2: 1, 1: 1, 0: 0},
            {50: {50: 17, 1: 1}, 20: {50: 18, 1: 1}, 3: {50: 17}, 2: {50: 25, 1: 1}, 1: {50: 50}, 0: None},
        ),
        (
            "1/3:2/3",
            THIRDS,
            {50: 17, 3: 1, 2: 1, 1: 0, 0: 0},
            {50: {50: 17, 1: 0}, 20: {50: 17, 1: 0}, 3: {50: 17}, 2: {50: 25, 1: 0}, 1: None, 0: None},
        ),
        (
            "2/3:1",
            THIRDS,
            {50: 16, 3: 1, 2: 0, 1: 0, 0: 0},
            {50: {50: 16, 1: 0}, 20: {50: 15, 1: 0}, 3: {50: 16}, 2: None, 1: None, 0: None},
        ),
    ],
)
def test_new_execution_tuple(segment, sequence, scales, new_scales):
    et = execution_tuple(seg(segment) if segment else None, seq(sequence) if sequence else None)
    assert {v: et.scale(v) for v in scales} == scales
    for value, expected in new_scales.items():
        new = et.from_value(value)
        if expected is None:
            assert new is None
        else:
            assert new is not None and {v: new.scale(v) for v in expected} == expected


def test_new_tuple_from_value_resequences():
    et = execution_tuple(seg("0:1/3"), seq(THIRDS))
    new = et.from_value(20)
    assert new is not None and str(new.sequence) == "0,7/20,7/10,1"


def test_segment_missing_from_its_sequence_is_k6s_error():
    with pytest.raises(SegmentError, match=r"couldn't find segment 0:1 in sequence 0,1/2,1"):
        execution_tuple(None, seq("0,1/2,1"))
    with pytest.raises(SegmentError, match=r"couldn't find segment 0:1/3 in sequence 0,1/2,1"):
        execution_tuple(seg("1/3"), seq("0,1/2,1"))


def _random_sequence(rng: random.Random) -> SegmentSequence:
    nums = [1 + rng.randrange(100) for _ in range(rng.randrange(2, 11))]
    total, points, acc = sum(nums), [F(0)], 0
    for n in nums:
        acc += n
        points.append(F(acc, total))
    return SegmentSequence([Segment(a, b) for a, b in zip(points, points[1:])])


@pytest.mark.parametrize("seed", range(10))
def test_shares_add_up_and_never_wobble(seed):
    rng = random.Random(seed)
    s = _random_sequence(rng)
    tuples = [execution_tuple(x, s) for x in s]
    for value in [*range(0, 120), rng.randrange(1000, 100000)]:
        assert sum(t.scale(value) for t in tuples) == value
    for t in tuples:
        scaled = [t.scale(v) for v in range(300)]
        assert scaled == sorted(scaled)


@pytest.mark.parametrize("seed", range(5))
def test_each_element_belongs_to_exactly_one_segment(seed):
    s = _random_sequence(random.Random(seed))
    tuples = [execution_tuple(x, s) for x in s]
    n = 2 * tuples[0].sequence.lcd + 7
    owned = sorted(t.unscaled(j) for t in tuples for j in range(t.scale(n)))
    assert owned == list(range(n))


def test_instance_shorthand():
    segment, sequence = instance_segment(2, 3)
    assert str(segment) == "1/3:2/3" and str(sequence) == THIRDS
    with pytest.raises(SegmentError):
        instance_segment(4, 3)
    with pytest.raises(SegmentError):
        instance_segment(0, 3)


@pytest.mark.parametrize("instance_seq,workers", [(THIRDS, 2), ("0,1/5,1/2,1", 3), ("0,1", 4)])
def test_workers_split_exactly_the_instance_share(instance_seq, workers):
    s = seq(instance_seq)
    for x in s:
        inst = Share((execution_tuple(x, s),))
        parts = [worker_share(inst, w, workers) for w in range(workers)]
        for value in range(60):
            assert sum(p.scale(value) for p in parts) == inst.scale(value)
            cut = inst.from_value(value)
            if cut is not None:
                per = [p.from_value(value) for p in parts]
                assert sum(q.scale(97) for q in per if q is not None) == cut.scale(97)
        mine = sorted(p.unscaled(j) for p in parts for j in range(p.scale(50)))
        assert mine == [inst.unscaled(j) for j in range(inst.scale(50))]
        assert Segment.full().split(1)[0] == Share().segment
        assert parts[0].segment.start == x.start


def test_share_indexes_and_pickling():
    et = execution_tuple(seg("1/3:2/3"), seq(THIRDS))
    share = Share((et,))
    it = share.indexes()
    assert [next(it) for _ in range(4)] == [et.unscaled(j) for j in range(4)]
    back = pickle.loads(pickle.dumps(share))
    assert back.levels[0].scale(50) == 17 and isinstance(back.levels[0], ExecutionTuple)
    it = Share().indexes()
    assert [next(it) for _ in range(3)] == [0, 1, 2]


def test_a_thousand_even_instances_stripe_quickly():
    s = SegmentSequence.even(1000)
    tuples = [execution_tuple(x, s) for x in s]
    assert sum(t.scale(12345) for t in tuples) == 12345


def test_k6_operators_unreduced_fractions():
    # k6-operator writes --execution-segment=2/4:3/4 --execution-segment-sequence=0,1/4,2/4,3/4,1
    et = execution_tuple(seg("2/4:3/4"), seq("0,1/4,2/4,3/4,1"))
    assert et.index == 2 and str(et.sequence) == "0,1/4,1/2,3/4,1"
    assert sum(execution_tuple(x, seq("0,1/4,2/4,3/4,1")).scale(1000) for x in seq("0,1/4,2/4,3/4,1")) == 1000
