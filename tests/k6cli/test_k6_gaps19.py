"""The last gaps of issue 19 against real k6 v1.1.0: tlsCipherSuites, metricSamplesBufferSize, K6_* variables
of flags that are not options, and k6's default config file."""

from __future__ import annotations

import json
import re
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from horde.testing.certs import make_self_signed_cert

SUITE = "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"
"""The one suite the TLS 1.2 server offers (its certificate is an EC one)."""
OTHER = "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"

K6_TLS = """
import http from 'k6/http';
export const options = { insecureSkipTLSVerify: true, tlsCipherSuites: JSON.parse(__ENV.SUITES) };
export default function () { const r = http.get(__ENV.URL); console.log('CODE=' + r.error_code + ';ERR=' + r.error + ';'); }
"""

HORDE_TLS = """
import json
from horde import http, env

options = {"insecureSkipTLSVerify": True, "tlsCipherSuites": json.loads(env["SUITES"])}


async def default(data):
    r = await http.get(env["URL"])
    print(f"CODE={r.error_code};ERR={r.error};", flush=True)
"""


class _Ok(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802
        self.server.served += 1  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def tls12_server(tmp_path):
    """An HTTPS server on 127.0.0.1 speaking only TLS 1.2 with the one suite ECDHE-ECDSA-AES128-GCM-SHA256."""
    cert, key = make_self_signed_cert(str(tmp_path))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_ciphers("ECDHE-ECDSA-AES128-GCM-SHA256")
    ctx.load_cert_chain(cert, key)
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    srv.daemon_threads = True
    srv.served = 0  # type: ignore[attr-defined]
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield srv
    srv.shutdown()
    srv.server_close()


def _codes(proc) -> list[tuple[str, str]]:
    """(error_code, error) of every request the script printed."""
    return re.findall(r"CODE=(\w*);ERR=([^;]*);", proc.stdout + proc.stderr)


@pytest.mark.parametrize(
    ("suites", "served", "code"),
    [([SUITE], 1, ("0", "")), ([OTHER], 0, ("1010", "remote error: tls: handshake failure"))],
)
def test_tls_cipher_suites_as_k6(k6, horde, tls12_server, suites, served, code):
    env = {"URL": f"https://127.0.0.1:{tls12_server.server_address[1]}/", "SUITES": json.dumps(suites)}
    rk = k6(K6_TLS, "-q", "-i", "1", env=env)
    k6_served, tls12_server.served = tls12_server.served, 0
    rh = horde(HORDE_TLS, "-q", "-i", "1", env=env)
    assert rk.returncode == rh.returncode == 0, (rk.stderr, rh.stderr)
    assert k6_served == tls12_server.served == served
    k6_codes, horde_codes = _codes(rk), _codes(rh)
    assert (k6_codes, horde_codes) == ([code], [code]), (rk.stderr[-600:], rh.stdout[-600:], rh.stderr)


def test_tls13_suite_names_change_nothing_as_in_go(k6, horde, tls12_server):
    """Go ignores TLS 1.3 names for TLS 1.2; with a usable 1.2 suite beside one, both connect."""
    env = {
        "URL": f"https://127.0.0.1:{tls12_server.server_address[1]}/",
        "SUITES": json.dumps(["TLS_AES_128_GCM_SHA256", SUITE]),
    }
    rk = k6(K6_TLS, "-q", "-i", "1", env=env)
    rh = horde(HORDE_TLS, "-q", "-i", "1", env=env)
    assert _codes(rk) == _codes(rh) == [("0", "")], (rk.stderr, rh.stderr)


def test_unknown_cipher_suite_is_k6s_error(k6, horde, tls12_server):
    env = {"URL": f"https://127.0.0.1:{tls12_server.server_address[1]}/", "SUITES": json.dumps(["TLS_NOPE"])}
    rk = k6(K6_TLS, "-q", "-i", "1", env=env)
    rh = horde(HORDE_TLS, "-q", "-i", "1", env=env)
    assert "unknown cipher suite 'TLS_NOPE'" in rk.stderr
    assert "unknown cipher suite 'TLS_NOPE'" in rh.stderr
    assert rh.returncode == rk.returncode, (rk.stderr, rh.stderr)
    assert tls12_server.served == 0
    assert "Traceback" not in rh.stderr and len(rh.stderr.strip().splitlines()) == 1, rh.stderr


K6_LIFECYCLE = """
import http from 'k6/http';
export function setup() { http.get(__ENV.URL + '/setup'); }
export default function () { http.get(__ENV.URL + '/'); }
export function teardown() { http.get(__ENV.URL + '/teardown'); }
"""

HORDE_LIFECYCLE = """
from horde import http, env


async def setup():
    await http.get(env["URL"] + "/setup")


async def default(data):
    await http.get(env["URL"] + "/")


async def teardown(data):
    await http.get(env["URL"] + "/teardown")
"""


def _both_paths(k6, horde, target, *args, env, k6_script=K6_LIFECYCLE, horde_script=HORDE_LIFECYCLE):
    env = {"URL": target.url, **env}
    rk = k6(k6_script, "-q", *args, env=env)
    seen_k6 = sorted(target.paths())
    target.clear()
    rh = horde(horde_script, "-q", *args, env=env)
    seen_horde = sorted(target.paths())
    target.clear()
    assert rk.returncode == rh.returncode == 0, (rk.stderr, rh.stderr)
    return seen_k6, seen_horde, rk, rh


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, ["/", "/setup", "/teardown"]),
        ({"K6_NO_SETUP": "true"}, ["/", "/teardown"]),
        ({"K6_NO_TEARDOWN": "true"}, ["/", "/setup"]),
        ({"K6_NO_SETUP": "true", "K6_NO_TEARDOWN": "true", "K6_NO_USAGE_REPORT": "true"}, ["/"]),
    ],
)
def test_k6_env_of_lifecycle_flags(k6, horde, target, env, expected):
    a, b, _, _ = _both_paths(k6, horde, target, "-i", "1", env=env)
    assert a == b == expected


