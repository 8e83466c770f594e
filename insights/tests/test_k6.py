"""Real k6 v1.1.0 streaming into the service with ``k6 run --out cloud``."""

import json
import os
import signal
import subprocess
import time

SCRIPT = """
import http from 'k6/http';
import {{ check, group, sleep }} from 'k6';
export const options = {{ {options}, thresholds: {{ http_req_duration: ['p(95)<5000'] }} }};
export default function () {{
  group('<b>grp</b>', () => {{
    const r = http.get('{target}/healthz');
    check(r, {{ 'is 200 <img src=x>': (r) => r.status === 200 }});
  }});
  sleep({pause});
}}
"""


def k6(k6_bin, server, token, tmp_path, options, pause=0.0, **popen):
    script = tmp_path / "script.js"
    script.write_text(SCRIPT.format(options=options, target=server.url, pause=pause))
    env = {**os.environ, "K6_CLOUD_HOST": server.url, "K6_CLOUD_TOKEN": token, "K6_NO_USAGE_REPORT": "true"}
    cmd = [k6_bin, "run", "--no-color", "--out", "cloud", "--summary-export", str(tmp_path / "sum.json"), str(script)]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **popen)


def only_run(server, token):
    runs = server.get("/api/v1/runs", token)[1]["runs"]
    assert len(runs) == 1, runs
    return runs[0]["id"]


def test_k6_run_streams_and_finishes_with_its_request_count(k6_bin, server, tmp_path):
    tok = server.token()
    proc = k6(k6_bin, server, tok, tmp_path, "vus: 2, iterations: 30")
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, out
    rid = only_run(server, tok)
    assert f"{server.url}/runs/{rid}" in out  # k6 prints our web app URL (config.webAppURL)
    expected = json.loads((tmp_path / "sum.json").read_text())["metrics"]["http_reqs"]["count"]
    detail = server.run(tok, rid)
    run = detail["run"]
    assert (run["state"], run["label"], run["run_status"]) == ("finished", "Finished", 3)
    assert run["requests"] == expected == 30
    assert run["passed"] is True and run["name"] == "script.js" and run["vus"] == 2
    assert detail["thresholds"] == [{"metric": "http_req_duration", "threshold": "p(95)<5000", "ok": True}]
    assert detail["checks"][0]["check"] == "is 200 <img src=x>" and detail["checks"][0]["passes"] == 30


def test_k6_interrupted_with_sigint_is_finished_aborted_by_user(k6_bin, server, tmp_path):
    tok = server.token()
    proc = k6(k6_bin, server, tok, tmp_path, "vus: 1, duration: '60s'", pause=0.05)
    end = time.monotonic() + 60
    while time.monotonic() < end and not server.get("/api/v1/runs", tok)[1]["runs"]:
        time.sleep(0.2)  # until k6 created the run
    time.sleep(1.0)  # let it make some requests; k6 flushes them at stop
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 105, out
    run = server.run(tok, only_run(server, tok))["run"]
    assert (run["state"], run["label"], run["detail"], run["run_status"]) == (
        "finished",
        "Finished",
        "aborted by user",
        5,
    )
    assert run["requests"] > 0


def test_k6_with_a_wrong_token_is_refused_and_nothing_is_stored(k6_bin, server, tmp_path):
    tok = server.token()
    proc = k6(k6_bin, server, "hi_wrong", tmp_path, "vus: 1, iterations: 1")
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode != 0
    assert "invalid token" in out
    assert server.get("/api/v1/runs", tok)[1]["runs"] == []
