from __future__ import annotations

import json
import secrets
from pathlib import Path

from horde_insights.testing import api

K6_PUSH = (Path(__file__).parent / "fixtures" / "k6-v1.1.0-push.snappy").read_bytes()
"""A real push of k6 v1.1.0 (20 requests, group and check names with HTML in them)."""

PUSH_HEADERS = {
    "Content-Type": "application/x-protobuf",
    "Content-Encoding": "snappy",
    "K6-Metrics-Protocol-Version": "2.0",
}


def create_run(srv, token, **fields) -> tuple[int, dict]:
    body = {"name": "t.js", "vus": 2, "duration": 10, "thresholds": {"http_req_duration": ["p(95)<500"]}, **fields}
    return api(
        srv.url + "/v1/tests",
        token,
        "POST",
        json.dumps(body).encode(),
        {"Content-Type": "application/json", "K6-Idempotency-Key": secrets.token_hex(8)},
    )


def push(srv, token, run_id, body=K6_PUSH, key=None, headers=None) -> tuple[int, dict]:
    h = {**PUSH_HEADERS, "K6-Idempotency-Key": key or secrets.token_hex(8), **(headers or {})}
    return api(f"{srv.url}/v2/metrics/{run_id}", token, "POST", body, h)


def finish(srv, token, run_id, run_status=3, result_status=0, thresholds=None) -> tuple[int, dict]:
    body = {
        "run_status": run_status,
        "result_status": result_status,
        "thresholds": thresholds if thresholds is not None else {"http_req_duration": {"p(95)<500": False}},
    }
    return api(
        f"{srv.url}/v1/tests/{run_id}", token, "POST", json.dumps(body).encode(), {"Content-Type": "application/json"}
    )
