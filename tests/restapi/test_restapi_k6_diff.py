"""The REST API against real k6 v1.1.0: the same tiny test, paused, running and stopped, compared document by document.

Both runs get the same requests; the answers must have the same status
codes, content types, field names and JSON types, and the same values
wherever they are deterministic.
"""

from __future__ import annotations

import re
import signal
import subprocess
import time

import pytest
from apihelpers import HORDE, api
from horde.testing.ports import free_port

K6_SCRIPT = """
import { group, check, sleep } from 'k6';
export const options = { vus: 2, duration: '60s', thresholds: { iterations: ['count>1000000'], checks: ['rate>0.99'] } };
export function setup() { return { a: 1 }; }
export default function () {
  group('g1', function () { check(1, { 'one is one': (x) => x === 1 }); });
  check(1, { 'top': (x) => x === 2 });
  sleep(0.2);
}
export function teardown(data) {}
"""

HORDE_SCRIPT = """
from horde import check, group, sleep

options = {"vus": 2, "duration": "60s", "thresholds": {"iterations": ["count>1000000"], "checks": ["rate>0.99"]}}


async def setup():
    return {"a": 1}


async def default(data):
    with group("g1"):
        check(1, {"one is one": lambda x: x == 1})
    check(1, {"top": lambda x: x == 2})
    await sleep(0.2)


async def teardown(data):
    pass
"""


def shape(doc):
    """Field names and JSON types of ``doc`` (numbers are one type: Go writes 2 and 2.5 alike)."""
    if isinstance(doc, dict):
        return {k: shape(v) for k, v in doc.items()}
    if isinstance(doc, list):
        return [shape(v) for v in doc]
    if isinstance(doc, bool) or doc is None:
        return type(doc).__name__
    if isinstance(doc, (int, float)):
        return "number"
    return type(doc).__name__


def by_id(doc):
    return {d["id"]: d for d in doc["data"]}


def both(runs, method="GET", path="/v1/status", body=None):
    """The (status, content type, document) of the same call to k6 and to horde."""
    return [api(r.port, method, path, body) for r in runs]


def same(runs, method="GET", path="/v1/status", body=None):
    k6, horde = both(runs, method, path, body)
    assert horde == k6, f"{method} {path}"
    return k6


