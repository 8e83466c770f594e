"""Units of the k6 command line: K6_* env, option catalogue, network rules, flag mapping, horde new/version."""

from __future__ import annotations

import ast
import asyncio
import socket
import ssl
import subprocess

import pytest
from horde.commands.k6_flags import flag_options
from horde.engine.catalogue import nearest_option, refuse_unsupported, unknown_options
from horde.engine.options import env_options
from horde.errors import UserError
from horde.http.errors import TransportError
from horde.http.netrules import DnsConfig, NetRules, RateLimiter, parse_local_ips
from hordecli import horde_script
from k6cliharness import clean_env


def test_k6_env_read_as_k6():
    opts = env_options(
        {
            "K6_VUS": "3",
            "K6_DURATION": "10s",
            "K6_STAGES": "5s:2,5s:0",
            "K6_NO_THRESHOLDS": "true",
            "K6_SUMMARY_EXPORT": "s.json",
            "K6_USER_AGENT": "ua",
            "K6_BLOCK_HOSTNAMES": "*.a,b.c",
            "K6_HOSTS": '{"x.test": "127.0.0.1"}',
            "K6_MIN_ITERATION_DURATION": "1s",
            "K6_HTTP_DEBUG": "full",
        }
    )
    assert opts["vus"] == 3 and opts["duration"] == "10s"
    assert opts["stages"] == [{"duration": "5s", "target": 2}, {"duration": "5s", "target": 0}]
    assert opts["noThresholds"] is True and opts["summaryExport"] == "s.json"
    assert opts["blockHostnames"] == ["*.a", "b.c"] and opts["hosts"] == {"x.test": "127.0.0.1"}
    assert opts["httpDebug"] == "full" and opts["minIterationDuration"] == "1s" and opts["userAgent"] == "ua"


def test_horde_env_wins_over_k6_env():
    assert env_options({"K6_VUS": "3", "HORDE_VUS": "5"})["vus"] == 5


def test_bad_k6_env_is_exit_104():
    with pytest.raises(UserError) as err:
        env_options({"K6_VUS": "many"})
    assert err.value.exit_code == 104 and "K6_VUS" in str(err.value)
    with pytest.raises(UserError):
        env_options({"K6_THROW": "maybe"})


def test_unknown_option_names_the_nearest():
    assert nearest_option("vuz") == "vus"
    assert nearest_option("minIterationDurtion") == "minIterationDuration"
    (warning,) = unknown_options({"vuz": 1, "vus": 2})
    assert '"vuz"' in warning and 'did you mean "vus"' in warning
    assert unknown_options({"zzzzqqq": 1})[0].count("did you mean") == 0


@pytest.mark.parametrize(
    "options",
    [{"compatibilityMode": "base"}, {"tracesOutput": "otel"}],
)
def test_options_horde_cannot_honour_are_exit_104(options):
    with pytest.raises(UserError) as err:
        refuse_unsupported(options)
    assert err.value.exit_code == 104 and next(iter(options)) in str(err.value)


def test_refuse_accepts_defaults():
    refuse_unsupported({"tracesOutput": "none", "vus": 1})


def test_flag_options_map_to_k6_names():
    opts = flag_options(
        {
            "max_redirects": 3,
            "throw": True,
            "rps": None,
            "blacklist_ips": ("10.0.0.0/8,192.168.0.0/16",),
            "dns": "ttl=0",
        }
    )
    assert opts == {"maxRedirects": 3, "throw": True, "blacklistIPs": ["10.0.0.0/8", "192.168.0.0/16"], "dns": "ttl=0"}


def test_blocked_hostnames_and_ips():
    rules = NetRules(
        {"blockHostnames": ["*.test", "exact.org"], "blacklistIPs": ["10.0.0.0/8"], "hosts": {"a.b": "1.2.3.4:81"}}
    )
    with pytest.raises(TransportError) as err:
        rules.resolve_name("x.Y.test", 80)
    assert err.value.code == 1111 and "(x.Y.test) is in a blocked pattern (*.test)" in err.value.message
    with pytest.raises(TransportError):
        rules.resolve_name("exact.org", 80)
    assert rules.resolve_name("exact.org.uk", 80) == ("exact.org.uk", 80)
    assert rules.resolve_name("A.B", 80) == ("1.2.3.4", 81)
    with pytest.raises(TransportError) as err:
        rules.check_ip("10.1.2.3")
    assert err.value.code == 1110
    rules.check_ip("11.1.2.3")


