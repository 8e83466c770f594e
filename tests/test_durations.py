"""Durations: k6's extended Go durations in, Go's Duration.String() out."""

from __future__ import annotations

import pytest
from horde.durations import DurationError, format_duration, parse_duration, parse_duration_ns

MS = 1_000_000
S = 1_000_000_000


@pytest.mark.parametrize(
    "text, ns",
    [
        ("500ms", 500 * MS),
        ("1s", S),
        ("1m30s", 90 * S),
        ("1h", 3600 * S),
        ("2.5s", 2500 * MS),
        ("1h2m3.5s", 3723 * S + 500 * MS),
        ("1.5µs", 1500),
        ("1.5μs", 1500),  # Greek mu
        ("3us", 3000),
        ("7ns", 7),
        (".5s", 500 * MS),
        ("1.s", S),
        ("+2s", 2 * S),
        ("-1m", -60 * S),
        ("0", 0),
        ("1d", 86400 * S),
        ("1d2h", 26 * 3600 * S),
        ("2d12h30m", (48 * 3600 + 12 * 3600 + 30 * 60) * S),
        ("500", 500 * MS),  # a bare integer string is milliseconds
        ("-250", -250 * MS),
    ],
)
def test_strings(text, ns):
    assert parse_duration_ns(text) == ns
    assert parse_duration(text) == ns / S


@pytest.mark.parametrize("value, ns", [(500, 500 * MS), (0, 0), (1.5, 1500000), (90000, 90 * S)])
def test_numbers_are_milliseconds(value, ns):
    assert parse_duration_ns(value) == ns


@pytest.mark.parametrize(
    "text, message",
    [
        ("2.5", 'time: missing unit in duration "2.5"'),
        ("", 'time: invalid duration ""'),
        ("xx", 'time: invalid duration "xx"'),
        ("1x", 'time: unknown unit "x" in duration "1x"'),
        ("1s2", 'time: missing unit in duration "1s2"'),
        (".s", 'time: invalid duration ".s"'),
        ("1d-2h", "invalid time format '-2h'"),
        ("ad", 'strconv.ParseInt: parsing "a": invalid syntax'),
    ],
)
def test_invalid_strings(text, message):
    with pytest.raises(DurationError) as info:
        parse_duration(text)
    assert str(info.value) == message
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("value", [True, None, [1], float("nan"), float("inf")])
def test_invalid_types(value):
    with pytest.raises(DurationError):
        parse_duration_ns(value)


@pytest.mark.parametrize(
    "ns, text",
    [
        (0, "0s"),
        (1, "1ns"),
        (1500, "1.5µs"),
        (500 * MS, "500ms"),
        (1500 * MS, "1.5s"),
        (10 * S, "10s"),
        (90 * S, "1m30s"),
        (3600 * S, "1h0m0s"),
        (26 * 3600 * S + 184 * S + 500 * MS, "26h3m4.5s"),
        (-90 * S, "-1m30s"),
        (100 * MS, "100ms"),
    ],
)
def test_format_like_go(ns, text):
    assert format_duration(ns=ns) == text
    assert format_duration(ns / S) == text


def test_round_trip():
    for text in ("10s", "1m30s", "250ms", "2h0m5s"):
        assert format_duration(ns=parse_duration_ns(text)) == text
