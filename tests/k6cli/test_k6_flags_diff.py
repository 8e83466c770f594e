"""Each k6 flag family against real k6 v1.1.0: the same test shape on a recording target on 127.0.0.1.

Compared: requests the target saw (paths, count, connections), headers, redirects followed, iteration
pacing over a window (counts, never tight timings), exit codes and warnings.
"""

from __future__ import annotations

import pytest

K6_GET = """
import http from 'k6/http';
export default function () { http.get(__ENV.URL + (__ENV.TPATH || '/')); }
"""

HORDE_GET = """
from horde import http, env


async def default(data):
    await http.get(env["URL"] + env.get("TPATH", "/"))
"""


def both(k6, horde, target, *args, env=None, k6_script=K6_GET, horde_script=HORDE_GET):
    """Run k6 then horde with the same flags; return (k6 result, k6 requests, horde result, horde requests)."""
    env = {"URL": target.url, **(env or {})}
    flags = [a for pair in (("-e", f"{k}={v}") for k, v in env.items() if k in ("URL", "TPATH")) for a in pair]
    rk = k6(k6_script, "-q", *flags, *args, env=env)
    seen_k6 = list(target.requests)
    target.clear()
    rh = horde(horde_script, "-q", *flags, *args, env=env)
    seen_horde = list(target.requests)
    target.clear()
    assert rk.returncode == 0, rk.stderr
    assert rh.returncode == 0, rh.stderr
    return rk, seen_k6, rh, seen_horde


def test_user_agent_seen_by_the_target(k6, horde, target):
    _, a, _, b = both(k6, horde, target, "-i", "2", "--user-agent", "flagged/1.0")
    assert [r[2]["User-Agent"] for r in a] == [r[2]["User-Agent"] for r in b] == ["flagged/1.0"] * 2


def test_empty_user_agent_sends_none(k6, horde, target):
    _, a, _, b = both(k6, horde, target, "-i", "1", "--user-agent", "")
    assert "User-Agent" not in a[0][2] and "User-Agent" not in b[0][2]


def test_user_agent_from_k6_env(k6, horde, target):
    _, a, _, b = both(k6, horde, target, "-i", "1", env={"K6_USER_AGENT": "envagent"})
    assert a[0][2]["User-Agent"] == b[0][2]["User-Agent"] == "envagent"


@pytest.mark.parametrize("limit", ["0", "2", "10"])
def test_max_redirects_followed(k6, horde, target, limit):
    _, a, _, b = both(k6, horde, target, "-i", "1", "--max-redirects", limit, env={"TPATH": "/redirect/4"})
    assert [r[1] for r in a] == [r[1] for r in b]
    assert len(a) == min(int(limit), 4) + 1


def test_vus_and_iterations_from_k6_env(k6, horde, target):
    _, a, _, b = both(k6, horde, target, env={"K6_VUS": "2", "K6_ITERATIONS": "6"})
    assert len(a) == len(b) == 6
    assert all(r[1] == "/" for r in a + b)


def test_horde_env_wins_over_k6_env(horde, target):
    r = horde(HORDE_GET, "-q", "-e", f"URL={target.url}", env={"K6_ITERATIONS": "5", "HORDE_ITERATIONS": "2"})
    assert r.returncode == 0, r.stderr
    assert len(target.requests) == 2


def test_include_system_env_vars(horde, target):
    script = HORDE_GET.replace('env["URL"]', 'env.get("URL", "http://127.0.0.1:1")')
    r = horde(script, "-q", "-i", "1", env={"URL": target.url})
    assert r.returncode == 0 and len(target.requests) == 1
    target.clear()
    r = horde(script, "-q", "-i", "1", "--include-system-env-vars=false", env={"URL": target.url})
    assert r.returncode == 0 and target.requests == []


def test_no_connection_reuse_opens_a_connection_per_request(k6, horde, target):
    _, a, _, b = both(k6, horde, target, "-i", "4", "--no-connection-reuse")
    assert len({r[3] for r in a}) == len({r[3] for r in b}) == 4


def test_connections_are_reused_by_default(k6, horde, target):
    _, a, _, b = both(k6, horde, target, "-i", "4")
    assert len({r[3] for r in a}) == len({r[3] for r in b}) == 1


