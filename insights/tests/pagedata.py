"""Runs with known HTTP endpoints, errors and instances, for the page API and browser tests."""

from __future__ import annotations

import time

import wirebuild
from helpers import create_run, push

HTML_NAME = "<img src=x onerror=alert(1)>/api"
"""An endpoint name with markup in it: must show as text everywhere."""


def endpoints(scale: int = 1) -> list[dict]:
    """Three endpoints of two instances: a fast one, a slow one that fails, a network error (status 0)."""
    fast = {"name": "http://t/fast", "url": "http://t/fast", "method": "GET", "status": "200"}
    slow = {"name": HTML_NAME, "url": "http://t/slow?id=1", "method": "POST", "status": "500"}
    down = {"name": "http://t/down", "url": "http://t/down", "method": "GET", "status": "0", "error_code": "1211"}
    return [
        {"tags": {**fast, "instance_id": "1"}, "durations": [10.0 + i for i in range(20 * scale)]},
        {"tags": {**fast, "instance_id": "2"}, "durations": [50.0 + i for i in range(10 * scale)]},
        {"tags": {**slow, "instance_id": "1"}, "durations": [900.0, 1200.0, 1500.0] * scale, "failed": 3 * scale},
        {"tags": {**down, "instance_id": "2", "error": "dial: i/o timeout"}, "durations": [5000.0], "failed": 1},
    ]


def endpoint_run(srv, token, name: str = "endpoints", scale: int = 1, when: int | None = None) -> str:
    """A run holding :func:`endpoints` (scaled) in one time bucket; its reference id."""
    rid = create_run(srv, token, name=name)[1]["reference_id"]
    t = int(time.time()) if when is None else when
    status, body = push(srv, token, rid, body=wirebuild.http_push(t, endpoints(scale)))
    assert status == 200, body
    return rid
