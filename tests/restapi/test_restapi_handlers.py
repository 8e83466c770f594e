"""k6's REST API semantics, request by request, against a surface with known state (no run, no sockets)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from apihelpers import FakeRun
from horde.restapi.client import metrics_yaml, status_yaml
from horde.restapi.handlers import handle


def call(cs: FakeRun, method: str, path: str, body: Any = b""):
    if not isinstance(body, bytes):
        body = json.dumps(body).encode()
    r = handle(cs, method, path, body)
    return r.status, r.content_type, (json.loads(r.body) if r.body.startswith((b"{", b"[")) else r.body)


def test_status_document_is_k6s():
    status, ctype, doc = call(FakeRun(), "GET", "/v1/status")
    assert (status, ctype) == (200, "application/json; charset=utf-8")
    assert doc == {
        "data": {
            "type": "status",
            "id": "default",
            "attributes": {
                "status": 4,
                "paused": True,
                "vus": 0,
                "vus-max": 2,
                "stopped": False,
                "running": False,
                "tainted": False,
            },
        }
    }
    assert list(doc["data"]["attributes"]) == ["status", "paused", "vus", "vus-max", "stopped", "running", "tainted"]


def test_patch_resumes_and_answers_the_new_status():
    cs = FakeRun()
    status, _, doc = call(
        cs, "PATCH", "/v1/status", {"data": {"attributes": {"paused": False}, "id": "default", "type": "status"}}
    )
    assert status == 200 and doc["data"]["attributes"]["paused"] is False and cs.paused is False


def test_patch_pause_errors_are_k6s():
    cs = FakeRun()
    status, ctype, doc = call(cs, "PATCH", "/v1/status", {"data": {"attributes": {"paused": True}}})
    assert (status, ctype) == (500, "application/json; charset=utf-8")
    assert doc == {"errors": [{"status": "500", "title": "Pause error", "detail": "execution is already paused"}]}


def test_patch_vus_without_an_externally_controlled_executor():
    status, _, doc = call(FakeRun(), "PATCH", "/v1/status", {"data": {"attributes": {"vus": 3, "vus-max": None}}})
    assert status == 500
    assert doc["errors"][0]["title"] == "Execution config error"
    assert (
        doc["errors"][0]["detail"]
        == "an externally-controlled executor needs to be configured for live configuration updates"
    )


def test_patch_stopped_wins_over_everything_else():
    cs = FakeRun()
    status, _, doc = call(
        cs, "PATCH", "/v1/status", {"data": {"attributes": {"stopped": True, "paused": True, "vus": 9}}}
    )
    assert status == 200 and cs.stopped == 1 and doc["data"]["attributes"]["stopped"] is True


def test_patch_with_k6_clients_whole_document_touches_only_what_is_set():
    cs = FakeRun()
    body = {
        "data": {
            "type": "status",
            "id": "default",
            "attributes": {
                "status": 0,
                "paused": False,
                "vus": None,
                "vus-max": None,
                "stopped": False,
                "running": False,
                "tainted": False,
            },
        }
    }
    status, _, _ = call(cs, "PATCH", "/v1/status", body)
    assert status == 200 and not cs.paused and not cs.stopped


@pytest.mark.parametrize(
    "body, detail",
    [
        (b"", "unexpected end of JSON input"),
        (b'{"data":{"attributes":{"paused":"x"}}}', "json: cannot unmarshal string into Go value of type null.Bool"),
        (b'{"data":{"attributes":{"vus":"1"}}}', "json: cannot unmarshal string into Go value of type null.Int"),
    ],
)
def test_patch_invalid_data(body, detail):
    status, _, doc = call(FakeRun(), "PATCH", "/v1/status", body)
    assert status == 400 and doc["errors"][0] == {"status": "400", "title": "Invalid data", "detail": detail}


def test_metrics_and_one_metric():
    cs = FakeRun()
    status, ctype, doc = call(cs, "GET", "/v1/metrics")
    assert (status, ctype) == (200, "text/plain; charset=utf-8")
    assert doc["data"][0] == {
        "type": "metrics",
        "id": "iterations",
        "attributes": {"type": "counter", "contains": "default", "tainted": None, "sample": {"count": 19, "rate": 4.5}},
    }
    assert handle(cs, "GET", "/v1/metrics").body.count(b'"count":19,') == 1  # Go's number, not 19.0
    status, _, doc = call(cs, "GET", "/v1/metrics/checks")
    assert status == 200 and doc["data"]["attributes"]["tainted"] is True
    status, _, doc = call(cs, "GET", "/v1/metrics/nope")
    assert status == 404
    assert doc == {"errors": [{"status": "404", "title": "Not Found", "detail": "No metric with that ID was found"}]}


def test_groups_with_checks_as_k6_shows_them():
    cs = FakeRun()
    cs.tree.group("::a::b")
    cs.tree.record_check("::a::b", "one is one", True)
    cs.tree.record_check("", "top", False)
    _, _, doc = call(cs, "GET", "/v1/groups")
    root, a, b = doc["data"]
    # ids and check ids from k6 v1.1.0 for the same script
    assert root["id"] == "d41d8cd98f00b204e9800998ecf8427e"
    assert root["attributes"] == {
        "path": "",
        "name": "",
        "checks": [{"id": "0384334781effa9218e13817f86f11a3", "path": "::top", "name": "top", "passes": 0, "fails": 1}],
    }
    assert root["relationships"] == {
        "groups": {"data": [{"type": "groups", "id": "bbf5ee9e65399b518cbae210b4c64962"}]},
        "parent": {"data": None},
    }
    assert a["attributes"] == {"path": "::a", "name": "a", "checks": None}
    assert b["id"] == "7dd4103b2f1a7305f971d430101027b7"
    assert b["attributes"]["checks"][0]["id"] == "6bbd3addf7a4b950a68ea42bd183d92b"
    assert b["relationships"]["parent"] == {"data": {"type": "groups", "id": a["id"]}}
    status, _, one = call(cs, "GET", f"/v1/groups/{a['id']}")
    assert status == 200 and one == {"data": a}
    status, _, err = call(cs, "GET", "/v1/groups/nope")
    assert status == 404 and err["errors"][0]["detail"] == "No group with that ID was found"


def test_setup_get_put_post():
    cs = FakeRun()
    assert call(cs, "GET", "/v1/setup") == (
        200,
        "application/json",
        {"data": {"type": "setupData", "id": "default", "attributes": {}}},
    )
    status, _, doc = call(cs, "PUT", "/v1/setup", b'{"x": [1,2]}')
    assert status == 200 and doc["data"]["attributes"] == {"data": {"x": [1, 2]}} and cs.data == {"x": [1, 2]}
    status, _, doc = call(cs, "PUT", "/v1/setup", b"garbage")
    assert status == 400 and doc["errors"][0]["title"] == "Error parsing request body"
    status, _, doc = call(cs, "PUT", "/v1/setup", b"")
    assert status == 200 and doc["data"]["attributes"] == {} and cs.data is None
    status, _, doc = call(cs, "POST", "/v1/setup")
    assert status == 200 and doc["data"]["attributes"] == {"data": {"a": 1}} and cs.setup_runs == 1
    cs.fail_setup = True
    status, _, doc = call(cs, "POST", "/v1/setup")
    assert status == 500 and doc["errors"][0] == {
        "status": "500",
        "title": "Error executing setup",
        "detail": "setup() failed: boom",
    }


def test_teardown_and_methods_and_unknown_paths():
    cs = FakeRun()
    assert handle(cs, "POST", "/v1/teardown").status == 200 and cs.teardown_runs == 1
    assert handle(cs, "POST", "/v1/teardown").body == b""
    for method, path in [
        ("GET", "/v1/teardown"),
        ("POST", "/v1/status"),
        ("DELETE", "/v1/setup"),
        ("POST", "/v1/metrics"),
        ("PUT", "/v1/groups"),
    ]:
        assert handle(cs, method, path).status == 405, (method, path)
    r = handle(cs, "GET", "/v2/nothing")
    assert (r.status, r.body) == (404, b"404 page not found\n")


def test_a_bug_in_the_surface_answers_500():
    cs = FakeRun()
    cs.metrics = lambda: 1 / 0  # type: ignore[method-assign]
    r = handle(cs, "GET", "/v1/metrics")
    assert r.status == 500 and b"ZeroDivisionError" in r.body


def test_status_yaml_as_k6_prints_it():
    # `k6 status` of k6 v1.1.0 for a running test with a failed threshold
    assert status_yaml(
        {"status": 7, "paused": False, "vus": 1, "vus-max": 1, "stopped": False, "running": True, "tainted": True}
    ) == ('status: 7\npaused: "false"\nvus: "1"\nvus-max: "1"\nstopped: false\nrunning: true\ntainted: true\n')


def test_stats_yaml_as_k6_prints_it():
    metrics = [
        {
            "name": "iteration_duration{scenario:default}",
            "type": "trend",
            "contains": "time",
            "tainted": False,
            "sample": {
                "p(95)": 201.1840087,
                "avg": 200.51738494736844,
                "max": 201.287425,
                "med": 200.463588,
                "min": 200.173977,
                "p(90)": 200.7347348,
            },
        },
        {
            "name": "iterations",
            "type": "counter",
            "contains": "default",
            "tainted": None,
            "sample": {"count": 19, "rate": 4.855691070717707},
        },
        {
            "name": "data_sent",
            "type": "counter",
            "contains": "data",
            "tainted": None,
            "sample": {"count": 0, "rate": 0},
        },
    ]
    # k6 v1.1.0's `k6 stats` text for the same metrics
    expected = """\
- name: iteration_duration{scenario:default}
  type:
    type: trend
    valid: true
  contains:
    type: time
    valid: true
  tainted: "false"
  sample:
    avg: 200.51738494736844
    max: 201.287425
    med: 200.463588
    min: 200.173977
    p(90): 200.7347348
    p(95): 201.1840087
- name: iterations
  type:
    type: counter
    valid: true
  contains:
    type: default
    valid: true
  tainted: ""
  sample:
    count: 19
    rate: 4.855691070717707
- name: data_sent
  type:
    type: counter
    valid: true
  contains:
    type: data
    valid: true
  tainted: ""
  sample:
    count: 0
    rate: 0
"""
    assert metrics_yaml(metrics) == expected
    assert metrics_yaml([]) == "[]\n"