def test_no_vu_connection_reuse_opens_a_connection_per_iteration(k6, horde, target):
    k6_two = K6_GET.replace("http.get(__ENV.URL + (__ENV.TPATH || '/'));", "http.get(__ENV.URL); http.get(__ENV.URL);")
    horde_two = HORDE_GET + '    await http.get(env["URL"])\n'
    _, a, _, b = both(
        k6, horde, target, "-i", "3", "--no-vu-connection-reuse", k6_script=k6_two, horde_script=horde_two
    )
    assert len(a) == len(b) == 6
    assert len({r[3] for r in a}) == len({r[3] for r in b}) == 3


def test_hosts_option_maps_a_name(k6, horde, target):
    port = target.url.rsplit(":", 1)[1]
    k6_script = K6_GET.replace(
        "import http", "export const options = { hosts: { 'mapped.test': '127.0.0.1' } };\nimport http"
    )
    horde_script = 'options = {"hosts": {"mapped.test": "127.0.0.1"}}\n' + HORDE_GET
    _, a, _, b = both(
        k6,
        horde,
        target,
        "-i",
        "1",
        env={"URL": f"http://mapped.test:{port}"},
        k6_script=k6_script,
        horde_script=horde_script,
    )
    assert len(a) == len(b) == 1
    assert a[0][2]["Host"] == b[0][2]["Host"] == f"mapped.test:{port}"


@pytest.mark.parametrize(
    "flags",
    [["--block-hostnames", "*.test"], ["--blacklist-ip", "127.0.0.0/8"]],
    ids=["block-hostnames", "blacklist-ip"],
)
def test_blocked_requests_never_reach_the_target(k6, horde, target, flags):
    port = target.url.rsplit(":", 1)[1]
    host = "127.0.0.1" if "--blacklist-ip" in flags else "blocked.test"
    _, a, _, b = both(k6, horde, target, "-i", "2", *flags, env={"URL": f"http://{host}:{port}"})
    assert a == b == []


def test_min_iteration_duration_paces_iterations(k6, horde, target):
    _, a, _, b = both(k6, horde, target, "-u", "1", "-d", "2s", "--min-iteration-duration", "500ms")
    assert 3 <= len(a) <= 5
    assert 3 <= len(b) <= 5


def test_rps_limits_requests(k6, horde, target):
    _, a, _, b = both(k6, horde, target, "-u", "4", "-d", "2s", "--rps", "5")
    # 5/s over 2 s, plus at most one request per VU that waited for the limiter when the duration ended
    assert 7 <= len(a) <= 15
    assert 7 <= len(b) <= 15
    assert all(r[1] == "/" for r in a + b)


@pytest.mark.parametrize("flag", ["--http-debug", "--http-debug=full"])
def test_http_debug_logs_the_request(k6, horde, target, flag):
    """Last before the script, a bare --http-debug takes no value (pflag's optional value)."""
    rk, _, rh, _ = both(k6, horde, target, "-i", "1", "--user-agent", "dbg/1", flag)
    for out in (rk.stderr + rk.stdout, rh.stderr + rh.stdout):
        assert "Request:" in out and "User-Agent: dbg/1" in out and "Response:" in out
        body_shown = "\nok" in out or "\\nok" in out  # k6's logfmt escapes the newlines
        assert body_shown == flag.endswith("full")


@pytest.mark.parametrize("throw", [True, False], ids=["w", "no-w"])
def test_throw_flag_is_w(k6, horde, target, throw):
    """A blocked first request throws with -w (the second is never sent), else the iteration goes on."""
    port = target.url.rsplit(":", 1)[1]
    k6_script = (
        "import http from 'k6/http';\nexport default function () { http.get(__ENV.BAD); http.get(__ENV.URL); }\n"
    )
    horde_script = (
        "from horde import http, env\n\n\nasync def default(data):\n"
        '    await http.get(env["BAD"])\n    await http.get(env["URL"])\n'
    )
    flags = ["-i", "1", "--block-hostnames", "blocked.test", "-e", f"BAD=http://blocked.test:{port}/"]
    _, a, _, b = both(
        k6, horde, target, *flags, *(["-w"] if throw else []), k6_script=k6_script, horde_script=horde_script
    )
    assert len(a) == len(b) == (0 if throw else 1)


