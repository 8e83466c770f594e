"""The C container fields and batch builder (horde.metrics._connected) against the Python ones they replace."""

import copy
import gc
import os
import pickle

import pytest
from horde.metrics import (
    BuiltinMetrics,
    ConnectedSamples,
    MetricRegistry,
    MetricStore,
    MetricType,
    Sample,
    TagSet,
    wire,
)
from horde.metrics.sample import _PyFields
from horde.metrics.wire import Decoder, Encoder

if wire._build is None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(
            "horde.metrics._connected is not built (a C compiler and Python's headers are needed)", pytrace=False
        )
    pytest.skip("horde.metrics._connected is not built", allow_module_level=True)

from horde.metrics._connected import Fields, build  # noqa: E402

TAGS = TagSet.of(method="GET", status="200")


def fields(c):
    return (c.metrics, c.values, c.time, c.tags, c.metadata)


def test_containers_are_c_fields_that_behave_as_the_python_ones():
    assert ConnectedSamples.__mro__[1] is Fields
    metrics = ("a", "b")
    c, p = ConnectedSamples(metrics, (1.0, 2.0), 5, TAGS), _PyFields(metrics, (1.0, 2.0), 5, TAGS)
    assert fields(c) == fields(p) and c.metadata is None
    assert fields(ConnectedSamples(metrics=metrics, values=(1.0,), time=1, tags=TAGS, metadata={"vu": "1"})) == (
        metrics,
        (1.0,),
        1,
        TAGS,
        {"vu": "1"},
    )
    c.values = (3.0,)  # writable, as the Python slots
    assert c.values == (3.0,) and len(c) == 2
    with pytest.raises(TypeError):
        ConnectedSamples(metrics, (1.0,))
    with pytest.raises(AttributeError):
        c.other = 1  # no __dict__
    back = pickle.loads(pickle.dumps(c))
    assert type(back) is ConnectedSamples and fields(back) == fields(c)
    assert fields(copy.copy(c)) == fields(c)
    assert [s.value for s in ConnectedSamples(("m",), (7.0,), 1, TAGS)] == [7.0]


def test_build_makes_what_the_python_loop_makes():
    metrics = ("a", "b", "c")
    times, tags = [1, 2, 3, 4], [TAGS, TagSet.of(x="1"), TAGS, TagSet.of()]
    flat = tuple(float(i) for i in range(12))
    parallel = build(ConnectedSamples, metrics, flat, 3, times, tags, None)
    assert [fields(c) for c in parallel] == [
        (metrics, flat[3 * i : 3 * i + 3], times[i], tags[i], None) for i in range(4)
    ]
    assert all(
        type(c) is ConnectedSamples and c.metrics is metrics and c.tags is tags[i] for i, c in enumerate(parallel)
    )
    rows = [(1.0,), (2.0, 3.0), (), (4.0, 5.0, 6.0)]  # not parallel to the metrics: one sequence each
    md = [{"vu": "1"}, None, {"vu": "2"}, None]
    built = build(ConnectedSamples, metrics, rows, 0, times, tags, md)
    assert [fields(c) for c in built] == [(metrics, rows[i], times[i], tags[i], md[i]) for i in range(4)]
    assert build(ConnectedSamples, metrics, (), 3, [], [], None) == []


def test_containers_and_their_built_values_are_not_tracked_by_the_garbage_collector():
    made = ConnectedSamples(("a",), (1.0,), 5, TAGS, {"vu": "1"})
    built = build(ConnectedSamples, ("a", "b"), (1.0, 2, 3.0, 4), 2, [1, 2], [TAGS, TAGS], None)
    assert not gc.is_tracked(made) and not any(map(gc.is_tracked, built))
    assert not any(gc.is_tracked(c.values) for c in built)  # numbers only, as the collector would leave them
    holding = build(ConnectedSamples, ("a",), ([],), 1, [1], [TAGS], None)[0]
    assert gc.is_tracked(holding.values)  # a value the collector tracks keeps its tuple tracked
    assert not gc.is_tracked(Fields(("a",), (1.0,), 1, TAGS))

    class Annotated(ConnectedSamples):  # a __dict__ may refer to anything: such a container stays tracked
        pass

    class Slotted(ConnectedSamples):
        __slots__ = ("note",)

    assert gc.is_tracked(Annotated(("a",), (1.0,), 1, TAGS)) and gc.is_tracked(Slotted(("a",), (1.0,), 1, TAGS))
    del made, built, holding
    assert gc.collect() >= 0  # deallocating untracked instances of a GC subclass is sound


@pytest.mark.parametrize(
    "args",
    [
        (_PyFields, (), (), 1, [], [], None),  # not a subclass of Fields
        (ConnectedSamples, ("a",), (1.0, 2.0), 1, [1], [TAGS], None),  # k values per container
        (ConnectedSamples, ("a",), (1.0,), 1, [1], [TAGS, TAGS], None),  # one tag set per container
        (ConnectedSamples, ("a",), (1.0,), 1, [1], [TAGS], []),  # one metadata per container
        (ConnectedSamples, ("a",), [(1.0,)], 0, [1, 2], [TAGS, TAGS], None),  # one sequence per container
        (ConnectedSamples, ("a",), (1.0,), -1, [1], [TAGS], None),
        (ConnectedSamples, ("a",), (1.0,), 1, (1,), [TAGS], None),  # lists
    ],
)
def test_build_refuses_what_does_not_add_up(args):
    with pytest.raises((TypeError, ValueError)):
        build(*args)


def test_a_worker_batch_gives_the_same_containers_with_and_without_the_c_builder(monkeypatch):
    wreg, creg = MetricRegistry(), MetricRegistry()
    wb = BuiltinMetrics(wreg)
    custom = wreg.get_or_new("my_trend", MetricType.TREND)
    batch = []
    for i in range(30):
        batch.append(ConnectedSamples(wb.http_request, tuple(float(i + j) for j in range(9)), i, TAGS, {"vu": str(i)}))
        batch.append(ConnectedSamples(wb.iteration_end, (1.0, 2.0, 3.0, 1.0), i, TagSet.of(scenario="s")))
        if i % 7 == 0:
            batch.append(Sample(custom, i, 0.5 * i, TAGS))
            batch.append(ConnectedSamples(wb.http_request, (1.0, 2.0), i, TAGS))  # fewer values than metrics
    msg = pickle.loads(Encoder().encode_columns(batch, MetricStore(), None))
    dec = Decoder(creg)
    columns = dec.decode_columns(msg[1], msg[2], msg[3], msg[5])
    in_c = columns.containers()
    columns._containers = None
    monkeypatch.setattr(wire, "_build", None)
    in_python = columns.containers()
    assert in_c is not in_python
    assert [(tuple(m.name for m in c.metrics), *fields(c)[1:]) for c in in_c] == [
        (tuple(m.name for m in c.metrics), *fields(c)[1:]) for c in in_python
    ]
    assert [tuple(c.values) for c in in_c] == [tuple(c.values) for c in batch]
