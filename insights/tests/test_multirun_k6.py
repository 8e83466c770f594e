"""Real k6 v1.1.0 instances pushing into one run created as k6-operator creates it: k6 honours
K6_CLOUD_PUSH_REF_ID (no create call of its own, no finish call), and stops sending on k6 cloud's
stopped-run error."""

from __future__ import annotations

import json
import os
import subprocess
import time

from test_multirun import operator_create, operator_finish

SCRIPT = """
import http from 'k6/http';
import {{ sleep }} from 'k6';
export const options = {{ {options} }};
export default function () {{ http.get('{target}/healthz'); sleep({pause}); }}
"""


def k6_instance(k6_bin, server, token, tmp_path, ref, instance, options, extra_env=None, pause=0.0):
    script = tmp_path / f"instance{instance}.js"
    script.write_text(SCRIPT.format(options=options, target=server.url, pause=pause))
    summary = tmp_path / f"sum{instance}.json"
    env = {
        **os.environ,
        "K6_CLOUD_HOST": server.url,
        "K6_CLOUD_TOKEN": token,
        "K6_CLOUD_PUSH_REF_ID": ref,
        "K6_NO_USAGE_REPORT": "true",
        **(extra_env or {}),
    }
    cmd = [
        k6_bin,
        "run",
        "--no-color",
        "--out",
        "cloud",
        "--tag",
        f"instance_id={instance}",
        "--summary-export",
        str(summary),
        str(script),
    ]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    return out, (json.loads(summary.read_text()) if summary.exists() else None)


def test_real_k6_instances_with_push_ref_id_land_in_the_operators_run(k6_bin, server, tmp_path):
    tok = server.token()
    ref = operator_create(server, tok, {"http_reqs": ["count>=25"]}, instances=2)
    counts = []
    for instance, iterations in (("1", 12), ("2", 17)):
        out, summary = k6_instance(k6_bin, server, tok, tmp_path, ref, instance, f"vus: 1, iterations: {iterations}")
        assert out.returncode == 0, out.stdout + out.stderr
        counts.append(summary["metrics"]["http_reqs"]["count"])
    runs = server.get("/api/v1/runs", tok)[1]["runs"]
    assert [r["id"] for r in runs] == [ref]  # k6 created no run of its own
    detail = server.run(tok, ref)
    assert detail["run"]["state"] == "running"  # k6 sends no finish with a push reference id
    assert detail["run"]["requests"] == sum(counts) == 29
    assert [
        (i["instance_id"], next(m["count"] for m in i["metrics"] if m["metric"] == "http_reqs"))
        for i in detail["instances"]
    ] == [("1", 12), ("2", 17)]
    assert operator_finish(server, tok, ref)[0] == 200
    detail = server.run(tok, ref)
    assert (detail["run"]["state"], detail["run"]["passed"]) == ("finished", True)


def test_real_k6_stops_pushing_into_a_stopped_run(k6_bin, server, tmp_path):
    tok = server.token()
    ref = operator_create(server, tok, {}, instances=2)
    assert server.get(f"/api/v1/runs/{ref}", tok)[0] == 200
    from horde_insights.testing import api

    assert api(f"{server.url}/api/v1/runs/{ref}/stop", tok, "POST", b"{}")[0] == 200
    env = {
        "K6_CLOUD_STOP_ON_ERROR": "true",
        "K6_CLOUD_AGGREGATION_PERIOD": "1s",
        "K6_CLOUD_AGGREGATION_WAIT_PERIOD": "1s",
    }
    began = time.monotonic()
    out, _ = k6_instance(k6_bin, server, tok, tmp_path, ref, "1", "vus: 1, duration: '30s'", env, pause=0.05)
    text = out.stdout + out.stderr
    assert "(403/E4) test run" in text and "Interrupt sending metrics to cloud" in text, text
    assert out.returncode == 105, text  # with K6_CLOUD_STOP_ON_ERROR k6 aborts the test
    assert time.monotonic() - began < 25, text
    assert server.run(tok, ref)["run"]["requests"] == 0