@pytest.mark.parametrize(
    "args",
    [["--bogus"], ["--vus", "abc"], ["--iterations", "x"], []],
    ids=["unknown-flag", "bad-int", "bad-iterations", "no-script"],
)
def test_command_line_errors_exit_255_as_k6(k6_bin, args, tmp_path):
    import subprocess

    from hordecli import horde_script
    from k6cliharness import clean_env

    script = tmp_path / "s.py"
    script.write_text("async def default(data):\n    pass\n")
    k6_script = tmp_path / "s.js"
    k6_script.write_text("export default function () {}\n")
    tail_h = [str(script)] if args else []
    tail_k = [str(k6_script)] if args else []
    rk = subprocess.run([k6_bin, "run", *args, *tail_k], capture_output=True, text=True, env=clean_env(), timeout=60)
    rh = subprocess.run(
        [horde_script(), "run", *args, *tail_h], capture_output=True, text=True, env=clean_env(), timeout=60
    )
    assert rk.returncode == rh.returncode == 255
    assert len(rh.stderr.strip().splitlines()) == 1, rh.stderr
    assert "Traceback" not in rh.stderr


def test_missing_script_exits_255_as_k6(k6_bin, tmp_path):
    import subprocess

    from hordecli import horde_script
    from k6cliharness import clean_env

    rk = subprocess.run(
        [k6_bin, "run", "nope.js"], capture_output=True, text=True, env=clean_env(), timeout=60, cwd=tmp_path
    )
    rh = subprocess.run(
        [horde_script(), "run", "nope.py"], capture_output=True, text=True, env=clean_env(), timeout=60, cwd=tmp_path
    )
    assert rk.returncode == rh.returncode == 255
    assert "nope.py" in rh.stderr


def test_unknown_option_is_a_warning_naming_it(k6, horde):
    rk = k6("export const options = { vuz: 2, iterations: 1 };\nexport default function () {}\n", "-q")
    rh = horde('options = {"vuz": 2, "iterations": 1}\n\n\nasync def default(data):\n    pass\n', "-q")
    assert rk.returncode == rh.returncode == 0
    assert "vuz" in rk.stderr
    assert '"vuz"' in rh.stderr and 'did you mean "vus"' in rh.stderr


K6_BATCH = """
import http from 'k6/http';
export default function () {
  const reqs = [];
  for (let i = 0; i < 6; i++) reqs.push(['GET', __ENV.URL + '/slow' + i]);
  http.batch(reqs);
}
"""

HORDE_BATCH = """
from horde import http, env


async def default(data):
    await http.batch([("GET", env["URL"] + f"/slow{i}") for i in range(6)])
"""


@pytest.mark.parametrize(
    "flags,most", [(["--batch", "2"], 2), (["--batch-per-host", "3"], 3)], ids=["batch", "per-host"]
)
def test_batch_limits_parallel_requests(k6, horde, target, flags, most):
    rk = k6(K6_BATCH, "-q", "-i", "1", "-e", f"URL={target.url}", *flags)
    k6_most = target.max_in_flight
    target.clear()
    rh = horde(HORDE_BATCH, "-q", "-i", "1", "-e", f"URL={target.url}", *flags)
    assert rk.returncode == rh.returncode == 0, rh.stderr
    assert k6_most == target.max_in_flight == most


def test_local_ips_is_the_source_address(k6, horde, target):
    rk = k6(K6_GET, "-q", "-i", "2", "-e", f"URL={target.url}", "--local-ips", "127.0.0.2")
    k6_clients = list(target.clients)
    target.clear()
    rh = horde(HORDE_GET, "-q", "-i", "2", "-e", f"URL={target.url}", "--local-ips", "127.0.0.2")
    assert rk.returncode == rh.returncode == 0, rh.stderr
    assert k6_clients == target.clients == ["127.0.0.2"] * 2


def test_setup_timeout_from_k6_env_exits_100(k6, horde):
    k6_script = "import { sleep } from 'k6';\nexport function setup() { sleep(3); }\nexport default function () {}\n"
    horde_script = (
        "from horde import sleep\n\n\nasync def setup():\n    await sleep(3)\n\n\nasync def default(data):\n    pass\n"
    )
    env = {"K6_SETUP_TIMEOUT": "1s"}
    rk = k6(k6_script, "-q", "-i", "1", env=env)
    rh = horde(horde_script, "-q", "-i", "1", env=env)
    assert rk.returncode == rh.returncode == 100, rh.stderr


