"""The samples one request emits: k6's 9 metrics, their order, values and tags."""

import json
from pathlib import Path

import pytest
from horde import http
from horde.metrics import parse_system_tags
from httpvu import VU

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "k6" / "sample.json"  # a copy of shared/fixtures/k6
K6_ORDER = [
    "http_reqs",
    "http_req_duration",
    "http_req_blocked",
    "http_req_connecting",
    "http_req_tls_handshaking",
    "http_req_sending",
    "http_req_waiting",
    "http_req_receiving",
    "http_req_failed",
]


def k6_duration_points():
    out = []
    for line in FIXTURE.read_text().splitlines():
        rec = json.loads(line)
        if rec["type"] == "Point" and rec["metric"] == "http_req_duration":
            out.append(rec["data"])
    return out


def test_nine_samples_in_k6_order(run, vu, target):
    res = run(vu, lambda: http.get(target.url + "/"))
    (c,) = vu.samples
    assert [m.name for m in c.metrics] == K6_ORDER
    assert len(c.values) == 9
    t = res.timings
    assert c.values[0] == 1.0
    assert c.values[1] == pytest.approx(t["sending"] + t["waiting"] + t["receiving"])
    assert c.values[1] == pytest.approx(t["duration"])
    assert list(c.values[2:8]) == [
        t["blocked"],
        t["connecting"],
        t["tls_handshaking"],
        t["sending"],
        t["waiting"],
        t["receiving"],
    ]
    assert c.values[8] == 0.0
    assert isinstance(c.time, int) and c.time > 1_600_000_000 * 10**9
    assert all(v >= 0 for v in c.values)


def test_tag_keys_match_k6(run, target):
    """Same scenario as k6's sample.js: a test-wide tag, a group with a user tag, a 404."""
    k6_ok, k6_404 = k6_duration_points()[:2]
    v = VU(tags={"testid": "sample-run"})
    v.state.group_path = "::front"
    v.state.retag()

    async def go():
        await http.get(target.url + "/", tags={"page": "home"})
        v.state.group_path = ""
        v.state.retag()
        await http.get(target.url + "/status/404")

    run(v, go)
    ok, notfound = v.samples
    assert set(ok.tags) == set(k6_ok["tags"])
    assert set(notfound.tags) == set(k6_404["tags"])
    for c, k in ((ok, k6_ok), (notfound, k6_404)):
        for key in ("expected_response", "group", "method", "proto", "scenario", "status", "testid"):
            assert c.tags[key] == k["tags"][key], key
    assert ok.tags["page"] == "home"
    assert notfound.tags["error_code"] == "1404"
    assert ok.tags["url"] == ok.tags["name"] == target.url + "/"


def test_metadata_is_the_vus(run, target):
    v = VU(system_tags=parse_system_tags("method,status,vu,iter"))
    v.state.custom_metadata["trace_id"] = "abc"
    v.state.retag()
    run(v, lambda: http.get(target.url + "/"))
    (c,) = v.samples
    assert c.metadata == {"vu": "1", "iter": "0", "trace_id": "abc"}
    assert dict(c.tags) == {"method": "GET", "status": "200"}


def test_only_enabled_system_tags(run, target):
    v = VU(system_tags=parse_system_tags("status,url"))
    run(v, lambda: http.get(target.url + "/status/404", tags={"mine": "1"}))
    (c,) = v.samples
    assert dict(c.tags) == {"status": "404", "url": target.url + "/status/404", "mine": "1"}


def test_name_sets_url_and_name(run, vu, target):
    async def go():
        await http.get(target.url + "/bytes/1", name="bytes")
        await http.get(target.url + "/bytes/2", tags={"name": "bytes"})

    run(vu, go)
    for c in vu.samples:
        assert c.tags["name"] == c.tags["url"] == "bytes"
    assert vu.samples[0].tags is vu.samples[1].tags  # interned and cached


def test_url_credentials_are_masked(run, vu, target):
    res = run(vu, lambda: http.get(target.url.replace("http://", "http://user:pw@") + "/json"))
    assert res.status == 200
    assert vu.samples[0].tags["url"] == target.url.replace("http://", "http://****:****@") + "/json"


def test_expected_statuses(run, vu, target):
    async def go():
        await http.get(target.url + "/status/404", expected_statuses=[404, range(200, 300)])
        await http.get(target.url + "/status/200", expected_statuses=http.expected_statuses({"min": 400, "max": 499}))
        await http.get(target.url + "/status/500", expected_statuses=lambda s: s == 500)

    run(vu, go)
    assert [c.tags["expected_response"] for c in vu.samples] == ["true", "false", "true"]
    assert [c.values[-1] for c in vu.samples] == [0.0, 1.0, 0.0]


def test_response_callback_none_drops_failed(run, vu, target):
    run(vu, lambda: http.get(target.url + "/", response_callback=None))
    (c,) = vu.samples
    assert [m.name for m in c.metrics] == K6_ORDER[:8]
    assert "expected_response" not in c.tags


def test_set_response_callback_is_process_wide(run, vu, target):
    previous = http.set_response_callback(http.expected_statuses(418))
    try:
        run(vu, lambda: http.get(target.url + "/status/418"))
    finally:
        http.set_response_callback(previous)
    assert vu.samples[0].tags["expected_response"] == "true"
    with pytest.raises(TypeError):
        http.set_response_callback("nope")


def test_tls_tags(run, tls_target):
    v = VU(options={"tls_ca_file": tls_target.cert_file})
    run(v, lambda: http.get(tls_target.url + "/"))
    (c,) = v.samples
    assert c.tags["tls_version"] in ("tls1.2", "tls1.3")
    assert c.tags["proto"] == "HTTP/1.1"
    assert c.values[4] > 0  # tls_handshaking


def test_group_change_retags(run, vu, target):
    async def go():
        await http.get(target.url + "/")
        vu.state.group_path = "::g"
        vu.state.retag()
        await http.get(target.url + "/")

    run(vu, go)
    assert [c.tags["group"] for c in vu.samples] == ["", "::g"]