def test_dns_option():
    cfg = DnsConfig.parse("ttl=250,select=first,policy=onlyIPv6")
    assert cfg.ttl == 0.25 and cfg.select == "first" and cfg.policy == "onlyIPv6"
    assert DnsConfig.parse("ttl=inf").ttl == float("inf")
    assert DnsConfig.parse({"ttl": "1m"}).ttl == 60
    v4 = (socket.AF_INET, 1, 6, "", ("1.1.1.1", 80))
    v6 = (socket.AF_INET6, 1, 6, "", ("::1", 80, 0, 0))
    assert DnsConfig.parse("select=first,policy=preferIPv6").choose([v4, v6]) is v6
    assert DnsConfig.parse("select=first").choose([v6, v4]) is v4
    with pytest.raises(UserError):
        DnsConfig.parse("policy=sometimes")
    with pytest.raises(UserError):
        DnsConfig.parse("bogus=1")


def test_local_ips_ranges_and_tls_version():
    assert parse_local_ips("127.0.0.1-127.0.0.3,10.0.0.0/31") == [
        "127.0.0.1",
        "127.0.0.2",
        "127.0.0.3",
        "10.0.0.0",
        "10.0.0.1",
    ]
    rules = NetRules({"localIPs": "127.0.0.1-127.0.0.2", "tlsVersion": {"min": "tls1.2", "max": "tls1.3"}})
    assert [rules.local_ip(i) for i in (1, 2, 3)] == ["127.0.0.1", "127.0.0.2", "127.0.0.1"]
    assert (rules.tls_min, rules.tls_max) == (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3)
    with pytest.raises(UserError):
        NetRules({"tlsVersion": "tls9"})
    with pytest.raises(UserError):
        NetRules({"localIPs": "300.1.1.1"})


def test_rate_limiter_spaces_starts():
    async def go() -> float:
        lim = RateLimiter(20)
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        for _ in range(5):
            await lim.wait()
        return loop.time() - t0

    assert asyncio.run(go()) >= 0.19  # 4 gaps of 50 ms after the first (burst 1)


def _horde(*args, cwd=None):
    return subprocess.run([horde_script(), *args], capture_output=True, text=True, timeout=60, env=clean_env(), cwd=cwd)


