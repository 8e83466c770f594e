"""The C trend summary (horde.metrics._sketch) against the Python one it replaces: the same result, bit for bit."""

import math
import os
import random
import sys

import pytest
from horde.metrics import sinks

if sinks._summarize is None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail("horde.metrics._sketch is not built (a C compiler and Python's headers are needed)", pytrace=False)
    pytest.skip("horde.metrics._sketch is not built", allow_module_level=True)

summarize = sinks._summarize


def c_summary(values):
    return summarize(values, sinks._INV_LOG_GAMMA, sinks._MIN_MAGNITUDE)


def same(a, b):
    """Equal, with min and max the very same objects (so -0.0 and 0.0, and which of equal values, count)."""
    return a[2:] == b[2:] and a[0] is b[0] and a[1] is b[1]


SUBNORMAL = sys.float_info.min / 4
COLUMNS = {
    "latencies": tuple(random.Random(1).lognormvariate(0, 1.5) for _ in range(1000)),
    "all zero": (0.0,) * 50,
    "signed zeros": (0.0, -0.0, 1.0, -0.0, 0.0),
    "equal extremes": (2.0, 1.0, 2.0, 1.0),
    "negatives": (-1.5, -0.001, 3.0, -1e300, 1e300),
    "subnormals": (SUBNORMAL, -SUBNORMAL, sys.float_info.min, -sys.float_info.min, 1.0),
    "NaN": (math.nan, 1.0, math.nan, -2.0),
    "only NaN": (math.nan, math.nan),
    "one": (42.0,),
    "wide": tuple(10.0**e for e in range(-300, 301, 7)),
    "bucket edges": tuple(sinks._GAMMA**i for i in range(-20, 21)),
}


@pytest.mark.parametrize("values", COLUMNS.values(), ids=COLUMNS.keys())
def test_the_c_summary_is_the_python_summary(values):
    mine = c_summary(values)
    assert mine is not None
    assert same(mine, sinks._summary_in_python(values, not any(v != v for v in values)))


@pytest.mark.parametrize(
    "values", [(1.0, 2), (1.0, math.inf), (-math.inf,), (True,)], ids=["int", "inf", "-inf", "bool"]
)
def test_anything_but_finite_floats_is_left_to_python(values):
    assert c_summary(values) is None


def test_random_columns():
    rng = random.Random(20261207)
    pool = [0.0, -0.0, math.nan, SUBNORMAL, -SUBNORMAL, 1.0, -1.0, 1e-3, 5e9]
    for _ in range(3000):
        n = rng.randint(1, 60)
        values = tuple(
            rng.choice(pool) if rng.random() < 0.2 else rng.choice((1, -1)) * rng.lognormvariate(0, 4) for _ in range(n)
        )
        expected = sinks._summary_in_python(values, False)
        assert same(c_summary(values), expected), values


def test_a_trend_sink_adds_a_column_as_it_adds_each_value():
    values = COLUMNS["latencies"] + COLUMNS["negatives"] + COLUMNS["signed zeros"]
    many, one_by_one = sinks.TrendSink(), sinks.TrendSink()
    many.add_many(values)
    for v in values:
        one_by_one.add(v)
    assert (many.count, many.sum, many._zero, many._pos, many._neg) == (
        one_by_one.count,
        one_by_one.sum,
        one_by_one._zero,
        one_by_one._pos,
        one_by_one._neg,
    )
    assert many.min is one_by_one.min and many.max is one_by_one.max


def test_no_reference_is_leaked(assert_no_leak):
    columns = [*COLUMNS.values(), (1.0, 2), (math.inf,)]
    assert_no_leak(lambda: [c_summary(values) for values in columns], 500)
