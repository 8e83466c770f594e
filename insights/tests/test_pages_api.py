"""The page APIs against a real service on SQLite and PostgreSQL: per-endpoint and errors tables,
runs list search/filter/pagination, delete, compare, export JSON and CSV."""

from __future__ import annotations

import csv
import io
import json
import urllib.error
import urllib.request

import pytest
from helpers import create_run, finish, push
from horde_insights.histogram import bucket_bounds
from horde_insights.testing import api
from pagedata import HTML_NAME, endpoint_run, endpoints

# -- per-endpoint and errors tables ---------------------------------------------------------------


def _neighbours(values: list[float], q: float) -> tuple[float, float]:
    """The two raw values around k6's rank p*(n-1): the exact percentile lies between them."""
    s = sorted(values)
    lo = int(q * (len(s) - 1))
    return s[lo], s[min(lo + 1, len(s) - 1)]


def _bucket_error(v: float) -> float:
    """The width of the histogram bucket holding ``v`` ms (the documented error of a merged percentile)."""
    from horde_insights.histogram import bucket_index

    a, b = bucket_bounds(bucket_index(int(-(-v // 0.001))))
    return (b - a) * 0.001 + 1e-9


def test_run_detail_has_per_endpoint_and_error_tables_merged_over_instances(server):
    tok = server.token()
    rid = endpoint_run(server, tok)
    detail = server.run(tok, rid)
    rows = {(e["name"], e["method"], e["status"]): e for e in detail["endpoints"]}
    assert set(rows) == {("http://t/fast", "GET", "200"), (HTML_NAME, "POST", "500"), ("http://t/down", "GET", "0")}
    assert [e["name"] for e in detail["endpoints"]][0] == "http://t/fast"  # most requests first

    fast = rows[("http://t/fast", "GET", "200")]
    assert (fast["requests"], fast["failures"], fast["failure_rate"]) == (30, 0, 0)
    union = [v for e in endpoints() if e["tags"]["status"] == "200" for v in e["durations"]]
    for key, q in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99)):
        below, above = _neighbours(union, q)
        assert below - _bucket_error(below) <= fast[key] <= above + _bucket_error(above), (key, fast[key], below, above)
    slow = rows[(HTML_NAME, "POST", "500")]
    assert (slow["requests"], slow["failures"], slow["failure_rate"], slow["url"]) == (3, 3, 1, "http://t/slow?id=1")
    assert slow["p99"] <= 1500 and slow["p50"] == pytest.approx(1200, abs=_bucket_error(1200))

    errors = {(e["name"], e["status"]): e for e in detail["errors"]}
    assert set(errors) == {(HTML_NAME, "500"), ("http://t/down", "0")}
    assert errors[(HTML_NAME, "500")]["count"] == 3 and errors[(HTML_NAME, "500")]["error_code"] == ""
    down = errors[("http://t/down", "0")]
    assert (down["count"], down["error"], down["error_code"], down["method"]) == (1, "dial: i/o timeout", "1211", "GET")
    assert detail["project"]["name"].startswith("p-")


def test_a_real_k6_push_gives_one_endpoint_and_no_errors(server):
    tok = server.token()
    rid = create_run(server, tok)[1]["reference_id"]
    push(server, tok, rid)
    detail = server.run(tok, rid)
    (only,) = detail["endpoints"]
    assert only["method"] == "GET" and only["status"] == "200" and only["requests"] == 20
    assert only["p95"] == next(m["p95"] for m in detail["metrics"] if m["metric"] == "http_req_duration")
    assert detail["errors"] == []


# -- runs list --------------------------------------------------------------------------------------


def _runs(srv, tok, query: str = "") -> dict:
    status, body = srv.get("/api/v1/runs" + query, tok)
    assert status == 200, body
    return body


def test_runs_list_search_state_filter_pagination_and_project(server):
    tok = server.token("team <b>alpha</b>")
    ids = {}
    for name in ("checkout smoke", "Checkout SOAK", "login 100%_load", "login_x", "other"):
        ids[name] = create_run(server, tok, name=name)[1]["reference_id"]
    push(server, tok, ids["checkout smoke"])
    finish(server, tok, ids["checkout smoke"])
    push(server, tok, ids["other"])  # running
    finish(server, tok, ids["login_x"], run_status=7, result_status=1)  # aborted by script error

    body = _runs(server, tok)
    assert body["total"] == 5 and body["offset"] == 0 and body["limit"] == 50
    assert body["project"]["name"] == "team <b>alpha</b>"
    assert [r["name"] for r in body["runs"]] == list(reversed(list(ids)))  # newest first

    assert {r["name"] for r in _runs(server, tok, "?q=checkout")["runs"]} == {"checkout smoke", "Checkout SOAK"}
    # % and _ are literal characters, not LIKE wildcards
    assert [r["name"] for r in _runs(server, tok, "?q=100%25_")["runs"]] == ["login 100%_load"]
    assert _runs(server, tok, "?q=login_")["total"] == 1
    assert _runs(server, tok, "?q=nothing-like-it")["total"] == 0

    assert [r["name"] for r in _runs(server, tok, "?state=finished")["runs"]] == ["checkout smoke"]
    assert [r["name"] for r in _runs(server, tok, "?state=running")["runs"]] == ["other"]
    assert [r["name"] for r in _runs(server, tok, "?state=aborted")["runs"]] == ["login_x"]
    assert _runs(server, tok, "?state=created")["total"] == 2
    assert _runs(server, tok, "?state=created&q=soak")["total"] == 1

    page1 = _runs(server, tok, "?limit=2")
    page2 = _runs(server, tok, "?limit=2&offset=2")
    page3 = _runs(server, tok, "?limit=2&offset=4")
    assert [len(p["runs"]) for p in (page1, page2, page3)] == [2, 2, 1]
    assert all(p["total"] == 5 for p in (page1, page2, page3))
    seen = [r["id"] for p in (page1, page2, page3) for r in p["runs"]]
    assert sorted(seen) == sorted(ids.values()) and len(set(seen)) == 5
    assert _runs(server, tok, "?offset=10")["runs"] == []

    for bad, word in (
        ("?limit=0", "limit"),
        ("?limit=abc", "limit"),
        ("?offset=-1", "offset"),
        ("?state=bogus", "state"),
    ):
        status, err = server.get("/api/v1/runs" + bad, tok)
        assert status == 400 and word in err["error"]["message"], (bad, err)
    # another project's token sees none of them, and its own project's name
    other = server.token()
    assert _runs(server, other, "?q=checkout")["total"] == 0


# -- delete -----------------------------------------------------------------------------------------


def _call(srv, path, tok, method="GET"):
    return api(srv.url + path, tok, method)


def test_delete_removes_the_run_its_series_and_points_only(server):
    tok = server.token()
    keep = endpoint_run(server, tok, name="keep")
    gone = endpoint_run(server, tok, name="gone")
    push(server, tok, gone)
    before = server.run(tok, keep)

    assert _call(server, f"/api/v1/runs/{gone}", None, "DELETE")[0] == 401
    assert _call(server, f"/api/v1/runs/{gone}", server.token(), "DELETE")[0] == 404  # another project's token
    status, body = _call(server, f"/api/v1/runs/{gone}", tok, "DELETE")
    assert status == 200 and body["deleted"] == gone and body["points"] > 0
    assert server.get(f"/api/v1/runs/{gone}", tok)[0] == 404
    assert _call(server, f"/api/v1/runs/{gone}", tok, "DELETE")[0] == 404
    assert push(server, tok, gone)[0] == 404
    assert [r["id"] for r in _runs(server, tok)["runs"]] == [keep]
    after = server.run(tok, keep)
    assert after["endpoints"] == before["endpoints"] and after["metrics"] == before["metrics"]

    from horde_insights.store import open_store

    store = open_store(server.db)
    try:
        assert store.points(int(gone)) == [] and len(store.points(int(keep))) > 0
    finally:
        store.close()


# -- compare ----------------------------------------------------------------------------------------


def test_compare_two_runs_with_deltas(server):
    tok = server.token()
    a = endpoint_run(server, tok, name="baseline", scale=1)
    b = endpoint_run(server, tok, name="candidate", scale=2)
    finish(server, tok, a)
    finish(server, tok, b, result_status=1, thresholds={"http_req_duration": {"p(95)<500": True}})
    status, cmp = server.get(f"/api/v1/compare?a={a}&b={b}", tok)
    assert status == 200, cmp
    assert (cmp["a"]["id"], cmp["b"]["id"], cmp["a"]["name"], cmp["b"]["name"]) == (a, b, "baseline", "candidate")
    da, db = server.run(tok, a), server.run(tok, b)
    m = {row["key"]: row for row in cmp["metrics"]}
    assert (m["requests"]["a"], m["requests"]["b"], m["requests"]["delta"]) == (34, 67, 33)
    assert m["requests"]["relative"] == pytest.approx(33 / 34)
    dur = {d["run"]["id"]: next(x for x in d["metrics"] if x["metric"] == "http_req_duration") for d in (da, db)}
    for key, field in (("p50", "med"), ("p95", "p95"), ("p99", "p99")):
        assert m[key]["a"] == dur[a][field] and m[key]["b"] == dur[b][field]
        assert m[key]["delta"] == pytest.approx(dur[b][field] - dur[a][field])
    assert m["failure_rate"]["a"] == da["run"]["failure_rate"] and m["failure_rate"]["b"] == db["run"]["failure_rate"]
    assert m["rps"]["a"] == pytest.approx(34 / 3) and m["rps"]["b"] == pytest.approx(67 / 3)  # one 3 s bucket
    assert m["checks_passed"]["a"] is None  # no checks in either run
    assert (m["p95"]["better"], m["checks_rate"]["better"], m["requests"]["better"]) == ("lower", "higher", None)
    assert (m["thresholds_failed"]["a"], m["thresholds_failed"]["b"]) == (0, 1)
    (th,) = cmp["thresholds"]
    assert (th["metric"], th["threshold"], th["a"], th["b"]) == ("http_req_duration", "p(95)<500", True, False)

    eps = {(e["name"], e["status"]): e for e in cmp["endpoints"]}
    fast = eps[("http://t/fast", "200")]
    assert (fast["a"]["requests"], fast["b"]["requests"], fast["deltas"]["requests"]["delta"]) == (30, 60, 30)
    assert eps[(HTML_NAME, "500")]["deltas"]["failure_rate"]["delta"] == 0

    assert server.get(f"/api/v1/compare?a={a}", tok)[0] == 400
    assert server.get(f"/api/v1/compare?a={a}&b=x1", tok)[0] == 400
    assert server.get(f"/api/v1/compare?a={a}&b={b}", server.token())[0] == 404
    assert server.get(f"/api/v1/compare?a={a}&b={b}", None)[0] == 401


# -- export -----------------------------------------------------------------------------------------


def _raw(srv, path, tok) -> tuple[int, dict, bytes]:
    """(status, headers, body); the headers as http.client gives them: names case-insensitive (RFC 9110)."""
    req = urllib.request.Request(srv.url + path, headers={"Authorization": f"Token {tok}"} if tok else {})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers, err.read()


def test_export_json_and_csv_hold_the_run_and_every_series_bucket(server):
    tok = server.token()
    rid = endpoint_run(server, tok, name="export <me>")
    push(server, tok, rid)  # a real k6 push too: gauges, rates, trends, checks
    finish(server, tok, rid)
    detail = server.run(tok, rid)

    status, headers, data = _raw(server, f"/api/v1/runs/{rid}/export.json", tok)
    assert status == 200 and headers["Content-Type"].startswith("application/json")
    assert headers["Content-Disposition"] == f'attachment; filename="horde-run-{rid}.json"'
    doc = json.loads(data)
    assert doc["run"]["id"] == rid and doc["run"]["name"] == "export <me>"
    assert doc["thresholds"] == detail["thresholds"] and doc["metrics"] == detail["metrics"]
    reqs = sum(p["value"] for s in doc["series"] if s["metric"] == "http_reqs" for p in s["points"])
    assert reqs == detail["run"]["requests"] == 54
    trend = next(s for s in doc["series"] if s["metric"] == "http_req_duration" and s["tags"].get("status") == "0")
    (p,) = trend["points"]
    assert (p["count"], p["min"], p["max"], p["p95"]) == (1, 5000.0, 5000.0, 5000.0)
    assert trend["tags"]["error"] == "dial: i/o timeout"

    status, headers, data = _raw(server, f"/api/v1/runs/{rid}/export.csv", tok)
    assert status == 200 and headers["Content-Type"].startswith("text/csv")
    assert headers["Content-Disposition"] == f'attachment; filename="horde-run-{rid}.csv"'
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8"))))
    assert list(rows[0]) == ["time", "timestamp", "metric", "type", "tags", "value", "count", "sum", "min", "max",
                             "avg", "p50", "p95", "p99"]  # fmt: skip
    assert len(rows) == sum(len(s["points"]) for s in doc["series"])
    assert sum(float(r["value"]) for r in rows if r["metric"] == "http_reqs") == 54
    html = [r for r in rows if r["metric"] == "http_reqs" and json.loads(r["tags"]).get("name") == HTML_NAME]
    assert len(html) == 1 and float(html[0]["value"]) == 3 and html[0]["time"].endswith("Z")

    assert _raw(server, f"/api/v1/runs/{rid}/export.csv", None)[0] == 401
    assert _raw(server, f"/api/v1/runs/{rid}/export.json", server.token())[0] == 404
    assert _raw(server, f"/api/v1/runs/{rid}/export.xml", tok)[0] == 404


def test_export_csv_defuses_spreadsheet_formulas():
    from horde_insights.export import _cell

    assert _cell("=HYPERLINK(1)") == "'=HYPERLINK(1)" and _cell("@x") == "'@x" and _cell("-1") == "'-1"
    assert _cell("http_reqs") == "http_reqs" and _cell(-1.5) == -1.5 and _cell(None) == ""