@pytest.mark.parametrize("template", ["minimal", "protocol"])
def test_horde_new_script(tmp_path, template):
    r = _horde("new", "--template", template, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    text = (tmp_path / "script.py").read_text()
    tree = ast.parse(text)
    assert any(isinstance(n, ast.AsyncFunctionDef) and n.name == "default" for n in tree.body)
    again = _horde("new", cwd=tmp_path)
    assert again.returncode == 255 and "--force" in again.stderr
    assert _horde("new", "-f", "other.py", cwd=tmp_path).returncode == 0
    assert (tmp_path / "other.py").exists()


def test_horde_new_output_still_works(tmp_path):
    r = _horde("new", "output", "--help")
    assert r.returncode == 0 and "NAME" in r.stdout


def test_horde_version_lists_outputs():
    r = _horde("version")
    assert r.returncode == 0
    first, accelerated, *rest = r.stdout.splitlines()
    assert first.startswith("horde v") and "python" in first
    assert (
        accelerated
        == "C accelerators: horde.http._scan, horde.http._exchange, horde.http._fast, horde.metrics._sketch, horde.metrics._connected"
    )  # this checkout has a compiler
    assert any("json [output]" in line for line in rest)


@pytest.mark.parametrize(
    "flags,word",
    [
        (["--compatibility-mode", "base"], "--compatibility-mode"),
        (["-t", "tarball"], "tarball"),
        (["--traces-output", "otel=127.0.0.1:4317"], "--traces-output"),
        (["--profiling-enabled"], "--profiling-enabled"),
        (["--secret-source", "file=x"], "--secret-source"),
        (["--dns", "policy=never"], "dns"),
    ],
)
def test_refused_flags_one_line_104(tmp_path, flags, word):
    script = tmp_path / "s.py"
    script.write_text("async def default(data):\n    pass\n")
    r = _horde("run", "--workers", "1", "-a", "", "-q", *flags, str(script))
    assert r.returncode == 104, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and word in r.stderr


def test_bool_flags_take_pflag_values(tmp_path):
    script = tmp_path / "s.py"
    script.write_text("async def default(data):\n    pass\n")
    r = _horde("run", "--workers", "1", "-a", "", "-q", "--no-summary=true", "--throw=false", "-i", "1", str(script))
    assert r.returncode == 0, r.stderr
    assert "checks" not in r.stdout


def test_console_output_from_workers(tmp_path):
    script = tmp_path / "s.py"
    script.write_text(
        "import logging\n\n\nasync def default(data):\n    logging.getLogger('horde.console').info('vu line')\n"
    )
    r = subprocess.run(
        [horde_script(), "run", "--workers", "2", "-u", "2", "-i", "4", "-a", "", "-q", "--no-summary", str(script)],
        capture_output=True,
        text=True,
        timeout=60,
        env=clean_env({"K6_CONSOLE_OUTPUT": str(tmp_path / "c.log")}),
    )
    assert r.returncode == 0, r.stderr
    assert "vu line" not in r.stderr
    assert (tmp_path / "c.log").read_text().splitlines() == ["vu line"] * 4


def test_log_format_json_and_console_output(tmp_path):
    script = tmp_path / "s.py"
    script.write_text(
        "import logging\n\noptions = {'vuz': 1}\n\n\nasync def default(data):\n"
        "    logging.getLogger('horde.console').info('hello console')\n"
    )
    r = _horde(
        "run",
        "--workers",
        "1",
        "-a",
        "",
        "-q",
        "--no-summary",
        "-i",
        "1",
        "--log-format",
        "json",
        "--console-output",
        str(tmp_path / "console.log"),
        str(script),
    )
    assert r.returncode == 0, r.stderr
    assert '"level":"warning"' in r.stderr and "vuz" in r.stderr
    assert (tmp_path / "console.log").read_text().strip() == "hello console"


def test_log_output_file(tmp_path):
    script = tmp_path / "s.py"
    script.write_text("options = {'vuz': 1}\n\n\nasync def default(data):\n    pass\n")
    log = tmp_path / "k6.log"
    r = _horde(
        "run", "--workers", "1", "-a", "", "-q", "--no-summary", "-i", "1", "--log-output", f"file={log}", str(script)
    )
    assert r.returncode == 0, r.stderr
    assert "vuz" not in r.stderr and "vuz" in log.read_text()


def test_k6_output_settings_reach_outputs():
    from horde.engine.options import with_k6_aliases

    env = with_k6_aliases({"K6_INFLUXDB_ADDR": "http://a", "K6_CSV_FILENAME": "k.csv", "HORDE_CSV_FILENAME": "h.csv"})
    assert env["HORDE_INFLUXDB_ADDR"] == "http://a" and env["HORDE_CSV_FILENAME"] == "h.csv"


def test_k6_out_and_csv_env_configure_the_csv_output(tmp_path):
    pytest.importorskip("horde_out_csv")
    script = tmp_path / "s.py"
    script.write_text("async def default(data):\n    pass\n")
    env = clean_env({"K6_OUT": "csv", "K6_CSV_FILENAME": str(tmp_path / "k6.csv"), "K6_ITERATIONS": "2"})
    r = subprocess.run(
        [horde_script(), "run", "--workers", "1", "-a", "", "-q", "--no-summary", str(script)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert r.returncode == 0, r.stderr
    rows = (tmp_path / "k6.csv").read_text().splitlines()
    assert rows[0].startswith("metric_name") and sum(line.startswith("iterations,") for line in rows) == 2