K6_CHECKS = """
import http from 'k6/http';
import { check } from 'k6';
export default function () {
  const r = http.get(__ENV.URL + '/');
  check(r, { 'no body': (r) => r.body === null || r.body === undefined, 'status 200': (r) => r.status === 200 });
}
"""

HORDE_CHECKS = """
from horde import check, env, http


async def default(data):
    r = await http.get(env["URL"] + "/")
    check(r, {"no body": lambda r: r.body is None, "status 200": lambda r: r.status == 200})
"""


def test_discard_response_bodies_and_summary_export_from_env(k6, horde, target, tmp_path):
    import json

    results = []
    for run, script in ((k6, K6_CHECKS), (horde, HORDE_CHECKS)):
        export = tmp_path / f"summary-{len(results)}.json"
        r = run(
            script,
            "-q",
            "-i",
            "3",
            "-e",
            f"URL={target.url}",
            "--discard-response-bodies",
            env={"K6_SUMMARY_EXPORT": str(export)},
        )
        assert r.returncode == 0, r.stderr
        results.append(json.loads(export.read_text()))
    k6_doc, horde_doc = results
    for doc in results:
        assert doc["metrics"]["checks"]["passes"] == 6 and doc["metrics"]["checks"]["fails"] == 0
        assert doc["metrics"]["http_reqs"]["count"] == 3 and doc["metrics"]["iterations"]["count"] == 3
    assert set(k6_doc) == set(horde_doc)
    assert {"http_reqs", "iterations", "checks", "http_req_duration"} <= set(horde_doc["metrics"]) & set(
        k6_doc["metrics"]
    )


def test_type_js_runs_the_script(k6, horde, target):
    _, a, _, b = both(k6, horde, target, "-i", "1", "-t", "js")
    assert len(a) == len(b) == 1


@pytest.mark.parametrize("env,code", [({}, 99), ({"K6_NO_THRESHOLDS": "true"}, 0)], ids=["thresholds", "no-thresholds"])
def test_k6_no_thresholds_env(k6, horde, env, code):
    k6_script = "export const options = { thresholds: { iterations: ['count>100'] } };\nexport default function () {}\n"
    horde_script = 'options = {"thresholds": {"iterations": ["count>100"]}}\n\n\nasync def default(data):\n    pass\n'
    rk = k6(k6_script, "-q", "-i", "1", env=env)
    rh = horde(horde_script, "-q", "-i", "1", env=env)
    assert rk.returncode == rh.returncode == code, rh.stderr


def test_rps_is_shared_by_workers(horde, target):
    """--rps limits the whole instance: two worker processes share the 5 requests per second."""
    r = horde(HORDE_GET, "-q", "--workers", "2", "-u", "4", "-d", "2s", "--rps", "5", "-e", f"URL={target.url}")
    assert r.returncode == 0, r.stderr
    assert 6 <= len(target.requests) <= 15


@pytest.mark.parametrize("reset,cookie", [("false", None), ("true", "seen=1")], ids=["reset", "no-reset"])
def test_k6_no_cookies_reset_env(k6, horde, target, reset, cookie):
    """The target sets a cookie: the second iteration sends it back only with noCookiesReset."""
    _, a, _, b = both(k6, horde, target, "-i", "2", env={"K6_NO_COOKIES_RESET": reset})
    assert [r[2].get("Cookie") for r in a] == [r[2].get("Cookie") for r in b] == [None, cookie]


@pytest.mark.parametrize("policy,sent", [("onlyIPv4", 1), ("onlyIPv6", 0)])
def test_dns_policy(k6, horde, target, policy, sent):
    """The target listens on 127.0.0.1 only: localhost reaches it through IPv4 alone (IPv6: none or ::1)."""
    port = target.url.rsplit(":", 1)[1]
    _, a, _, b = both(
        k6,
        horde,
        target,
        "-i",
        "1",
        "--dns",
        f"ttl=0,select=first,policy={policy}",
        env={"URL": f"http://localhost:{port}"},
    )
    assert len(a) == len(b) == sent