def test_horde_env_wins_over_k6_env_of_flags(horde, target):
    r = horde(HORDE_LIFECYCLE, "-q", "-i", "1", env={"URL": target.url, "K6_NO_SETUP": "true", "HORDE_NO_SETUP": "0"})
    assert r.returncode == 0, r.stderr
    assert sorted(target.paths()) == ["/", "/setup", "/teardown"]


def test_k6_default_config_file_is_read(k6, horde, target, tmp_path):
    """``<user config dir>/k6/config.json`` is read when -c is not given (XDG_CONFIG_HOME, else ~/.config)."""
    home = tmp_path / "home"
    (home / ".config" / "k6").mkdir(parents=True)
    (home / ".config" / "k6" / "config.json").write_text(json.dumps({"iterations": 3, "noTeardown": True}))
    env = {"HOME": str(home), "XDG_CONFIG_HOME": ""}
    a, b, _, _ = _both_paths(k6, horde, target, env=env)
    assert a == b == ["/", "/", "/", "/setup"]
    xdg = tmp_path / "xdg"
    (xdg / "k6").mkdir(parents=True)
    (xdg / "k6" / "config.json").write_text(json.dumps({"iterations": 2}))
    a, b, _, _ = _both_paths(k6, horde, target, env={**env, "XDG_CONFIG_HOME": str(xdg)})
    assert a == b == ["/", "/", "/setup", "/teardown"]
    # -c names another file: the default one is not read
    (tmp_path / "other.json").write_text(json.dumps({"iterations": 1}))
    a, b, _, _ = _both_paths(k6, horde, target, "-c", str(tmp_path / "other.json"), env=env)
    assert a == b == ["/", "/setup", "/teardown"]


def test_metric_samples_buffer_size_is_never_silent(horde, target):
    script = 'options = {"metricSamplesBufferSize": 5000}\n' + HORDE_LIFECYCLE
    r = horde(script, "-q", "-i", "1", env={"URL": target.url})
    assert r.returncode == 0, r.stderr
    assert "metricSamplesBufferSize" in r.stderr and "no effect" in r.stderr
