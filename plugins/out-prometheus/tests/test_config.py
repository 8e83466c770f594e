"""Configuration: k6's names and defaults, horde's names winning, the --out argument, one-line errors."""

from __future__ import annotations

import subprocess

import pytest
from horde.output import OutputConfigError
from horde_out_prometheus import load_config
from runs import HORDE


def test_k6_defaults() -> None:
    cfg = load_config(None, {}, "")
    assert cfg.url == "http://localhost:9090/api/v1/write"
    assert cfg.push_interval == 5.0 and cfg.trend_stats == ["p(99)"]
    assert not cfg.trend_as_native_histogram and not cfg.stale_markers and not cfg.insecure_skip_tls_verify
    assert cfg.username is None and cfg.headers == {}


def test_k6_environment_names() -> None:
    env = {
        "K6_PROMETHEUS_RW_SERVER_URL": "https://prom:9090/api/v1/write",
        "K6_PROMETHEUS_RW_PUSH_INTERVAL": "2s",
        "K6_PROMETHEUS_RW_TREND_AS_NATIVE_HISTOGRAM": "true",
        "K6_PROMETHEUS_RW_TREND_STATS": "p(95),p(99.9),min,max,avg,med,count,sum",
        "K6_PROMETHEUS_RW_STALE_MARKERS": "1",
        "K6_PROMETHEUS_RW_INSECURE_SKIP_TLS_VERIFY": "true",
        "K6_PROMETHEUS_RW_USERNAME": "u",
        "K6_PROMETHEUS_RW_PASSWORD": "p",
        "K6_PROMETHEUS_RW_BEARER_TOKEN": "tok",
        "K6_PROMETHEUS_RW_HEADERS_X-Scope-OrgID": "tenant",
        "K6_PROMETHEUS_RW_HTTP_HEADERS": "X-A:1,X-B:2",
        "K6_PROMETHEUS_RW_CLIENT_CERTIFICATE": "/c.pem",
        "K6_PROMETHEUS_RW_CLIENT_CERTIFICATE_KEY": "/k.pem",
    }
    cfg = load_config(None, env, "")
    assert cfg.url == "https://prom:9090/api/v1/write" and cfg.push_interval == 2.0
    assert cfg.trend_as_native_histogram and cfg.stale_markers and cfg.insecure_skip_tls_verify
    assert cfg.trend_stats == ["p(95)", "p(99.9)", "min", "max", "avg", "med", "count", "sum"]
    assert (cfg.username, cfg.password, cfg.bearer_token) == ("u", "p", "tok")
    assert cfg.headers == {"X-Scope-OrgID": "tenant", "X-A": "1", "X-B": "2"}
    assert (cfg.client_certificate, cfg.client_certificate_key) == ("/c.pem", "/k.pem")


def test_precedence_json_env_horde_argument() -> None:
    json_cfg = {"url": "http://json:1/w", "pushInterval": "1s", "headers": {"X-J": "j"}, "trendStats": ["avg"]}
    env = {"K6_PROMETHEUS_RW_PUSH_INTERVAL": "3s", "HORDE_PROMETHEUS_RW_PUSH_INTERVAL": "4s"}
    cfg = load_config(json_cfg, env, "")
    assert cfg.url == "http://json:1/w" and cfg.push_interval == 4.0 and cfg.trend_stats == ["avg"]
    assert cfg.headers == {"X-J": "j"}
    assert load_config(json_cfg, env, "http://arg:2/api/v1/write").url == "http://arg:2/api/v1/write"
    cfg = load_config(json_cfg, env, "url=http://arg:3/w,pushInterval=250ms,headers.X-Org=7,staleMarkers=true")
    assert cfg.url == "http://arg:3/w" and cfg.push_interval == 0.25 and cfg.stale_markers
    assert cfg.headers == {"X-J": "j", "X-Org": "7"}


@pytest.mark.parametrize(
    ("env", "arg", "culprit"),
    [
        ({"K6_PROMETHEUS_RW_STALE_MARKERS": "maybe"}, "", "K6_PROMETHEUS_RW_STALE_MARKERS"),
        ({"K6_PROMETHEUS_RW_TREND_STATS": "p(99),p(101)"}, "", "p(101)"),
        ({"K6_PROMETHEUS_RW_TREND_STATS": "mode"}, "", "mode"),
        ({"K6_PROMETHEUS_RW_PUSH_INTERVAL": "soon"}, "", "K6_PROMETHEUS_RW_PUSH_INTERVAL"),
        ({"K6_PROMETHEUS_RW_HTTP_HEADERS": "X-A=1"}, "", "X-A=1"),
        ({}, "ftp://prom/w", "ftp://prom/w"),
        ({}, "nope=1", "nope"),
        ({"K6_PROMETHEUS_RW_CLIENT_CERTIFICATE": "/c.pem"}, "", "clientCertificateKey"),
    ],
)
def test_errors_name_the_culprit(env: dict[str, str], arg: str, culprit: str) -> None:
    with pytest.raises(OutputConfigError) as exc:
        load_config(None, env, arg)
    assert culprit in str(exc.value) and "\n" not in str(exc.value)


def test_bad_option_is_one_line_from_horde_run(tmp_path) -> None:
    script = tmp_path / "s.py"
    script.write_text("async def default(data):\n    pass\n")
    res = subprocess.run(
        HORDE + ["run", str(script), "--out", "experimental-prometheus-rw=url=ftp://x/w"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert res.returncode != 0
    assert "ftp://x/w" in res.stderr and "Traceback" not in res.stderr, res.stderr


def test_both_names_are_entry_points_of_one_class_and_listed_ok() -> None:
    from importlib.metadata import entry_points

    from horde_out_prometheus import PrometheusRWOutput

    eps = {
        ep.name: ep for ep in entry_points(group="horde.outputs") if ep.dist and ep.dist.name == "horde-out-prometheus"
    }
    assert set(eps) == {"experimental-prometheus-rw", "prometheus-rw"}
    assert all(ep.load() is PrometheusRWOutput for ep in eps.values())
    res = subprocess.run(HORDE + ["plugins"], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    rows = {line.split()[0]: line.split() for line in res.stdout.splitlines() if line.strip()}
    for name in eps:
        assert rows[name][1:4] == ["horde-out-prometheus", "0.1.0", "ok"], res.stdout