def wait_both(runs, pred, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        docs = [api(r.port)[2]["data"]["attributes"] for r in runs]
        if all(pred(d) for d in docs):
            return docs
        time.sleep(0.1)
    pytest.fail(f"not both there within {timeout}s: {docs}")


def wait_metrics(runs, names, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        docs = [by_id(api(r.port, path="/v1/metrics")[2]) for r in runs]
        if all(names <= set(d) for d in docs):
            return docs
        time.sleep(0.1)
    pytest.fail(f"metrics {names} not in both within {timeout}s: {[sorted(d) for d in docs]}")


def client(binary, *args):
    """(exit code, stdout) of ``k6 ARGS`` or ``horde ARGS`` with the address last (``-a`` for both)."""
    *command, address = args
    r = subprocess.run([binary, *command, "-a", address], capture_output=True, text=True, timeout=30)
    return r.returncode, r.stdout


def stat_blocks(text):
    """The metric blocks of a ``stats`` print, numbers masked (they move), in a set (k6 prints in map order)."""
    blocks = ("\n" + text).split("\n- ")[1:]
    return {re.sub(r"(?m)^(    [a-z()0-9]+: )[-0-9.e+]+$", r"\1N", b).strip() for b in blocks}


def strip_counts(doc):
    for d in doc["data"]:
        for c in d["attributes"]["checks"] or ():
            c["passes"] = c["fails"] = 0
    return doc


def test_rest_api_documents_match_k6(start, tmp_path, k6_bin):
    (tmp_path / "diff.js").write_text(K6_SCRIPT)
    (tmp_path / "diff.py").write_text(HORDE_SCRIPT)
    k6_port, horde_port = free_port(), free_port()
    common = ["--paused", "--linger", "-q"]
    k6 = start([k6_bin, "run", *common, "--address", f"127.0.0.1:{k6_port}", tmp_path / "diff.js"], k6_port)
    horde = start(
        [HORDE, "run", *common, "--workers", "1", "--address", f"127.0.0.1:{horde_port}", tmp_path / "diff.py"],
        horde_port,
    )
    runs = [k6, horde]
    for r in runs:
        r.wait_api()

    # -- paused -----------------------------------------------------------------
    wait_both(runs, lambda a: a["status"] == 4)
    code, ctype, doc = same(runs)
    assert (code, ctype) == (200, "application/json; charset=utf-8")
    assert doc["data"]["attributes"] == {
        "status": 4,
        "paused": True,
        "vus": 0,
        "vus-max": 2,
        "stopped": False,
        "running": False,
        "tainted": False,
    }
    k6_metrics, horde_metrics = wait_metrics(runs, {"vus", "vus_max"})
    assert horde_metrics == k6_metrics  # vus 0, vus_max 2, and the metrics with thresholds, empty
    for path in (
        "/v1/groups",
        "/v1/setup",
        "/v1/metrics/vus_max",
        "/v1/metrics/nope",
        "/v1/groups/nope",
        "/v1/nowhere",
    ):
        same(runs, path=path)
    same(runs, path=f"/v1/groups/{api(k6.port, path='/v1/groups')[2]['data'][0]['id']}")
    for method, path in [
        ("POST", "/v1/status"),
        ("GET", "/v1/teardown"),
        ("DELETE", "/v1/setup"),
        ("POST", "/v1/metrics"),
    ]:
        assert [c for c, _, _ in both(runs, method, path)] == [405, 405], (method, path)
    pause = {"data": {"attributes": {"paused": True}, "id": "default", "type": "status"}}
    scale = {"data": {"attributes": {"vus": 3}, "id": "default", "type": "status"}}
    for body in (pause, scale, b"", b'{"data":{"attributes":{"paused":"no"}}}'):
        same(runs, "PATCH", "/v1/status", body)

    # -- running ----------------------------------------------------------------
    resume = {"data": {"attributes": {"paused": False}, "id": "default", "type": "status"}}
    (k6_code, _, k6_doc), (horde_code, _, horde_doc) = both(runs, "PATCH", "/v1/status", resume)
    assert k6_code == horde_code == 200 and shape(horde_doc) == shape(k6_doc)
    assert k6_doc["data"]["attributes"]["paused"] is horde_doc["data"]["attributes"]["paused"] is False
    wait_both(runs, lambda a: a["status"] == 7 and a["vus"] == 2 and a["tainted"])
    code, _, doc = same(runs)
    assert doc["data"]["attributes"] == {
        "status": 7,
        "paused": False,
        "vus": 2,
        "vus-max": 2,
        "stopped": False,
        "running": True,
        "tainted": True,
    }
    names = {
        "vus",
        "vus_max",
        "iterations",
        "iteration_duration",
        "checks",
        "group_duration",
        "data_sent",
        "data_received",
    }
    k6_metrics, horde_metrics = wait_metrics(runs, names)
    assert set(horde_metrics) == set(k6_metrics) == names
    for name in names:
        k, h = k6_metrics[name], horde_metrics[name]
        assert shape(h) == shape(k), name
        assert {f: h["attributes"][f] for f in ("type", "contains", "tainted")} == {
            f: k["attributes"][f] for f in ("type", "contains", "tainted")
        }, name
    (_, _, k6_groups), (_, _, horde_groups) = both(runs, path="/v1/groups")
    assert strip_counts(horde_groups) == strip_counts(k6_groups)
    same(runs, path="/v1/setup")
    for body in (pause, resume, scale):
        same(runs, "PATCH", "/v1/status", body)
    for r in runs:  # horde's client commands print what k6's print, against either server
        address = f"127.0.0.1:{r.port}"
        k6_out, horde_out = client(k6_bin, "status", address), client(HORDE, "status", address)
        assert horde_out == k6_out and k6_out[0] == 0 and "status: 7\n" in k6_out[1]
        k6_out, horde_out = client(k6_bin, "stats", address), client(HORDE, "stats", address)
        assert k6_out[0] == horde_out[0] == 0 and stat_blocks(horde_out[1]) == stat_blocks(k6_out[1])
        for command in (["pause"], ["scale", "-u", "3"]):
            assert client(k6_bin, *command, address)[0] == client(HORDE, *command, address)[0] == 255

    # -- stopped ----------------------------------------------------------------
    stop = {"data": {"attributes": {"stopped": True}, "id": "default", "type": "status"}}
    (k6_code, _, k6_doc), (horde_code, _, horde_doc) = both(runs, "PATCH", "/v1/status", stop)
    assert k6_code == horde_code == 200 and shape(horde_doc) == shape(k6_doc)
    assert k6_doc["data"]["attributes"]["stopped"] is horde_doc["data"]["attributes"]["stopped"] is True
    wait_both(runs, lambda a: a["status"] == 10)
    code, _, doc = same(runs)
    assert doc["data"]["attributes"] == {
        "status": 10,
        "paused": False,
        "vus": 0,
        "vus-max": 2,
        "stopped": True,
        "running": True,
        "tainted": True,
    }
    for r in runs:
        r.signal(signal.SIGINT)
    assert [r.wait(30) for r in runs] == [103, 103]


SEGMENT_JS = """
import { sleep } from 'k6';
export const options = { vus: 7, duration: '30s' };
export default function () { sleep(0.1); }
"""

SEGMENT_PY = """
from horde import sleep

options = {"vus": 7, "duration": "30s"}


async def default(data):
    await sleep(0.1)
"""


@pytest.mark.parametrize("segment", ["0:1/3", "1/3:2/3", "2/3:1"])
def test_paused_status_of_a_segment_matches_k6(start, tmp_path, k6_bin, segment):
    """What k6-operator's runners start with: --execution-segment ... --paused; each shows its own VUs."""
    (tmp_path / "seg.js").write_text(SEGMENT_JS)
    (tmp_path / "seg.py").write_text(SEGMENT_PY)
    flags = ["--execution-segment", segment, "--execution-segment-sequence", "0,1/3,2/3,1", "--paused", "-q"]
    k6_port, horde_port = free_port(), free_port()
    k6 = start([k6_bin, "run", *flags, "--address", f"127.0.0.1:{k6_port}", tmp_path / "seg.js"], k6_port)
    horde = start([HORDE, "run", *flags, "--address", f"127.0.0.1:{horde_port}", tmp_path / "seg.py"], horde_port)
    runs = [k6, horde]
    for r in runs:
        r.wait_api()
    wait_both(runs, lambda a: a["status"] == 4)
    same(runs)
    for r in runs:
        r.signal(signal.SIGINT)
    assert [r.wait(30) for r in runs] == [105, 105]
