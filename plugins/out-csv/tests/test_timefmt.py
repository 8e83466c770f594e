"""The six time formats, and the local zone of the RFC3339 forms."""

import time

import pytest
from conftest import T0
from horde_out_csv.config import TimeFormat
from horde_out_csv.timefmt import time_formatter


@pytest.fixture
def tz(monkeypatch):
    def set_tz(name):
        monkeypatch.setenv("TZ", name)
        time.tzset()

    yield set_tz
    monkeypatch.undo()
    time.tzset()


@pytest.mark.parametrize(
    "fmt,text",
    [
        (TimeFormat.UNIX, "1795303223"),
        (TimeFormat.UNIX_MILLI, "1795303223537"),
        (TimeFormat.UNIX_MICRO, "1795303223537028"),
        (TimeFormat.UNIX_NANO, "1795303223537028460"),
        (TimeFormat.RFC3339, "2026-11-21T23:20:23Z"),
        (TimeFormat.RFC3339_NANO, "2026-11-21T23:20:23.53702846Z"),
    ],
)
def test_six_formats_utc(tz, fmt, text):
    tz("UTC")
    assert time_formatter(fmt)(T0) == text


def test_rfc3339_uses_the_local_zone(tz):
    tz("Asia/Kolkata")
    assert time_formatter(TimeFormat.RFC3339_NANO)(T0) == "2026-11-22T04:50:23.53702846+05:30"
    assert time_formatter(TimeFormat.RFC3339)(T0) == "2026-11-22T04:50:23+05:30"
    tz("America/New_York")
    assert time_formatter(TimeFormat.RFC3339)(T0) == "2026-11-21T18:20:23-05:00"


def test_zero_offset_zone_is_z_whatever_its_name(tz):
    tz("WET0")
    assert time_formatter(TimeFormat.RFC3339)(T0) == "2026-11-21T23:20:23Z"


def test_rfc3339_nano_trims_zeros_and_drops_empty_fraction(tz):
    tz("UTC")
    fmt = time_formatter(TimeFormat.RFC3339_NANO)
    assert fmt(1_795_303_223_000_000_000) == "2026-11-21T23:20:23Z"
    assert fmt(1_795_303_223_500_000_000) == "2026-11-21T23:20:23.5Z"
    assert fmt(1_795_303_224_000_000_001) == "2026-11-21T23:20:24.000000001Z"


def test_unix_forms_floor_before_the_epoch():
    assert time_formatter(TimeFormat.UNIX)(-1) == "-1"
    assert time_formatter(TimeFormat.UNIX_MILLI)(-1) == "-1"
