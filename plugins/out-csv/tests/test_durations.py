import pytest

from horde_out_csv.durations import DurationError, format_duration, parse_duration, parse_extended_duration

MS, S = 1_000_000, 1_000_000_000


@pytest.mark.parametrize("text,ns", [
    ("1s", S), ("500ms", 500 * MS), ("1m30s", 90 * S), ("1h", 3600 * S), ("1.5s", 1500 * MS), ("-2s", -2 * S),
    ("+3ms", 3 * MS), ("0", 0), ("1us", 1000), ("1\u00b5s", 1000), ("10ns", 10), (".5s", 500 * MS), ("2h45m", 9900 * S),
])
def test_go_parse_duration(text, ns):
    assert parse_duration(text) == ns


@pytest.mark.parametrize("text,message", [
    ("", 'time: invalid duration ""'),
    ("abc", 'time: invalid duration "abc"'),
    ("1", 'time: missing unit in duration "1"'),
    ("1x", 'time: unknown unit "x" in duration "1x"'),
    (".s", 'time: invalid duration ".s"'),
])
def test_go_parse_duration_errors(text, message):
    with pytest.raises(DurationError) as err:
        parse_duration(text)
    assert str(err.value) == message


@pytest.mark.parametrize("text,ns", [("250", 250 * MS), ("-5", -5 * MS), ("2d", 48 * 3600 * S),
                                     ("1d12h", 36 * 3600 * S), ("2s", 2 * S)])
def test_extended_duration(text, ns):
    assert parse_extended_duration(text) == ns


@pytest.mark.parametrize("ns,text", [(0, "0s"), (S, "1s"), (1500 * MS, "1.5s"), (90 * S, "1m30s"),
                                     (3600 * S, "1h0m0s"), (500 * MS, "500ms"), (1500, "1.5\u00b5s"), (7, "7ns"),
                                     (-2 * S, "-2s"), (1_500_000, "1.5ms")])
def test_format_duration_is_gos(ns, text):
    assert format_duration(ns) == text
