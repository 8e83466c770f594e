"""Configuration: k6's names and defaults, HORDE_ over K6_, the --out argument over both."""

from __future__ import annotations

import pytest
from horde.output import OutputConfigError
from horde_out_dashboard.config import DashboardConfig, consolidate, parse_arg


def test_defaults_are_k6s_on_loopback():
    c = consolidate(None, {}, "")
    assert c == DashboardConfig(host="127.0.0.1", port=5665, period=10_000_000_000, open=False, export="")
    assert c.url == "http://127.0.0.1:5665" and c.serves


def test_k6_environment_names():
    env = {
        "K6_WEB_DASHBOARD_HOST": "0.0.0.0",
        "K6_WEB_DASHBOARD_PORT": "6000",
        "K6_WEB_DASHBOARD_PERIOD": "2s",
        "K6_WEB_DASHBOARD_OPEN": "true",
        "K6_WEB_DASHBOARD_EXPORT": "report.html",
    }
    c = consolidate(None, env, "")
    assert (c.host, c.port, c.period, c.open, c.export) == ("0.0.0.0", 6000, 2_000_000_000, True, "report.html")


def test_horde_names_win_over_k6_names_and_the_argument_over_both():
    env = {"K6_WEB_DASHBOARD_PORT": "6000", "HORDE_WEB_DASHBOARD_PORT": "6001", "K6_WEB_DASHBOARD_PERIOD": "3s"}
    assert consolidate(None, env, "").port == 6001
    c = consolidate({"port": 7000, "export": "a.html"}, env, "port=6002&export=b.html")
    assert (c.port, c.export, c.period) == (6002, "b.html", 3_000_000_000)
    assert consolidate({"port": 7000, "export": "a.html"}, {}, "").export == "a.html"


def test_argument_is_a_query_string_as_k6s():
    assert parse_arg("port=-1&period=500ms&open&export=out/r.html") == {
        "port": -1,
        "period": 500_000_000,
        "open": True,
        "export": "out/r.html",
    }
    assert parse_arg("report=r.html") == {"export": "r.html"}  # xk6-dashboard's older name
    assert parse_arg("open=false") == {"open": False}


def test_port_minus_one_serves_nothing():
    c = consolidate(None, {"K6_WEB_DASHBOARD_PORT": "-1"}, "")
    assert not c.serves and c.url == ""


@pytest.mark.parametrize(
    ("env", "arg", "culprit"),
    [
        ({}, "colour=red", 'unknown key "colour"'),
        ({}, "port=http", "argument port must be a port number"),
        ({}, "port=70000", "is not a port"),
        ({}, "period=soon", "invalid argument period"),
        ({}, "period=0s", "must be positive"),
        ({"K6_WEB_DASHBOARD_OPEN": "maybe"}, "", "K6_WEB_DASHBOARD_OPEN must be true or false"),
        ({"HORDE_WEB_DASHBOARD_PERIOD": "-1s"}, "", "HORDE_WEB_DASHBOARD_PERIOD must be positive"),
    ],
)
def test_bad_settings_name_the_culprit(env, arg, culprit):
    with pytest.raises(OutputConfigError) as info:
        consolidate(None, env, arg)
    assert culprit in str(info.value) and "\n" not in str(info.value)
